"""Stands in for `modebench run` and `list` in ci/tests: Google Benchmark JSON for four cpu series
(linear/sq, impls a and b, batches 1 and 8; with FAKE_MODEBENCH_TORCH=1 also impl torch) with
2 % noise, honouring --impls, --benchmark_filter
(a regex searched in the registered names, which end in /manual_time, as Google Benchmark does), --out, and the slowdown
injector's contract: MODEBENCH_SLOWDOWN='<glob>=<fraction>[,...]' makes every timed call
of a matching entry take that fraction longer. FAKE_MODEBENCH_SLEEP: seconds per run.
FAKE_MODEBENCH_SIM=1: a run of the simulated device (context "device": "sim")."""

import fnmatch
import json
import os
import random
import re
import sys
import time

def series():
    impls = ("a", "b", "torch") if os.environ.get("FAKE_MODEBENCH_TORCH") == "1" else ("a", "b")
    return [f"linear/sq/mode:cpu/impl:{impl}/batch:{b}" for impl in impls for b in (1, 8)]
CONTEXT = {"cpu_model": "Fake CPU", "blas": "FakeBLAS", "cuda_toolkit": "none", "git_sha": "fake", "num_cpus": 2}


def slowdowns():
    spec = os.environ.get("MODEBENCH_SLOWDOWN", "")
    return [(glob, float(frac)) for glob, frac in (item.rsplit("=", 1) for item in spec.split(",") if item)]


def main(argv):
    assert argv and argv[0] in ("run", "list"), argv
    out, pattern, impls = None, None, None
    for i, a in enumerate(argv):
        if a == "--out":
            out = argv[i + 1]
        elif a == "--impls":
            impls = argv[i + 1].split(",")
        elif a.startswith("--benchmark_filter="):
            pattern = re.compile(a.split("=", 1)[1])
    names = [n for n in series() if impls is None or n.split("/impl:")[1].split("/")[0] in impls]
    if argv[0] == "list":
        print("\n".join(names))
        return
    time.sleep(float(os.environ.get("FAKE_MODEBENCH_SLEEP", "0")))
    benchmarks = []
    for name in names:
        if pattern and not pattern.search(name + "/manual_time"):  # the registered name, as Google Benchmark matches
            continue
        slower = sum(f for glob, f in slowdowns() if fnmatch.fnmatchcase(name, glob))
        t = 100.0 * (1 + int(name[-1])) * (1 + slower) * random.lognormvariate(0, 0.02)
        benchmarks.append({"name": name, "run_name": name, "run_type": "iteration", "iterations": 10,
                           "real_time": t, "cpu_time": t, "time_unit": "us", "label": "math=fp32"})
    with open(out, "w") as f:
        # The nightly's per-process environment pad, for its test (-1: none was given).
        pad = os.environ.get("MODEBENCH_ENV_PAD")
        context = dict(CONTEXT, env_pad_length=-1 if pad is None else len(pad))
        if os.environ.get("FAKE_MODEBENCH_SIM") == "1":
            context["device"] = "sim"
        json.dump({"context": context, "benchmarks": benchmarks}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
