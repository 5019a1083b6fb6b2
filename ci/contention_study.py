#!/usr/bin/env python3
"""The contention study (docs/contract.md, "Contention"): what other processes' load does to
each threaded impl, under each OpenMP wait policy, and where the contention threshold must sit.

For each wait policy (OMP_WAIT_POLICY unset, passive, active) and each synthetic load (0, 0.25,
0.5, 1 and 2 busy cores: duty-cycled spinning processes started for the duration of one
`modebench run`), runs a fixed set of threaded entries as separate processes, REPEATS times,
and prints per impl the median time relative to the quiet median and the other_cores the
entries recorded. Run it on an otherwise quiet machine:

    python3 ci/contention_study.py --build build [--repeats 3] [--json out.json]

The threshold is the largest load whose slowdown of every impl stays within the quiet spread
(max/min of the quiet processes' medians); the policy chosen is the one whose worst slowdown
under 1 busy core is smallest without costing more than the quiet spread when quiet.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Threaded impls with many OpenMP barriers per call (oneDNN), few (im2col, OpenBLAS) and ours.
SELECTIONS = (
    ["--ops", "linear", "--cases", "mobilenetv2_head", "--impls", "onednn,openblas", "--batches", "1,8"],
    ["--ops", "conv2d", "--cases", "resnet_3x3", "--impls", "onednn,im2col", "--batches", "1"],
    ["--ops", "knn", "--cases", "uniform", "--impls", "grid", "--batches", "100000"],
    ["--ops", "ssim", "--cases", "nerf_800", "--impls", "fused", "--batches", "1"],
)
LOADS = (0.0, 0.25, 0.5, 1.0, 2.0)
POLICIES = ("default", "passive", "active")


def _spin(duty: float, seconds: float):
    """Busy for `duty` of every 10 ms, for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.01 * duty:
            pass
        time.sleep(0.01 * (1 - duty))


def start_load(cores: float, seconds: float):
    n = int(cores + 0.999)
    return [multiprocessing.Process(target=_spin, args=(cores / n, seconds), daemon=True) for _ in range(n)]


def run_once(modebench, selection, policy, load, min_time):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy.upper()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "o.json")
        loaders = start_load(load, 600) if load else []
        for p in loaders:
            p.start()
        try:
            subprocess.run([modebench, "run", "--modes", "cpu", *selection, f"--benchmark_min_time={min_time}", "--out", out],
                           env=env, check=True, capture_output=True, timeout=600)
        finally:
            for p in loaders:
                p.terminate()
        doc = json.load(open(out))
    return {b["name"]: (b["real_time"], b.get("other_cores", 0.0)) for b in doc["benchmarks"] if "error_message" not in b}


def study(modebench, repeats, min_time, loads=LOADS, policies=POLICIES):
    """{policy: {load: {entry: [(time_us, other_cores)] per repeat}}}, repeats interleaved."""
    data = {p: {ld: {} for ld in loads} for p in policies}
    for _ in range(repeats):
        for policy in policies:
            for load in loads:
                for sel in SELECTIONS:
                    for name, v in run_once(modebench, sel, policy, load, min_time).items():
                        data[policy][load].setdefault(name, []).append(v)
    return data


def summarize(data):
    """Rows (policy, load, entry, median slowdown vs that policy's quiet median, quiet spread,
    median other_cores) and the threshold and policy the data support."""
    rows = []
    worst_within = {}  # load -> whether every entry stayed within its quiet spread
    for policy, by_load in data.items():
        quiet = by_load[min(by_load)]
        for load, entries in sorted(by_load.items()):
            for name, vals in sorted(entries.items()):
                q = [t for t, _ in quiet.get(name, [])]
                if not q:
                    continue
                qmed = statistics.median(q)
                spread = max(q) / min(q)
                slow = statistics.median(t for t, _ in vals) / qmed
                others = statistics.median(o for _, o in vals)
                rows.append((policy, load, name, slow, spread, others))
                if policy == "default":
                    worst_within[load] = worst_within.get(load, True) and slow <= spread
    ok_loads = [ld for ld, ok in sorted(worst_within.items()) if ok]
    # The largest load every impl tolerated, as the others' cores the entries measured there.
    tolerated = max(ok_loads) if ok_loads else 0.0
    measured = [r[5] for r in rows if r[0] == "default" and r[1] == tolerated]
    threshold = statistics.median(measured) if measured and tolerated else None
    return rows, threshold


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.25)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    modebench = os.path.join(args.build, "modebench")
    if not os.path.exists(modebench):
        print(f"contention_study: {modebench} is not built", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    data = study(modebench, args.repeats, args.min_time)
    rows, threshold = summarize(data)
    print("| OMP_WAIT_POLICY | load (busy cores) | entry | median time / quiet | quiet spread | other_cores measured |")
    print("|---|---|---|---|---|---|")
    for policy, load, name, slow, spread, others in rows:
        print(f"| {policy} | {load:g} | {name} | {slow:.2f}x | {spread:.2f}x | {others:.2f} |")
    print(f"\nthe largest load every impl tolerated (default policy), as measured other_cores: {threshold}")
    print(f"study time: {time.monotonic() - t0:.0f} s, {args.repeats} repeats")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "threshold": threshold}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
