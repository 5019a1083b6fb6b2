"""Statistics of docs/contract.md, "`modebench-report compare`": Mann-Whitney U, Benjamini-Hochberg, bootstrap."""

from __future__ import annotations

import math
import zlib

import numpy as np
from scipy import stats as _st

ALPHA = 0.01
MIN_RATIO = 0.03
BOOTSTRAP = 2000


def rng_for(*key) -> np.random.Generator:
    """Deterministic generator per series: reports are reproducible run to run."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def mann_whitney_p(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 1 or len(b) < 1:
        return 1.0
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(_st.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)


def min_attainable_p(n1: int, n2: int) -> float:
    """Smallest two-sided exact Mann-Whitney p-value for these sample sizes."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Adjusted p-values (step-up), same order as given."""
    p = np.asarray(pvalues, float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def robust_cv(values) -> float:
    """Scaled MAD over median: the within-set spread, robust to one bad process."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return 0.0
    med = np.median(v)
    return float(1.4826 * np.median(np.abs(v - med)) / med) if med > 0 else 0.0


def aa_noise(a, b) -> float:
    """A/A noise of a series: the typical ratio change that within-set spread alone
    gives between two medians of these sizes (one standard error of the ratio)."""
    na, nb = max(len(a), 1), max(len(b), 1)
    ca, cb = robust_cv(a), robust_cv(b)
    # The median's standard error is ~1.2533 sigma / sqrt(n).
    se = 1.2533 * math.sqrt(ca * ca / na + cb * cb / nb)
    return se


def bootstrap_ratio_ci(a, b, rng, conf: float = 1 - ALPHA, n: int = BOOTSTRAP):
    """Percentile CI of median(b) / median(a), resampling each side independently."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ia = rng.integers(0, len(a), size=(n, len(a)))
    ib = rng.integers(0, len(b), size=(n, len(b)))
    ratios = np.median(b[ib], axis=1) / np.median(a[ia], axis=1)
    lo, hi = np.quantile(ratios, [(1 - conf) / 2, 1 - (1 - conf) / 2])
    return float(lo), float(hi)


def bootstrap_medians(values, rng, n: int = BOOTSTRAP) -> np.ndarray:
    """n bootstrap medians of one sample (for crossovers and policy confidence)."""
    v = np.asarray(values, float)
    idx = rng.integers(0, len(v), size=(n, len(v)))
    return np.median(v[idx], axis=1)
