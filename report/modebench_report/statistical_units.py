"""Which numbers are the statistical units of a series (docs/contract.md, "`report/modebench-report`").

The unit is the process: one median per process. An interval over runs needs at
least MIN_PROCESSES of them; with fewer, a number is shown with "not enough runs"
and at most the within-process spread of its repetitions, labelled as such.
When a side of a comparison has too few processes for the test to ever reach
significance, the within-process repetitions are pooled instead, and every verdict
built on them says it is weaker.
"""

from __future__ import annotations

import numpy as np

from .stats import ALPHA, min_attainable_p

PROCESS = "process"
REPETITION = "repetition"
MIN_PROCESSES = 3


def process_medians(series, counter=None) -> list:
    """One median per ok process: of its times, or of a counter (processes without it skipped)."""
    if counter is None:
        return [float(np.median(r.times)) for r in series.ok_records]
    return [float(np.median(r.counters[counter])) for r in series.ok_records if counter in r.counters]


def repetitions(series) -> list:
    return [t for r in series.ok_records for t in r.times]


def enough_runs(n_processes: int) -> bool:
    return n_processes >= MIN_PROCESSES


def not_enough_runs(n_processes, set_aside: int = 0) -> str:
    """What a number without an interval says; with contended processes set aside, that the
    quiet ones are too few."""
    if set_aside:
        return f"not enough quiet runs (n = {n_processes}; {set_aside} contended set aside)"
    return f"not enough runs (n = {n_processes})"


def units_pair(a, b, alpha=ALPHA):
    """(values_a, values_b, unit) for comparing two series."""
    pa, pb = process_medians(a), process_medians(b)
    if min_attainable_p(len(pa), len(pb)) <= alpha:
        return pa, pb, PROCESS
    ra, rb = repetitions(a), repetitions(b)
    if len(ra) > len(pa) and len(rb) > len(pb):
        return ra, rb, REPETITION
    return pa, pb, PROCESS
