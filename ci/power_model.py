"""What budget would reach the nightly's detection targets on this machine: a model of the
nightly's decision fed with this machine's own process-to-process noise (ci/power_study.py).

The normal-theory estimate (power_study.processes_needed) assumes Gaussian noise at the
robust CV; the measured noise here has heavy tails (a process now and then 30 % off), so
that estimate is optimistic. This model makes no such assumption: it resamples the
measured per-process deviations (log of a process's median over the median of its side,
per series, from real nightly runs), builds synthetic suites of `series` series with n
processes a side, slows `injected` of them by the given fraction, and decides each suite
with the nightly's own code (compare.measure_pair + compare.decide: Mann-Whitney,
Benjamini-Hochberg over the suite, threshold and interval) at alpha / looks. It is checked
against the study's measured first-look rates before it is believed (power_study prints
both), and it models one fixed-size look: n processes a side decided once.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))

from modebench_report import compare, load, stats  # noqa: E402
from modebench_report.statistical_units import process_medians  # noqa: E402

FIRST, CONFIRM = "first-look processes", "confirmation processes"
_CONFIRM_FILE = re.compile(r"process-c\d+\.json$")


def noise_pool(trial_dirs) -> dict:
    """{FIRST|CONFIRM: array of log deviations} from nightly output folders: per series,
    variant and kind of process (the full suite, or a confirmation re-run of a few series),
    each process's log median minus the median of those logs (sets of 3 or more)."""
    pool = {FIRST: [], CONFIRM: []}
    for trial in trial_dirs:
        for variant in sorted({os.path.dirname(p) for p in glob.glob(os.path.join(trial, "*", "process-*.json"))}):
            paths = sorted(glob.glob(os.path.join(variant, "process-*.json")))
            for kind in (FIRST, CONFIRM):
                chosen = [p for p in paths if bool(_CONFIRM_FILE.search(p)) == (kind == CONFIRM)]
                if not chosen:
                    continue
                processes = [load.load_process(p) for p in chosen]
                for series in load.group_series(processes, lambda p: "all").get("all", {}).values():
                    logs = np.log(process_medians(series))
                    if len(logs) >= 3:
                        pool[kind].extend(logs - np.median(logs))
    return {k: np.asarray(v, float) for k, v in pool.items()}


def simulate(deviations, n: int, series: int, injected: int, slowdown: float, looks: int, sims: int,
             seed: int = 1, alpha: float = stats.ALPHA, bootstrap: int = 400) -> dict:
    """Rates of the nightly's decision on synthetic suites drawn from `deviations`:
    {"detected": share of injected series alerted, "false_alarms": share of the others}."""
    rng = np.random.default_rng(seed)
    hits = alarms = 0
    for _ in range(sims):
        rows = []
        for s in range(series):
            a = np.exp(rng.choice(deviations, n))
            b = np.exp(rng.choice(deviations, n)) * (1 + slowdown if s < injected else 1.0)
            rows.append(dict(unit="process", **compare.measure_pair(a, b, rng, alpha / looks, bootstrap=bootstrap)))
        compare.decide(rows, alpha / looks)
        hits += sum(r["alert"] for r in rows[:injected])
        alarms += sum(r["alert"] for r in rows[injected:])
    return {"detected": hits / (sims * injected) if injected else None,
            "false_alarms": alarms / (sims * (series - injected)) if series > injected else None,
            "comparisons": sims * series}


def processes_for(deviations, target: float, slowdown: float, series: int, injected: int, looks: int, sims: int,
                  candidates=(5, 7, 9, 12, 16, 20, 25, 30, 40, 50, 60, 80, 100)):
    """[(n, detection rate)] up to the first n whose modelled detection reaches `target`."""
    out = []
    for n in candidates:
        r = simulate(deviations, n, series, injected, slowdown, looks, sims, seed=n)
        out.append((n, r["detected"]))
        if r["detected"] >= target:
            break
    return out
