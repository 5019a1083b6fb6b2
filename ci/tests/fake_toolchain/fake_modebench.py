"""Stands in for `modebench run` in ci/tests: Google Benchmark JSON for four cpu series
(linear/sq, impls a and b, batches 1 and 8) with 2 % noise, honouring --benchmark_filter
(a regex searched in the registered names, which end in /manual_time, as Google Benchmark does), --out, and the slowdown
injector's contract: MODEBENCH_SLOWDOWN='<glob>=<fraction>[,...]' makes every timed call
of a matching entry take that fraction longer. FAKE_MODEBENCH_SLEEP: seconds per run."""

import fnmatch
import json
import os
import random
import re
import sys
import time

SERIES = [f"linear/sq/mode:cpu/impl:{impl}/batch:{b}" for impl in ("a", "b") for b in (1, 8)]
CONTEXT = {"cpu_model": "Fake CPU", "blas": "FakeBLAS", "cuda_toolkit": "none", "git_sha": "fake", "num_cpus": 2}


def slowdowns():
    spec = os.environ.get("MODEBENCH_SLOWDOWN", "")
    return [(glob, float(frac)) for glob, frac in (item.rsplit("=", 1) for item in spec.split(",") if item)]


def main(argv):
    assert argv and argv[0] == "run", argv
    out, pattern = None, None
    for i, a in enumerate(argv):
        if a == "--out":
            out = argv[i + 1]
        elif a.startswith("--benchmark_filter="):
            pattern = re.compile(a.split("=", 1)[1])
    time.sleep(float(os.environ.get("FAKE_MODEBENCH_SLEEP", "0")))
    benchmarks = []
    for name in SERIES:
        if pattern and not pattern.search(name + "/manual_time"):  # the registered name, as Google Benchmark matches
            continue
        slower = sum(f for glob, f in slowdowns() if fnmatch.fnmatchcase(name, glob))
        t = 100.0 * (1 + int(name[-1])) * (1 + slower) * random.lognormvariate(0, 0.02)
        benchmarks.append({"name": name, "run_name": name, "run_type": "iteration", "iterations": 10,
                           "real_time": t, "cpu_time": t, "time_unit": "us", "label": "math=fp32"})
    with open(out, "w") as f:
        json.dump({"context": CONTEXT, "benchmarks": benchmarks}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
