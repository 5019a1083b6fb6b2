"""ci/history_study.py's logic, small: a clear step is found at its night, a history without
one finds nothing, and the nights-to-detect count is the first night the step is found."""

import sys

import numpy as np

from nightly_helpers import ROOT

sys.path.insert(0, str(ROOT / "ci"))
import history_study  # noqa: E402


def test_a_clear_step_is_found_at_its_night_and_quiet_history_finds_nothing():
    quiet = np.random.default_rng(0).normal(0, 0.01, 2000)
    rng = np.random.default_rng(1)
    stepped = history_study.medians(history_study.night_values(rng, quiet, 30, 7, step_at=20, step=0.10))
    assert history_study.found_at(stepped, 20, slack=0)
    flat = history_study.medians(history_study.night_values(rng, quiet, 30, 7))
    assert not history_study.found_at(flat, 20) and history_study.false_alarms(quiet, 7, sims=5, nights=30)[1] == 0


def test_nights_to_detect_counts_the_nights_a_step_needs():
    quiet = np.random.default_rng(0).normal(0, 0.01, 2000)
    reach, share = history_study.nights_to_detect(quiet, 0.10, 7, sims=4, before=20, horizon=6)
    # A point needs 3 runs a side (history.MIN_SIDE): never found before the third night after it.
    assert share[:2] == [0.0, 0.0] and reach == 3 and share[2:] == [1.0] * 4
    reach, share = history_study.nights_to_detect(quiet, 0.01, 7, sims=4, before=20, horizon=6)
    assert reach is None and max(share) == 0.0  # 1 % is under the 3 % smallest step
