import numpy as np
import pytest

from modebench_report import stats


def test_benjamini_hochberg_hand_computed():
    # m = 4; ranks: 0.005 -> 0.02, 0.01 -> 0.02, 0.03 -> 0.04, 0.04 -> 0.04 (step-up minimum)
    adj = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_mann_whitney_separated_samples_exact_p():
    # All of b above all of a, 5 vs 5: two-sided exact p = 2 / C(10, 5).
    p = stats.mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert p == pytest.approx(2 / 252)
    assert stats.min_attainable_p(5, 5) == pytest.approx(2 / 252)
    assert stats.mann_whitney_p([1, 1, 1], [1, 1, 1]) == 1.0


def test_bootstrap_ratio_ci():
    rng = np.random.default_rng(0)
    lo, hi = stats.bootstrap_ratio_ci([1.0] * 5, [1.1] * 5, rng)
    assert lo == pytest.approx(1.1) and hi == pytest.approx(1.1)
    a = rng.lognormal(0, 0.05, 30)
    b = 1.2 * rng.lognormal(0, 0.05, 30)
    lo, hi = stats.bootstrap_ratio_ci(a, b, rng)
    assert 1.0 < lo < 1.2 < hi


def test_robust_cv_and_noise():
    assert stats.robust_cv([1, 1, 1]) == 0
    # MAD of [0.9, 1, 1.1] is 0.1 -> 1.4826 * 0.1
    assert stats.robust_cv([0.9, 1.0, 1.1]) == pytest.approx(0.14826)
    assert stats.aa_noise([1, 1], [1, 1]) == 0
