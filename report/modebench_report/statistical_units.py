"""Which numbers are the statistical units of a series (design.md "Measuring").

The unit is the process: one median per process. When a side has too few
processes for the test to ever reach significance, the within-process
repetitions are pooled instead, and every verdict built on them says it is weaker.
"""

from __future__ import annotations

import numpy as np

from .stats import ALPHA, min_attainable_p

PROCESS = "process"
REPETITION = "repetition"


def process_medians(series, counter=None) -> list:
    """One median per ok process: of its times, or of a counter (processes without it skipped)."""
    if counter is None:
        return [float(np.median(r.times)) for r in series.ok_records]
    return [float(np.median(r.counters[counter])) for r in series.ok_records if counter in r.counters]


def repetitions(series) -> list:
    return [t for r in series.ok_records for t in r.times]


def units_pair(a, b, alpha=ALPHA):
    """(values_a, values_b, unit) for comparing two series."""
    pa, pb = process_medians(a), process_medians(b)
    if min_attainable_p(len(pa), len(pb)) <= alpha:
        return pa, pb, PROCESS
    ra, rb = repetitions(a), repetitions(b)
    if len(ra) > len(pa) and len(rb) > len(pb):
        return ra, rb, REPETITION
    return pa, pb, PROCESS


def units(series, min_processes: int = 3):
    """(values, unit) of one series for bootstrap (crossovers, policy confidence)."""
    p = process_medians(series)
    if len(p) >= min_processes:
        return p, PROCESS
    r = repetitions(series)
    if len(r) > len(p):
        return r, REPETITION
    return p, PROCESS
