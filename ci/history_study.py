#!/usr/bin/env python3
"""How many nights of history find a step, and how often history alarms on nothing: the
history page's change-point detection (report/modebench_report/history.py: E-Divisive means,
Apache Otava) on synthetic nightly histories whose per-process noise is resampled from
measured deviations (ci/power_model.py's pools, heavy tails kept).

  python3 ci/history_study.py [--pool NIGHTLY_DIR ...] [--processes 7] [--sims 200]
  python3 ci/history_study.py --perf DIR   # the store's timings: ingest, one series, the page

Without --pool the deviations are a mixture fitted to the figures this box measured (README
"Nightly": process CV ~11 %, about one process in ten more than 20 % off its series' median),
since the measured pools are not committed. A development-time study, not CI: its logic is
tested small in ci/tests/test_history_study.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))

from modebench_report import history  # noqa: E402

NIGHTLY_PROCESSES = 7  # ci/nightly.sh --processes default


def mixture_pool(size=20000, seed=0):
    """Log deviations: 80 % N(0, 0.05), 20 % N(0, 0.30) (about 11 % of processes > 20 % off)."""
    rng = np.random.default_rng(seed)
    wide = rng.random(size) < 0.2
    return np.where(wide, rng.normal(0, 0.30, size), rng.normal(0, 0.05, size))


def night_values(rng, pool, nights, processes, step_at=None, step=0.0):
    """[[process values]] per night of one series: exp(deviation), times (1 + step) from step_at."""
    out = []
    for n in range(nights):
        scale = (1 + step) if step_at is not None and n >= step_at else 1.0
        out.append(list(np.exp(rng.choice(pool, processes)) * scale))
    return out


def medians(nights):
    return [float(np.median(v)) for v in nights]


def found_at(values, step_at, slack=1):
    """Whether a change point lies within slack nights of step_at."""
    return any(abs(i - step_at) <= slack for i, _, _ in history.change_points(values))


def nights_to_detect(pool, step, processes, sims, before=30, horizon=30, target=0.9, seed=1):
    """(nights after the step by which `target` of the sims have it found, [share found by night k]).
    Each night the whole history is analysed again, as the nightly's history page does."""
    rng = np.random.default_rng(seed)
    first = []
    for _ in range(sims):
        nights = medians(night_values(rng, pool, before + horizon, processes, before, step))
        k = next((k for k in range(1, horizon + 1) if found_at(nights[: before + k], before)), None)
        first.append(k)
    share = [sum(1 for k in first if k is not None and k <= n) / sims for n in range(1, horizon + 1)]
    reach = next((n + 1 for n, s in enumerate(share) if s >= target), None)
    return reach, share


def false_alarms(pool, processes, sims, nights=60, seed=2):
    """Change points found in step-free histories, per 1 000 series-nights."""
    rng = np.random.default_rng(seed)
    found = sum(len(history.change_points(medians(night_values(rng, pool, nights, processes)))) for _ in range(sims))
    return 1000.0 * found / (sims * nights), found


# ---------------------------------------------------------------- synthetic result files
def write_run(folder, night, names, values, host="synthetic-cpu", toolkit="none", git="synthetic"):
    """One run folder of Google Benchmark JSON process files, as modebench writes them:
    values[i][p] is series names[i]'s seconds per call in process p."""
    os.makedirs(folder, exist_ok=True)
    processes = len(values[0])
    for p in range(processes):
        doc = {"context": {"date": f"2026-01-01T00:00:00+00:00#{night:05d}", "cpu_model": host, "blas": "synthetic BLAS",
                           "cuda_toolkit": toolkit, "cuda_driver": "none", "device_name": "none", "git_sha": git},
               "benchmarks": [{"name": n, "run_type": "iteration", "real_time": values[i][p] * 1e6, "time_unit": "us",
                               "iterations": 1} for i, n in enumerate(names)]}
        with open(os.path.join(folder, f"process-{p + 1}.json"), "w") as f:
            json.dump(doc, f)


