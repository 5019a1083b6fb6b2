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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "report"))

from modebench_report import load, stats  # noqa: E402
from modebench_report.statistical_units import process_medians  # noqa: E402

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
    paths = [p for p in glob.glob(os.path.join(out, "compare-*-vs-*.json")) if "baseline-vs-" not in os.path.basename(p)]
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
    r = subprocess.run(nightly_command(a, out, slowdown), capture_output=True, text=True)
    seconds = time.time() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"power_study: nightly failed in {out} (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    doc, look1 = final_compare(out)
    log(f"trial {index} ({kind}): {len(timed_rows(doc))} series, {doc['alerts']} alert(s), {seconds:.0f} s")
    return {"out": out, "kind": kind, "slowdown": slowdown or {}, "seconds": seconds,
            "final": timed_rows(doc), "look1": timed_rows(look1)}


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


def report(a, trials, load_before, load_after):
    counts = tally(trials)
    lines = [f"power study: {len(trials)} nightly runs, {a.processes} processes per side, "
             f"confirmation budget {a.confirm_budget} s; load average {load_before:.2f} before, {load_after:.2f} after, "
             f"{os.cpu_count()} CPUs"]
    result = {"trials": len(trials), "processes": a.processes, "confirm_budget": a.confirm_budget,
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
    if cv:
        per_process_s = sum(t["seconds"] for t in trials) / len(trials) / (2 * a.processes)
        lines.append(f"noise: median process-to-process CV {cv:.1%} over the A/A series; {series} series per run")
        looks = 2 if a.confirm_budget > 0 else 1
        for slowdown, power in sorted(POWER_FOR.items()):
            n = processes_needed(cv, slowdown, power, series, looks)
            lines.append(f"  to detect +{slowdown:.0%} with {power:.0%} power: ~{n} processes per side "
                         f"(~{n * 2 * per_process_s / 60:.1f} min of runs at {per_process_s:.1f} s per process)")
            result[f"processes_needed_{slowdown:g}"] = n
    else:
        lines.append("noise: not estimated (fewer than 3 processes per series in the A/A runs)")
    return "\n".join(lines), result


def main(argv=None):
    a = parse_args(argv)
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
    text, result = report(a, trials, load_before, os.getloadavg()[0])
    print(text)
    with open(os.path.join(a.work, "power-study.json"), "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
