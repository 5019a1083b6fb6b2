"""The lines of an op/case (one per mode/impl): points per batch and their crossings."""

from __future__ import annotations

import numpy as np

from .crossover import AGREEMENT, find_crossings
from .statistical_units import enough_runs, process_medians, repetitions
from .stats import rng_for

BAND_PROCESSES = "range over processes"
BAND_WITHIN = "within-process spread"


def _work_per_call(s, counter):
    """Median over processes of a rate counter times the call's time: flop or bytes per call."""
    v = [np.median(np.asarray(r.counters[counter]) * np.asarray(r.times)) for r in s.ok_records if counter in r.counters]
    return float(np.median(v)) if v else None


def line_points(by_batch: dict):
    """Per batch with an ok measurement: the median over process medians (s), the number
    of processes, a band (lo, hi) and what the band is: the range over processes when
    there are enough of them, else the within-process spread of the repetitions (None
    when there is a single repetition), and the work per call (flop, bytes)."""
    pts = []
    for b in sorted(by_batch):
        s = by_batch[b]
        if not s.timed:
            continue
        per_process = process_medians(s)
        reps = repetitions(s)
        if enough_runs(len(per_process)):
            band, lo, hi = BAND_PROCESSES, min(per_process), max(per_process)
        elif len(reps) > len(per_process):
            band, lo, hi = BAND_WITHIN, min(reps), max(reps)
        else:
            band, lo, hi = None, None, None
        pts.append(
            {
                "batch": b,
                "median": float(np.median(per_process)),
                "processes": len(per_process),
                "band": band,
                "lo": lo,
                "hi": hi,
                "flop": _work_per_call(s, "FLOPS"),
                "bytes": _work_per_call(s, "bytes_per_second"),
            }
        )
    return pts


def crossings_of(group, op, case):
    """Crossings between the lines of an op/case: between modes, or between the impls of
    the only mode. Each: {"a", "b", "x": Crossing}, or "x": None with the agreement when
    resamples disagree on a crossing that the medians do not show."""
    lines = group.cases[(op, case)]
    ok = {ln: {b: s for b, s in bb.items() if s.timed} for ln, bb in lines.items()}
    ok = {ln: v for ln, v in ok.items() if len(v) >= 2}
    names = sorted(ok)
    single_mode = len({ln[0] for ln in names}) <= 1
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a[0] == b[0] and not single_mode:
                continue
            xs, agreement = find_crossings(
                {q: process_medians(s) for q, s in ok[a].items()},
                {q: process_medians(s) for q, s in ok[b].items()},
                rng_for(group.label, op, case, a, b),
                a_reps={q: repetitions(s) for q, s in ok[a].items()},
                b_reps={q: repetitions(s) for q, s in ok[b].items()},
            )
            out += [{"a": a, "b": b, "x": x} for x in xs]
            if not xs and agreement is not None and agreement < AGREEMENT:
                out.append({"a": a, "b": b, "x": None, "agreement": agreement})
    return out
