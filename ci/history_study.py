#!/usr/bin/env python3
"""How many nights of history find a step, and how often history alarms on nothing: the
history page's change-point detection (report/modebench_report/history.py: E-Divisive means,
Apache Otava) on synthetic nightly histories whose per-process noise is resampled from
measured deviations (ci/power_model.py's pools, heavy tails kept).

  python3 ci/history_study.py [--pool NIGHTLY_DIR ...] [--processes 7 [14 ...]] [--slack 1 3] [--sims 200]
  python3 ci/history_study.py --perf DIR [--postgres]   # the store's timings: ingest, one series, the page

A step counts as found when a change point lies within --slack nights of it; false alarms are
counted in each step-free history analysed once, and as the nightly alerts them (the history
analysed again every night, each new point counted once). --postgres makes a throwaway cluster
as the store's tests do (report/tests/pg_cluster.py).

Without --pool the deviations are a mixture fitted to the figures this box measured (README
"Nightly": process CV ~11 %, about one process in ten more than 20 % off its series' median),
since the measured pools are not committed. A development-time study, not CI: its logic is
tested small in ci/tests/test_history_study.py.
"""

from __future__ import annotations

import argparse
import glob
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


def nights_to_detect(pool, step, processes, sims, before=30, horizon=30, target=0.9, seed=1, slack=1):
    """(nights after the step by which `target` of the sims have it found, [share found by night k]).
    Each night the whole history is analysed again, as the nightly's history page does; found
    means a change point within `slack` nights of the step."""
    rng = np.random.default_rng(seed)
    first = []
    for _ in range(sims):
        nights = medians(night_values(rng, pool, before + horizon, processes, before, step))
        k = next((k for k in range(1, horizon + 1) if found_at(nights[: before + k], before, slack)), None)
        first.append(k)
    share = [sum(1 for k in first if k is not None and k <= n) / sims for n in range(1, horizon + 1)]
    reach = next((n + 1 for n, s in enumerate(share) if s >= target), None)
    return reach, share


def false_alarms(pool, processes, sims, nights=60, seed=2, nightly=False):
    """Change points found in step-free histories, per 1 000 series-nights: in the whole history
    analysed once, or (nightly) each night's new ones as the nightly's page would alert them,
    the history analysed again every night from night 8 on."""
    rng = np.random.default_rng(seed)
    found = 0
    for _ in range(sims):
        values = medians(night_values(rng, pool, nights, processes))
        if not nightly:
            found += len(history.change_points(values))
            continue
        seen: set = set()
        for k in range(8, nights + 1):
            points = {i for i, _, _ in history.change_points(values[:k])}
            found += len(points - seen)
            seen |= points
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


def _timed(f, *args, **kw):
    """(f's result, wall s); the CPU s of this process and its finished children go to CPU[-1]."""
    import resource

    def cpu():
        return time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), k)
                                         for k in ("ru_utime", "ru_stime"))

    t, c = time.perf_counter(), cpu()
    out = f(*args, **kw)
    CPU.append(cpu() - c)
    return out, time.perf_counter() - t


CPU: list = []


