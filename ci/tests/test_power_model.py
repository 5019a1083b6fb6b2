"""ci/power_model.py: the nightly's decision on resampled process noise. Small synthetic
pools whose answer is known: no noise finds every change and alarms on nothing; heavy
noise finds less at the same processes; more processes find more."""

import sys

import numpy as np

from nightly_helpers import ROOT

sys.path.insert(0, str(ROOT / "ci"))
import power_model  # noqa: E402


def test_quiet_processes_find_every_injected_change_and_nothing_else():
    quiet = np.random.default_rng(0).normal(0, 0.005, 500)
    r = power_model.simulate(quiet, n=9, series=10, injected=3, slowdown=0.10, looks=1, sims=5)
    assert r["detected"] == 1.0
    assert r["false_alarms"] == 0.0
    assert r["comparisons"] == 50


def test_a_change_below_the_ratio_threshold_is_never_an_alert_however_clear():
    quiet = np.random.default_rng(0).normal(0, 0.001, 500)
    r = power_model.simulate(quiet, n=9, series=4, injected=2, slowdown=0.02, looks=1, sims=5)
    assert r["detected"] == 0.0  # 2 % is under the nightly's 3 % minimum ratio


def test_heavy_tails_cost_power_and_processes_buy_it_back():
    rng = np.random.default_rng(1)
    heavy = np.where(rng.random(2000) < 0.1, rng.normal(0, 0.4, 2000), rng.normal(0, 0.05, 2000))
    few = power_model.simulate(heavy, n=5, series=10, injected=5, slowdown=0.10, looks=1, sims=20)
    many = power_model.simulate(heavy, n=40, series=10, injected=5, slowdown=0.10, looks=1, sims=20)
    assert few["detected"] < 0.5 < many["detected"]
    steps = power_model.processes_for(heavy, 0.5, 0.10, 10, 5, 1, 20, candidates=(5, 40, 100))
    assert [n for n, _ in steps] == [5, 40]  # stops at the first count that reaches the target


def test_the_pool_is_read_from_nightly_folders_per_kind_of_process(tmp_path):
    """Deviations come per series and kind (full-suite vs confirmation processes), from real
    modebench JSON files as the nightly lays them out."""
    import json

    def process(path, seconds):
        doc = {"context": {"cpu_model": "x", "blas": "y", "host_gpus": "none", "nvidia_driver": "none"},
               "benchmarks": [{"name": "linear/a/mode:cpu/impl:onednn/batch:1", "run_type": "iteration",
                               "real_time": seconds * 1e3, "time_unit": "ms", "iterations": 10}]}
        path.write_text(json.dumps(doc))

    side = tmp_path / "trial-001-aa" / "cpu-only"
    side.mkdir(parents=True)
    for k, t in enumerate([1.0, 1.1, 0.9, 1.0], start=1):
        process(side / f"process-{k}.json", t)
    for k, t in enumerate([2.0, 2.0], start=1):
        process(side / f"process-c{k}.json", t)  # two confirmation processes: too few for a set
    pool = power_model.noise_pool([tmp_path / "trial-001-aa"])
    assert sorted(np.round(np.exp(pool[power_model.FIRST]), 3)) == [0.9, 1.0, 1.0, 1.1]
    assert len(pool[power_model.CONFIRM]) == 0