def series_names(count):
    return [f"linear/case_{i // 4}/mode:cpu/impl:impl{i % 4}/batch:1" for i in range(count)]


def synthetic_history(root, nights, series, processes, stepped=(), step_at=None, step=0.10, pool=None, seed=3):
    """Run folders root/night-NNN of `series` series; the series indices in `stepped` slow by
    `step` from night step_at on. Returns the folders, oldest first."""
    pool = mixture_pool() if pool is None else pool
    rng = np.random.default_rng(seed)
    names = series_names(series)
    per_series = [night_values(rng, pool, nights, processes, step_at if i in stepped else None, step)
                  for i in range(series)]
    folders = []
    for n in range(nights):
        folder = os.path.join(root, f"night-{n:03d}")
        write_run(folder, n, names, [[1e-3 * v for v in per_series[i][n]] for i in range(series)],
                  git=f"c{n // 10}")
        folders.append(folder)
    return folders


def perf(root, db_url=None, runs=1000, series=500, processes=3):
    """Timings of the store at the acceptance's size: the last ingest, one series' history, the page."""
    from modebench_report import store

    db_url = db_url or os.path.join(root, "perf.sqlite")
    t = time.time()
    folders = synthetic_history(os.path.join(root, "runs"), runs, series, processes, stepped=(0, 1, 2), step_at=runs - 20)
    made = time.time() - t
    db = store.Store(db_url)
    t = time.time()
    for k in range(0, runs - 1, 50):  # ingest in batches of 50 runs (one transaction each)
        db.ingest([store.load_run(f) for f in folders[k: min(k + 50, runs - 1)]])
    bulk = time.time() - t
    t = time.time()
    db.ingest([store.load_run(folders[-1])])
    one = time.time() - t
    sid = db.series_list()[0][0]
    t = time.time()
    for _ in range(20):
        rows = db.series_history(sid)
    query = (time.time() - t) / 20
    t = time.time()
    page = history.build(db)
    page_s = time.time() - t
    return {"counts": db.counts(), "write_files_s": made, "bulk_ingest_s": bulk, "ingest_one_run_s": one,
            "one_series_query_s": query, "one_series_rows": len(rows), "page_s": page_s, "page": page.summary}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", nargs="*", help="nightly output folders to take the deviations from (power_model.noise_pool)")
    ap.add_argument("--processes", type=int, default=NIGHTLY_PROCESSES)
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--steps", type=float, nargs="*", default=[0.05, 0.10], help="step sizes (default 0.05 0.10)")
    ap.add_argument("--perf", help="folder for the performance run (1 000 runs x 500 series)")
    ap.add_argument("--db", help="store URL for --perf (default a SQLite file in the folder)")
    a = ap.parse_args()
    if a.perf:
        print(json.dumps(perf(a.perf, a.db), indent=2))
        return
    if a.pool:
        sys.path.insert(0, HERE)
        import power_model

        pool = power_model.noise_pool(a.pool)[power_model.FIRST]
    else:
        pool = mixture_pool()
    print(f"pool: {len(pool)} deviations, share > 20 % off: {np.mean(np.abs(pool) > np.log(1.2)):.1%}; "
          f"{a.processes} processes per night, {a.sims} simulated histories each")
    for step in a.steps:
        reach, share = nights_to_detect(pool, step, a.processes, a.sims)
        print(f"+{step:.0%}: found in 90 % of histories after {reach or f'more than {len(share)}'} night(s); "
              "share found by night " + ", ".join(f"{k}: {share[k - 1]:.2f}" for k in (1, 2, 3, 4, 5, 7, 10, 15, 20, 30)))
    rate, found = false_alarms(pool, a.processes, a.sims)
    print(f"no step: {found} change point(s) in {a.sims} histories x 60 nights = {rate:.2f} per 1 000 series-nights")


if __name__ == "__main__":
    main()