def _cli_ingest(folder, db_url):
    """(wall s, CPU s) of `modebench-report ingest FOLDER --db URL` in a process of its own."""
    import resource
    import subprocess

    cli = os.path.join(os.path.dirname(HERE), "report", "modebench-report")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, cli, "ingest", folder, "--db", db_url], check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def perf(root, db_url=None, runs=1000, series=500, processes=3):
    """Timings of the store at the acceptance's size: the newest run's ingest (through the CLI),
    one series' history, and the page: cold (nothing kept), again (every series' points kept),
    and after one more night (every series analysed again). Wall and CPU seconds (this process
    and the page's worker processes)."""
    import sqlalchemy as sa

    from modebench_report import store

    db_url = db_url or os.path.join(root, "perf.sqlite")
    made = 0.0
    folders = sorted(glob.glob(os.path.join(root, "runs", "night-*")), key=lambda f: int(f.rsplit("-", 1)[1]))
    if len(folders) != runs + 1:  # (the same seed writes the same files: an earlier run's are kept)
        folders, made = _timed(synthetic_history, os.path.join(root, "runs"), runs + 1, series, processes,
                               stepped=(0, 1, 2), step_at=runs - 20)
    db = store.Store(db_url)
    t = time.perf_counter()
    for k in range(0, runs - 1, 50):  # ingest in batches of 50 runs (one transaction each)
        db.ingest([store.load_run(f) for f in folders[k: min(k + 50, runs - 1)]])
    bulk = time.perf_counter() - t
    cli_wall, cli_cpu = _cli_ingest(folders[runs - 1], db_url)  # the 1 000th run
    sid = db.series_list()[0][0]
    fresh = store.Store(db_url, write=False)
    rows, first_query = _timed(fresh.series_history, sid)  # a new Store: its connection is opened here
    t = time.perf_counter()
    for _ in range(20):
        rows = fresh.series_history(sid)
    query = (time.perf_counter() - t) / 20
    _, plain_first = _timed(store.Store(db_url, write=False).series_history, sid)
    with db.engine.begin() as c:  # nothing cached: the first page after the upgrade
        c.execute(sa.text("DELETE FROM series_points"))
    stats: dict = {}
    counts = db.counts()
    cold, cold_s = _timed(history.build, db, stats=stats)
    cold_cpu, cold_stats = CPU[-1], dict(stats)
    again, again_s = _timed(history.build, db, stats=stats)
    again_cpu, again_stats = CPU[-1], dict(stats)
    db.ingest([store.load_run(folders[runs])])  # one more night
    night, night_s = _timed(history.build, db, stats=stats)
    night_cpu, night_stats = CPU[-1], dict(stats)
    return {"db": store.redact(store.resolve_url(db_url)), "counts_at_page": counts, "counts_after": db.counts(),
            "write_files_s": made, "bulk_ingest_s": bulk,
            "ingest_run_cli_wall_s": cli_wall, "ingest_run_cli_cpu_s": cli_cpu,
            "one_series_rows": len(rows), "one_series_first_query_s": first_query,
            "one_series_query_s": query, "one_series_query_new_store_s": plain_first,
            "page_cold_s": cold_s, "page_cold_cpu_s": cold_cpu, "page_cold": cold_stats,
            "page_again_s": again_s, "page_again_cpu_s": again_cpu, "page_again": again_stats,
            "page_next_night_s": night_s, "page_next_night_cpu_s": night_cpu, "page_next_night": night_stats,
            "page": night.summary}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", nargs="*", help="nightly output folders to take the deviations from (power_model.noise_pool)")
    ap.add_argument("--processes", type=int, nargs="+", default=[NIGHTLY_PROCESSES], help="processes a night (several: each)")
    ap.add_argument("--slack", type=int, nargs="+", default=[1, 3],
                    help="a step counts as found by a change point within this many nights of it (default 1 3)")
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--steps", type=float, nargs="*", default=[0.05, 0.10], help="step sizes (default 0.05 0.10)")
    ap.add_argument("--perf", help="folder for the performance run (1 000 runs x 500 series)")
    ap.add_argument("--db", help="store URL for --perf (default a SQLite file in the folder)")
    ap.add_argument("--postgres", action="store_true", help="--perf on a throwaway PostgreSQL cluster (as the tests make)")
    ap.add_argument("--runs", type=int, default=1000, help="--perf: runs (default 1 000)")
    ap.add_argument("--series", type=int, default=500, help="--perf: series (default 500)")
    a = ap.parse_args()
    if a.perf:
        if a.postgres:
            sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report", "tests"))
            import pg_cluster

            with pg_cluster.throwaway_cluster(port=5449) as (url, _, _):
                print(json.dumps(perf(a.perf, url, a.runs, a.series), indent=2))
        else:
            print(json.dumps(perf(a.perf, a.db, a.runs, a.series), indent=2))
        return
    if a.pool:
        sys.path.insert(0, HERE)
        import power_model

        pool = power_model.noise_pool(a.pool)[power_model.FIRST]
    else:
        pool = mixture_pool()
    print(f"pool: {len(pool)} deviations, share > 20 % off: {np.mean(np.abs(pool) > np.log(1.2)):.1%}; "
          f"{a.sims} simulated histories each (30 step-free nights, then the step)")
    for processes in a.processes:
        for step in a.steps:
            for slack in a.slack:
                reach, share = nights_to_detect(pool, step, processes, a.sims, slack=slack)
                print(f"{processes} processes a night, +{step:.0%}, a point within {slack} night(s) of the step: 90 % "
                      f"after {reach or f'more than {len(share)}'} night(s); share found by night "
                      + ", ".join(f"{k}: {share[k - 1]:.2f}" for k in (1, 3, 5, 7, 10, 15, 20, 25, 30)), flush=True)
        rate, found = false_alarms(pool, processes, a.sims)
        nightly, new = false_alarms(pool, processes, a.sims, nightly=True)
        print(f"{processes} processes a night, no step: {found} change point(s) in {a.sims} histories x 60 nights = "
              f"{rate:.2f} per 1 000 series-nights; as alerted night by night: {new} = {nightly:.2f} per 1 000", flush=True)

if __name__ == "__main__":
    main()
