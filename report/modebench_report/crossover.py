"""Crossovers between two lines (mode/impl) of one op/case: where one stops winning.

The log-time difference against log batch is interpolated linearly between
measured batches; roots are where it changes sign. A bootstrap over the units
(processes, or repetitions when there are too few) gives each root a CI; when
resamples disagree on the number of crossings the result is flagged ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import BOOTSTRAP, bootstrap_medians

CONF = 0.95
AGREEMENT = 0.9  # below this share of resamples with the same crossing count: ambiguous


@dataclass
class Crossing:
    batch: float  # point estimate
    ci: tuple  # (lo, hi) batch
    between: tuple  # the measured batches that bracket it
    faster_below: str  # "a" or "b"
    agreement: float  # share of resamples with the same number of crossings
    ambiguous: bool

    def as_dict(self):
        return {
            "batch": self.batch,
            "ci": list(self.ci),
            "between": list(self.between),
            "faster_below": self.faster_below,
            "agreement": self.agreement,
            "ambiguous": self.ambiguous,
        }


def _roots(d: np.ndarray, x: np.ndarray):
    """d: (n, m) log-time differences at x (m,). Returns (change mask (n, m-1), roots (n, m-1))."""
    s = d >= 0
    change = s[:, :-1] != s[:, 1:]
    d0, d1 = d[:, :-1], d[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(change, d0 / (d0 - d1), 0.0)
    return change, x[:-1] + (x[1:] - x[:-1]) * frac


def find_crossings(a: dict, b: dict, rng: np.random.Generator, n: int = BOOTSTRAP, conf: float = CONF):
    """a, b: {batch: unit values (seconds)}. Returns (crossings, agreement).

    agreement is the share of resamples whose crossing count equals the point
    estimate's; it is reported even when there is no crossing."""
    batches = sorted(set(a) & set(b))
    batches = [x for x in batches if len(a[x]) and len(b[x])]
    if len(batches) < 2:
        return [], 1.0
    x = np.log(np.asarray(batches, float))
    point = np.array([[np.log(np.median(a[k])) - np.log(np.median(b[k])) for k in batches]])
    pc, pr = _roots(point, x)
    k = int(pc.sum())
    boot = np.stack(
        [np.log(bootstrap_medians(a[q], rng, n)) - np.log(bootstrap_medians(b[q], rng, n)) for q in batches], axis=1
    )
    bc, br = _roots(boot, x)
    counts = bc.sum(axis=1)
    same = counts == k
    agreement = float(same.mean())
    out = []
    if k == 0:
        return out, agreement
    roots_same = br[same][bc[same]].reshape(-1, k) if same.any() else np.empty((0, k))
    idx = np.nonzero(pc[0])[0]
    q = [(1 - conf) / 2, 1 - (1 - conf) / 2]
    for j, i in enumerate(idx):
        if len(roots_same):
            lo, hi = np.quantile(roots_same[:, j], q)
        else:
            lo, hi = x[i], x[i + 1]
        out.append(
            Crossing(
                batch=float(np.exp(pr[0, i])),
                ci=(float(np.exp(lo)), float(np.exp(hi))),
                between=(batches[i], batches[i + 1]),
                faster_below="a" if point[0, i] < 0 else "b",
                agreement=agreement,
                ambiguous=agreement < AGREEMENT,
            )
        )
    return out, agreement
