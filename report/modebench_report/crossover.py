"""Crossovers between two lines (mode/impl) of one op/case: where one stops winning.

The log-time difference against log batch is interpolated linearly between
measured batches; roots are where it changes sign. A bootstrap over processes
gives each root a CI; when resamples disagree on the number of crossings the
result is flagged ambiguous. A crossing that rests on fewer than MIN_PROCESSES
processes at some batch has no CI ("not enough runs"); the within-process
repetitions, when there are several, give it a within-process spread instead,
which says how steady one process was, not how a next run would come out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .statistical_units import enough_runs
from .stats import BOOTSTRAP, bootstrap_medians

CONF = 0.95
AGREEMENT = 0.9  # below this share of resamples with the same crossing count: ambiguous


@dataclass
class Crossing:
    batch: float  # point estimate
    between: tuple  # the measured batches that bracket it
    faster_below: str  # "a" or "b"
    processes: int  # the fewest processes of either line at any batch used
    ci: tuple = None  # (lo, hi) batch over processes; None: not enough runs
    agreement: float = None  # share of process resamples with the same number of crossings
    ambiguous: bool = False
    within_process: tuple = None  # (lo, hi) batch from repetitions, when there is no CI

    def as_dict(self):
        return {
            "batch": self.batch,
            "between": list(self.between),
            "faster_below": self.faster_below,
            "processes": self.processes,
            "ci": list(self.ci) if self.ci else None,
            "agreement": self.agreement,
            "ambiguous": self.ambiguous,
            "within_process": list(self.within_process) if self.within_process else None,
        }


def _roots(d: np.ndarray, x: np.ndarray):
    """d: (n, m) log-time differences at x (m,). Returns (change mask (n, m-1), roots (n, m-1))."""
    s = d >= 0
    change = s[:, :-1] != s[:, 1:]
    d0, d1 = d[:, :-1], d[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(change, d0 / (d0 - d1), 0.0)
    return change, x[:-1] + (x[1:] - x[:-1]) * frac


def _bootstrap_roots(a, b, batches, x, k, rng, n, conf):
    """(agreement, [(lo, hi) per crossing of the point estimate] or None) from resampling
    the values of a and b at each batch."""
    boot = np.stack(
        [np.log(bootstrap_medians(a[q], rng, n)) - np.log(bootstrap_medians(b[q], rng, n)) for q in batches], axis=1
    )
    bc, br = _roots(boot, x)
    same = bc.sum(axis=1) == k
    agreement = float(same.mean())
    if k == 0 or not same.any():
        return agreement, None
    roots_same = br[same][bc[same]].reshape(-1, k)
    q = [(1 - conf) / 2, 1 - (1 - conf) / 2]
    return agreement, [tuple(float(np.exp(v)) for v in np.quantile(roots_same[:, j], q)) for j in range(k)]


def find_crossings(a: dict, b: dict, rng: np.random.Generator, n: int = BOOTSTRAP, conf: float = CONF,
                   a_reps: dict = None, b_reps: dict = None):
    """a, b: {batch: per-process values (seconds)}; a_reps, b_reps: {batch: repetitions},
    optional, for a within-process spread. Returns (crossings, agreement).

    agreement is the share of process resamples whose crossing count equals the point
    estimate's, reported even when there is no crossing; None without enough runs."""
    batches = [x for x in sorted(set(a) & set(b)) if len(a[x]) and len(b[x])]
    if len(batches) < 2:
        return [], None
    processes = min(min(len(a[k]), len(b[k])) for k in batches)
    x = np.log(np.asarray(batches, float))
    point = np.array([[np.log(np.median(a[k])) - np.log(np.median(b[k])) for k in batches]])
    pc, pr = _roots(point, x)
    k = int(pc.sum())
    agreement, intervals, spread = None, None, None
    if enough_runs(processes):
        agreement, intervals = _bootstrap_roots(a, b, batches, x, k, rng, n, conf)
    elif a_reps and b_reps and all(len(a_reps.get(q, ())) > 1 and len(b_reps.get(q, ())) > 1 for q in batches):
        _, spread = _bootstrap_roots(a_reps, b_reps, batches, x, k, rng, n, conf)
    out = []
    for j, i in enumerate(np.nonzero(pc[0])[0]):
        crossing = Crossing(
            batch=float(np.exp(pr[0, i])),
            between=(batches[i], batches[i + 1]),
            faster_below="a" if point[0, i] < 0 else "b",
            processes=processes,
        )
        if agreement is not None:
            # No resample with the same count: the measured bracket is all that can be said.
            crossing.ci = intervals[j] if intervals else (float(batches[i]), float(batches[i + 1]))
            crossing.agreement, crossing.ambiguous = agreement, agreement < AGREEMENT
        elif spread:
            crossing.within_process = spread[j]
        out.append(crossing)
    return out, agreement
