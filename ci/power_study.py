#!/usr/bin/env python3
"""Development-time power study of the nightly's regression decision (not run by CI).

Runs ci/nightly.sh again and again on real builds of one toolkit twice (an A/A: same
commit, same toolkit, two build folders) and counts, per series-comparison:
  - A/A false alarms: an alert where nothing changed (target <= 0.5 %);
  - detection: an alert on a series made slower on purpose in the second variant,
    through the harness's slowdown injector (MODEBENCH_SLOWDOWN='<glob>=<fraction>,...',
    every timed call of a matching entry takes that fraction longer on the real code
    path), at each --fractions value (targets: >= 90 % at 10 %, >= 50 % at 5 %).
Each rate is printed with the number of comparisons behind it and a 95 % Clopper-Pearson
interval, next to the machine's load and the series' process-to-process noise, and an
estimate of the processes per side that would reach the detection targets at that noise.

Injection trials slow a random share of the series (--inject-share) in the second
variant; the others in those trials are counted as null comparisons too, reported
apart from the pure A/A trials. The nightly's own flags decide (--processes,
--confirm-budget, --confirm-processes), so the study measures what the nightly does.

The rates come with a model of the nightly's decision (ci/power_model.py) fed with the
processes' own measured noise: its first-look rate is printed beside the measured one (the
check that the model is believable), then the processes per side one look needs for each
target at this noise. --analyse DIR...: the same report from earlier studies' trial folders,
without running anything.

Example (the quick profile's cpu series, a few hours on a quiet machine):
  python3 ci/power_study.py --toolkit none --modes cpu --processes 7 \\
      --confirm-budget 600 --aa-trials 10 --inject-trials 10 --work results/power-study
Smallest plumbing check: --aa-trials 1 --inject-trials 1 --processes 2 --ops linear ...
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "report"))

from modebench_report import load, stats  # noqa: E402
from modebench_report.statistical_units import process_medians  # noqa: E402

import power_model  # noqa: E402

TARGETS = {"false_alarm": 0.005, 0.10: 0.90, 0.05: 0.50}  # the targets
POWER_FOR = {0.10: 0.90, 0.05: 0.50}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toolkit", default="none", help="CUDA root or 'none'; built twice (A/A)")
    ap.add_argument("--aa-trials", type=int, default=10, help="nightly runs without injection")
    ap.add_argument("--inject-trials", type=int, default=10, help="nightly runs per injected fraction")
    ap.add_argument("--fractions", default="0.05,0.10", help="injected slowdowns (comma-separated)")
    ap.add_argument("--inject-share", type=float, default=0.2, help="share of the series slowed per injection trial")
    ap.add_argument("--processes", type=int, default=7, help="nightly --processes")
    ap.add_argument("--confirm-budget", type=int, default=0, help="nightly --confirm-budget (seconds)")
    ap.add_argument("--confirm-processes", type=int, help="nightly --confirm-processes")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--ops", help="nightly --ops")
    ap.add_argument("--modes", help="nightly --modes")
    ap.add_argument("--run-args", help="nightly --run-args")
    ap.add_argument("--work", default=os.path.join(ROOT, "results", "power-study"), help="trial folders and builds")
    ap.add_argument("--seed", type=int, default=1, help="which series each injection trial slows")
    ap.add_argument("--model-sims", type=int, default=100, help="synthetic nightly runs per modelled point")
    ap.add_argument("--analyse", nargs="+", metavar="DIR",
                    help="no runs: report on the trial folders (trial-*) of earlier studies in these folders")
    a = ap.parse_args(argv)
    try:
        a.fractions = [float(f) for f in a.fractions.split(",") if f]
    except ValueError:
        ap.error(f"--fractions takes numbers, got '{a.fractions}'")
    if not a.fractions or any(not 0 < f < 10 for f in a.fractions):
        ap.error("--fractions must be positive")
    if a.aa_trials < 1 or a.inject_trials < 0 or a.processes < 1 or not 0 < a.inject_share <= 1:
        ap.error("--aa-trials >= 1, --inject-trials >= 0, --processes >= 1, 0 < --inject-share <= 1")
    return a


def nightly_command(a, out, slowdown=None):
    cmd = ["bash", os.path.join(HERE, "nightly.sh"), "--toolkits", f"{a.toolkit} {a.toolkit}",
           "--processes", str(a.processes), "--profile", a.profile, "--out", out,
           "--builds", os.path.join(a.work, "builds"), "--baseline", os.path.join(a.work, "no-baseline"),
           "--confirm-budget", str(a.confirm_budget), "--no-report"]
    for flag, value in (("--confirm-processes", a.confirm_processes), ("--ops", a.ops), ("--modes", a.modes),
                        ("--run-args", a.run_args)):
        if value:
            cmd += [flag, str(value)]
    if slowdown:
        cmd += ["--candidate-env", "MODEBENCH_SLOWDOWN=" + ",".join(f"{name}={f:g}" for name, f in sorted(slowdown.items()))]
    return cmd


def final_compare(out):
    """The last look's compare document of variant 2 against variant 1, and the first look's."""
    paths = [p for p in glob.glob(os.path.join(out, "compare-*-vs-*.json"))
             if not os.path.basename(p).startswith(("compare-baseline-vs-", "compare-history-vs-"))]
    final = [p for p in paths if ".look" not in os.path.basename(p)]
    if len(final) != 1:
        raise SystemExit(f"power_study: {out}: expected one variant comparison, found {sorted(final)} (see summary.md)")
    first = final[0].replace(".json", ".look1.json")
    with open(final[0]) as f:
        doc = json.load(f)
    look1 = doc
    if os.path.exists(first):
        with open(first) as f:
            look1 = json.load(f)
    return doc, look1


def timed_rows(doc):
    """{series: row} of the series that were measured on both sides."""
    return {r["series"]: r for g in doc["groups"] for r in g["series"] if "ratio" in r}


def run_trial(a, index, kind, slowdown, log):
    out = os.path.join(a.work, f"trial-{index:03d}-{kind}")
    t0 = time.time()
    # Each trial is judged on its own processes: its own empty history store, never the
    # repository's (where earlier trials would become a history baseline).
    env = dict(os.environ, MODEBENCH_HISTORY_DB=os.path.join(out, "history.sqlite"))
    r = subprocess.run(nightly_command(a, out, slowdown), capture_output=True, text=True, env=env)
    seconds = time.time() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"power_study: nightly failed in {out} (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    with open(os.path.join(out, "trial.json"), "w") as f:
        json.dump({"kind": kind, "slowdown": slowdown or {}, "seconds": seconds, "processes": a.processes}, f)
    trial = load_trial(out)
    log(f"trial {index} ({kind}): {len(trial['final'])} series, {trial['alerts']} alert(s), {seconds:.0f} s")
    return trial


def load_trial(out):
    """A trial as the report reads it, from its folder: trial.json (what was injected, how
    long it took), or for folders of studies before it, the injection as summary.md states it."""
    doc, look1 = final_compare(out)
    meta_path = os.path.join(out, "trial.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    else:
        meta = {"kind": os.path.basename(out).split("-", 2)[-1], "slowdown": {}, "seconds": None}
        with open(os.path.join(out, "summary.md")) as f:
            for word in f.read().split():
                if word.startswith("MODEBENCH_SLOWDOWN="):
                    rules = word[len("MODEBENCH_SLOWDOWN="):].split(",")
                    meta["slowdown"] = {r.rsplit("=", 1)[0]: float(r.rsplit("=", 1)[1]) for r in rules}
    return {"out": out, "kind": meta["kind"], "slowdown": meta["slowdown"], "seconds": meta["seconds"],
            "alerts": doc["alerts"], "final": timed_rows(doc), "look1": timed_rows(look1)}


def rate(k, n):
    """(k/n, lo, hi): 95 % Clopper-Pearson interval; None for n = 0."""
    if n == 0:
        return None
    from scipy.stats import beta

    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return k / n, lo, hi


def tally(trials):
    """Counts per outcome, for the final decision and for look 1 alone."""
    out = {}
    for decision in ("final", "look1"):
        counts = {"aa": [0, 0], "null_in_injection": [0, 0]}
        for t in trials:
            for name, row in t[decision].items():
                if name in t["slowdown"]:
                    key = t["slowdown"][name]
                    hit = row["alert"] and row["ratio"] > 1
                else:
                    key = "aa" if t["kind"] == "aa" else "null_in_injection"
                    hit = row["alert"]
                c = counts.setdefault(key, [0, 0])
                c[0] += int(hit)
                c[1] += 1
        out[decision] = counts
    return out


def process_noise(trials):
    """Median over series of the process-to-process robust CV, from the A/A trials' files."""
    cvs = []
    for t in trials:
        if t["kind"] != "aa":
            continue
        folders = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(t["out"], "*", "process-*.json"))})
        for folder in folders:
            procs = load.load_set(folder).processes
            for series in load.group_series(procs).get(procs[0].host, {}).values():
                medians = process_medians(series)
                if len(medians) >= 3:
                    cvs.append(stats.robust_cv(medians))
    return float(sorted(cvs)[len(cvs) // 2]) if cvs else None


def processes_needed(cv, slowdown, power, series, looks, alpha=stats.ALPHA):
    """Approximate processes per side for a Mann-Whitney test to detect `slowdown` with
    `power` at the per-series level BH gives one change among `series` (alpha/looks/series),
    at process noise `cv` (normal theory, Mann-Whitney efficiency 3/pi), and never fewer
    than the exact test needs to reach that level at all. Per side in total: with
    confirmation, the first look's processes plus the extra ones."""
    from scipy.stats import norm

    level = alpha / looks / max(series, 1)
    z = norm.ppf(1 - level / 2) + norm.ppf(power)
    n = math.ceil(2 * (z * cv / math.log1p(slowdown)) ** 2 / (3 / math.pi))
    # Whatever the noise, the exact test needs enough processes to reach that level at all.
    return max(n, next(k for k in range(2, 1000) if stats.min_attainable_p(k, k) <= level))


NULL_OUTCOMES = {"aa": "A/A false alarms", "null_in_injection": "false alarms beside injected series"}


def _describe(key) -> str:
    return NULL_OUTCOMES[key] if key in NULL_OUTCOMES else f"detected at +{key:.0%}"


def _against_target(key, r) -> str:
    """Met or not only where the 95 % interval is on one side of the target; else the
    comparisons are too few to resolve it."""
    _, lo, hi = r
    if key in NULL_OUTCOMES:
        target, met, missed, sign = TARGETS["false_alarm"], hi <= TARGETS["false_alarm"], lo > TARGETS["false_alarm"], "<="
    elif key in TARGETS:
        target, met, missed, sign = TARGETS[key], lo >= TARGETS[key], hi < TARGETS[key], ">="
    else:
        return ""
    word = "met" if met else "NOT met" if missed else "not resolved: more comparisons needed"
    return f"  target {sign} {target:.1%}: {word}"


def report(setup, trials, load_before=None, load_after=None):
    """The study's text and JSON. setup: processes (per side, first look), confirm (words),
    looks, sims (the model's synthetic runs per point)."""
    counts = tally(trials)
    load_words = "load average not recorded" if load_before is None else (
        f"load average {load_before:.2f} before, {load_after:.2f} after")
    lines = [f"power study: {len(trials)} nightly runs, {setup['processes']} processes per side, "
             f"{setup['confirm']}; {load_words}, {os.cpu_count()} CPUs"]
    result = {"trials": len(trials), "processes": setup["processes"], "confirm": setup["confirm"],
              "load_avg_1m": [load_before, load_after], "cpus": os.cpu_count(), "rates": {}}
    for decision, title in (("final", "decision of the nightly"), ("look1", "first look alone")):
        lines.append(f"{title}:")
        for key, (k, n) in sorted(counts[decision].items(), key=lambda kv: str(kv[0])):
            r = rate(k, n)
            if r is None:
                continue
            lines.append(f"  {_describe(key)}: {k} of {n} series-comparisons = {r[0]:.1%} "
                         f"(95% CI {r[1]:.1%}-{r[2]:.1%}){_against_target(key, r)}")
            result["rates"][f"{decision}:{key}"] = {"hits": k, "comparisons": n, "rate": r[0], "ci95": [r[1], r[2]]}
    cv = process_noise(trials)
    result["process_cv"] = cv
    series = max((len(t["final"]) for t in trials), default=0)
    timed = [t["seconds"] for t in trials if t["seconds"]]
    per_process_s = sum(timed) / len(timed) / (2 * setup["processes"]) if timed else None

    def minutes(n):
        if not per_process_s:
            return "run time not recorded"
        return f"~{n * 2 * per_process_s / 60:.1f} min of runs at {per_process_s:.1f} s per process"

    if cv:
        lines.append(f"noise: median process-to-process CV {cv:.1%} over the A/A series; {series} series per run")
        for slowdown, power in sorted(POWER_FOR.items()):
            n = processes_needed(cv, slowdown, power, series, setup["looks"])
            lines.append(f"  normal theory at that CV: +{slowdown:.0%} with {power:.0%} power needs ~{n} processes "
                         f"per side ({minutes(n)})")
            result[f"processes_needed_{slowdown:g}"] = n
    else:
        lines.append("noise: not estimated (fewer than 3 processes per series in the A/A runs)")
    model_text, result["model"] = model_report(setup, trials, counts, series, minutes)
    lines += model_text
    return "\n".join(lines), result


def model_report(setup, trials, counts, series, minutes):
    """The nightly's decision modelled on the measured process noise (ci/power_model.py):
    first checked against the measured first look, then asked how many processes reach
    each target in one look."""
    pool = power_model.noise_pool([t["out"] for t in trials])
    first = pool[power_model.FIRST]
    if len(first) < 100 or not series:
        return [f"model: not run ({len(first)} measured process deviations; 100 needed)"], {}
    share_off = float(np.mean(np.abs(first) > math.log(1.2)))
    lines = [f"model (ci/power_model.py, {setup['sims']} synthetic nightly runs per point) on {len(first)} measured "
             f"process deviations: sd {np.std(first):.1%} of log time, {share_off:.1%} of processes >20 % off their "
             "series' median"]
    if len(pool[power_model.CONFIRM]) >= 100:
        lines.append(f"  confirmation processes (a few series each): sd {np.std(pool[power_model.CONFIRM]):.1%} "
                     f"over {len(pool[power_model.CONFIRM])}")
    injected = sorted(len(t["slowdown"]) for t in trials if t["slowdown"]) or [max(1, round(0.2 * series))]
    injected = injected[len(injected) // 2]
    out = {"deviations": len(first), "sd_log": float(np.std(first)), "share_20pct_off": share_off}
    for key, (k, n) in sorted(counts["look1"].items(), key=lambda kv: str(kv[0])):
        if isinstance(key, float):
            m = power_model.simulate(first, setup["processes"], series, injected, key, setup["looks"], setup["sims"])
            lines.append(f"  check, first look of {setup['processes']} processes, +{key:.0%}: modelled "
                         f"{m['detected']:.1%}, measured {k} of {n} = {k / n:.1%}")
            out[f"check_look1_{key:g}"] = {"modelled": m["detected"], "measured": [k, n]}
    for slowdown, power in sorted(POWER_FOR.items()):
        steps = power_model.processes_for(first, power, slowdown, series, injected, 1, setup["sims"])
        n, reached = steps[-1]
        path = ", ".join(f"{k}: {r:.0%}" for k, r in steps)
        if reached >= power:
            aa = power_model.simulate(first, n, series, 0, 0.0, 1, setup["sims"])
            lines.append(f"  one look of ~{n} processes per side reaches +{slowdown:.0%} at {power:.0%} "
                         f"({minutes(n)}; modelled {path}; A/A false alarms {aa['false_alarms']:.2%} of "
                         f"{aa['comparisons']})")
        else:
            lines.append(f"  +{slowdown:.0%} at {power:.0%} not reached by {n} processes per side (modelled {path})")
        out[f"one_look_{slowdown:g}"] = {"processes": n, "modelled": steps}
    return lines, out


def setup_of(a):
    confirm = (f"confirmation budget {a.confirm_budget} s, at most {a.confirm_processes or a.processes} extra "
               "processes" if a.confirm_budget > 0 else "no confirmation")
    return {"processes": a.processes, "confirm": confirm, "looks": 2 if a.confirm_budget > 0 else 1,
            "sims": a.model_sims}


def analyse(a):
    """The report of earlier studies' trial folders (nothing is run)."""
    outs = sorted(d for root in a.analyse for d in glob.glob(os.path.join(root, "trial-*")) if os.path.isdir(d))
    if not outs:
        raise SystemExit(f"power_study: no trial-* folders in {' '.join(a.analyse)}")
    trials = [load_trial(d) for d in outs]
    first_variant = sorted(glob.glob(os.path.join(outs[0], "*", "process-1.json")))[0]
    processes = len(glob.glob(os.path.join(os.path.dirname(first_variant), "process-[0-9]*.json")))
    looks = 2 if any(glob.glob(os.path.join(d, "compare-*.look1.json")) for d in outs) else 1
    setup = {"processes": processes, "confirm": "confirmation: yes" if looks > 1 else "no confirmation",
             "looks": looks, "sims": a.model_sims}
    text, _ = report(setup, trials)
    print(text)
    return 0


def main(argv=None):
    a = parse_args(argv)
    if a.analyse:
        return analyse(a)
    os.makedirs(a.work, exist_ok=True)
    log = lambda msg: print(f"power_study: {msg}", flush=True)  # noqa: E731
    load_before = os.getloadavg()[0]
    rng = random.Random(a.seed)
    trials = [run_trial(a, 1, "aa", None, log)]
    names = sorted(trials[0]["final"])
    if not names:
        raise SystemExit("power_study: the first A/A run measured no series on both sides")
    plan = ["aa"] * (a.aa_trials - 1) + [f for f in a.fractions for _ in range(a.inject_trials)]
    rng.shuffle(plan)  # injection and A/A runs mixed in time, so drift hits both alike
    for index, kind in enumerate(plan, start=2):
        if kind == "aa":
            trials.append(run_trial(a, index, "aa", None, log))
            continue
        chosen = rng.sample(names, max(1, round(a.inject_share * len(names))))
        trials.append(run_trial(a, index, f"inject{kind:g}", {n: kind for n in chosen}, log))
    text, result = report(setup_of(a), trials, load_before, os.getloadavg()[0])
    print(text)
    with open(os.path.join(a.work, "power-study.json"), "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
