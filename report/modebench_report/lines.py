"""The lines of an op/case (one per mode/impl): points per batch and their crossings."""

from __future__ import annotations

import numpy as np

from . import statistical_units
from .crossover import find_crossings
from .stats import rng_for


def line_points(by_batch: dict):
    """Per batch: median, low, high (s) of the units, and work per call (flop or items)."""
    pts = []
    for b in sorted(by_batch):
        s = by_batch[b]
        if s.measured_status != "ok":
            continue
        v, _ = statistical_units.units(s)
        flops = [np.median(np.asarray(r.counters["FLOPS"]) * np.asarray(r.times)) for r in s.ok_records if "FLOPS" in r.counters]
        byts = [
            np.median(np.asarray(r.counters["bytes_per_second"]) * np.asarray(r.times))
            for r in s.ok_records
            if "bytes_per_second" in r.counters
        ]
        pts.append(
            {
                "batch": b,
                "median": float(np.median(v)),
                "lo": float(np.min(v)),
                "hi": float(np.max(v)),
                "flop": float(np.median(flops)) if flops else None,
                "bytes": float(np.median(byts)) if byts else None,
            }
        )
    return pts


def crossings_of(group, op, case):
    lines = group.cases[(op, case)]
    ok = {ln: {b: statistical_units.units(s)[0] for b, s in bb.items() if s.measured_status == "ok"} for ln, bb in lines.items()}
    ok = {ln: v for ln, v in ok.items() if len(v) >= 2}
    names = sorted(ok)
    single_mode = len({ln[0] for ln in names}) <= 1
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a[0] == b[0] and not single_mode:
                continue  # between modes; impls of one mode are compared when it is the only mode
            xs, agreement = find_crossings(ok[a], ok[b], rng_for(group.label, op, case, a, b))
            for x in xs:
                out.append({"a": a, "b": b, "x": x})
            if not xs and agreement < 0.9:
                out.append({"a": a, "b": b, "x": None, "agreement": agreement})
    return out
