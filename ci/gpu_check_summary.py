#!/usr/bin/env python3
"""The GPU check's verdict (ci/gpu-check.sh): one table, op x mode x impl -> status, time,
image of our own kernel, math, and every wrong/failed entry with its message; exit 1 on any
wrong result, any harness error, a device mode `unavailable` although a GPU is present, or a
failed memory-capped knn check. Plain Python (no numpy): it runs on the bare GPU box too."""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "report"))
from modebench_report.status import SEVERITY, parse  # noqa: E402

DEVICE_MODES = ("gpu", "ptx-jit", "hybrid")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def entry_status(bench: dict) -> tuple:
    """(status, message) of one Google Benchmark record."""
    message = bench.get("error_message") if bench.get("error_occurred") else None
    if message is None and bench.get("skipped") not in (None, False, "false", 0):
        message = bench.get("skip_message", "")
    if message is None:
        return "ok", ""
    parsed = parse(str(message))
    return (parsed.status if parsed else "failed"), str(message)


def label_value(label: str, key: str) -> str:
    for part in (label or "").split(";"):
        k, _, v = part.partition("=")
        if k == key:
            return v
    return ""


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.3g} us"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


# The words of harness/provider.cpp's reason for a provider whose executable is not beside modebench.
PROVIDER_NOT_BUILT = " provider (modebench-"


class Group:
    """One op x mode x impl over its cases and batches."""

    def __init__(self):
        self.counts: dict = {}
        self.times: list = []
        self.images: set = set()
        self.math: set = set()
        self.problems: list = []  # (name, message) of wrong/failed/busy/not_run/unavailable entries

    def add(self, name: str, bench: dict):
        if bench.get("run_type", "iteration") != "iteration":
            return
        status, message = entry_status(bench)
        self.counts[status] = self.counts.get(status, 0) + 1
        if status != "ok":
            self.problems.append((name, message))
            return
        unit = _UNIT_S.get(bench.get("time_unit", "ns"), 1e-9)
        self.times.append(float(bench.get("real_time", 0.0)) * unit)
        label = bench.get("label", "")
        for key, into in (("image_own", self.images), ("image", self.images), ("math", self.math)):
            if value := label_value(label, key):
                into.add(value)

    @property
    def worst(self) -> str:
        return max(self.counts, key=SEVERITY.__getitem__) if self.counts else "none"


def load(paths) -> dict:
    groups: dict = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"gpu-check: {path}: unreadable result file ({e})")
        for bench in doc.get("benchmarks", []):
            name = str(bench.get("run_name", bench.get("name", "")))
            parts = name.split("/")
            if len(parts) < 5:
                continue
            key = (parts[0], parts[2].removeprefix("mode:"), parts[3].removeprefix("impl:"))
            groups.setdefault(key, Group()).add(name, bench)
    return groups


def table(groups: dict) -> str:
    rows = [("op", "mode", "impl", "status", "entries", "time (min..max)", "image_own", "math")]
    for (op, mode, impl), g in sorted(groups.items()):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(g.counts.items(), key=lambda kv: SEVERITY[kv[0]]))
        times = f"{fmt_seconds(min(g.times))}..{fmt_seconds(max(g.times))}" if g.times else "-"
        rows.append((op, mode, impl, g.worst, counts, times, " ".join(sorted(g.images)) or "-",
                     " ".join(sorted(g.math)) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def verdict(groups: dict, gpu_present: bool, harness_errors: int, capped: dict, forced: dict = None) -> list:
    """The reasons to fail, one sentence each (empty: all good). `forced`: cuDNN algorithms run
    one at a time; one cuDNN does not offer for a shape is unavailable, which is no failure."""
    reasons = []
    for (op, mode, impl), g in sorted((forced or {}).items()):
        if g.counts.get("wrong") or g.counts.get("failed"):
            reasons.append(f"{op} {mode}/{impl}: {g.counts.get('wrong', 0)} wrong, {g.counts.get('failed', 0)} failed")
    if harness_errors:
        reasons.append(f"{harness_errors} step(s) ended with a harness error")
    for (op, mode, impl), g in sorted(groups.items()):
        if g.counts.get("wrong"):
            reasons.append(f"{op} {mode}/{impl}: {g.counts['wrong']} wrong result(s)")
        if gpu_present and mode in DEVICE_MODES and g.counts.get("unavailable"):
            # A provider not built beside modebench (the bundle carries no libtorch) ran nowhere:
            # listed with its message, not a failure of the device modes.
            if not all(PROVIDER_NOT_BUILT in m for _, m in g.problems if m.startswith("unavailable")):
                reasons.append(f"{op} {mode}/{impl}: unavailable although a GPU is present")
    for (op, mode, impl), g in sorted(capped.items()):
        if g.worst != "ok":
            reasons.append(f"the memory-capped knn check ({mode}/{impl}) is {g.worst}, not ok")
    if not capped:
        reasons.append("the memory-capped knn check produced no result")
    return reasons


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sweep", help="the sweep's result JSON")
    ap.add_argument("capped", help="the memory-capped knn check's result JSON")
    ap.add_argument("--probe", help="modebench probe --json output")
    ap.add_argument("--gpu-present", action="store_true")
    ap.add_argument("--harness-errors", type=int, default=0)
    ap.add_argument("--forced-algorithms", nargs="*", default=[],
                    help="results of conv2d/ssim with one cuDNN algorithm forced (conv_<algo>.json)")
    a = ap.parse_args(argv)

    if a.probe and os.path.exists(a.probe):
        with open(a.probe, encoding="utf-8") as f:
            probe = json.load(f)
        print(probe.get("summary", {}).get("headline", ""))
        for d in probe.get("devices", []):
            print(f"  device {d.get('index')}: {d.get('name')} CC {d.get('cc')}; our kernels: "
                  + ", ".join(sorted({k.get('image', '?') for k in d.get('kernels', [])})))
        for advice in probe.get("advice", []):
            print(f"  advice: {advice.get('text')}")
    groups = load([a.sweep]) if os.path.exists(a.sweep) else {}
    capped = load([a.capped]) if os.path.exists(a.capped) else {}
    forced = {}
    for path in a.forced_algorithms:
        if os.path.exists(path):
            algo = os.path.basename(path).removeprefix("conv_").removesuffix(".json")
            for (op, mode, impl), g in load([path]).items():
                forced[(op, f"{mode} (algo={algo})", impl)] = g
    print()
    print(table({**groups, **{(op, mode + " (capped 2M/16MiB)", impl): g for (op, mode, impl), g in capped.items()},
                 **forced}))
    problems = [p for g in list(groups.values()) + list(capped.values()) + list(forced.values()) for p in g.problems]
    if problems:
        print("\nEntries that did not produce a timing:")
        for name, message in problems:
            print(f"  {name}: {message}")
    reasons = verdict(groups, a.gpu_present, a.harness_errors, capped, forced)
    print()
    if reasons:
        print("gpu-check: FAILED: " + "; ".join(reasons))
        return 1
    print("gpu-check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
