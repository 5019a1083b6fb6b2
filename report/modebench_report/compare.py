"""Regression verdicts per series (docs/contract.md, "`modebench-report compare`"), and sequential confirmation.

Sequential confirmation (ci/nightly.sh --confirm-budget): the first look marks the
series that are suspicious but not confirmed; they are re-run as extra processes and
a later look decides again on all the data. The false-alarm rate is kept across the
looks by a Bonferroni split of alpha over the planned looks: every look tests at
alpha / looks, so the chance that a series with no change is ever alerted is at most
alpha whatever the looks' correlation. An alert of an earlier look stands.
"""

from __future__ import annotations

import numpy as np

from . import statistical_units
from .load import group_series
from .status import EVIDENCE_AGAINST, NOT_MEASURED  # ok -> EVIDENCE_AGAINST is always an alert (docs/contract.md)
from .stats import ALPHA, BOOTSTRAP, MIN_RATIO, aa_noise, benjamini_hochberg, bootstrap_ratio_ci, mann_whitney_p, rng_for

SCHEMA = "modebench-compare/1"
NOT_MEASURED_VERDICT = "not measured"
# A slower series whose unadjusted p is below this, or whose ratio is beyond its
# threshold, is worth extra processes (screening costs time only, never an alert).
SCREEN_P = 0.05


def _not_measured_processes(series) -> int:
    return sum(r.status in NOT_MEASURED for r in series.records)


def series_name(key) -> str:
    op, case, mode, impl, batch = key
    return f"{op}/{case}/mode:{mode}/impl:{impl}/batch:{batch}"


def _rows(base: dict, cand: dict, alpha: float, min_ratio: float, m: int = 1):
    """Rows of two {series key: Series} maps of one group; timed rows still undecided."""
    rows, timed = [], []
    for key in sorted(set(base) | set(cand), key=lambda k: tuple(map(str, k))):
        a, b = base.get(key), cand.get(key)
        row = {"series": series_name(key), "key": list(key), "alert": False}
        if a is None or b is None:
            present = a or b
            row.update(verdict="new" if a is None else "missing", status=present.status)
            rows.append(row)
            continue
        wa, wb = a.measured_worst, b.measured_worst
        sa, sb = wa.status, wb.status
        row["status_baseline"], row["status_candidate"] = wa.status_text, wb.status_text
        if sa in NOT_MEASURED or sb in NOT_MEASURED:
            # The device was busy or lost before the entry: no measurement, no verdict.
            row.update(verdict=NOT_MEASURED_VERDICT, message=(wb if sb in NOT_MEASURED else wa).message)
            rows.append(row)
            continue
        if sa != sb or wa.status_text != wb.status_text:
            row["verdict"] = f"status: {wa.status_text} -> {wb.status_text}"
            row["alert"] = sa == "ok" and sb in EVIDENCE_AGAINST
            row["message"] = wb.message or wa.message
            rows.append(row)
            continue
        if sa != "ok":
            row.update(verdict="same", status=sa, message=wb.message)
            rows.append(row)
            continue
        skipped = _not_measured_processes(a) + _not_measured_processes(b)
        notes = [f"{skipped} process(es) not measured (busy or not run) left out"] if skipped else []
        contended = len(a.contended_records) + len(b.contended_records)
        if contended:
            notes.append(f"{contended} contended process(es) set aside")
        if notes:
            row["message"] = "; ".join(notes)
        if not a.ok_records or not b.ok_records:
            row.update(verdict="not enough quiet runs", status="ok")
            rows.append(row)
            continue
        # Processes are the unit only if they can reach significance after BH over m series.
        va, vb, unit = statistical_units.units_pair(a, b, alpha / max(m, 1))
        row.update(unit=unit, **measure_pair(va, vb, rng_for(key, "ratio"), alpha, min_ratio))
        rows.append(row)
        timed.append(row)
    return rows, timed


def measure_pair(va, vb, rng, alpha: float = ALPHA, min_ratio: float = MIN_RATIO, bootstrap: int = BOOTSTRAP) -> dict:
    """What decide() needs of one series: the ratio of medians, its interval, the threshold
    a change must pass and the test's p (also the power study's model of the nightly)."""
    ma, mb = float(np.median(va)), float(np.median(vb))
    noise = aa_noise(va, vb)
    # A bootstrap of one or two values is no interval: below MIN_PROCESSES units a side, none.
    ci = None
    if statistical_units.enough_runs(min(len(va), len(vb))):
        ci = list(bootstrap_ratio_ci(va, vb, rng, conf=1 - alpha, n=bootstrap))
    return dict(n_baseline=len(va), n_candidate=len(vb), median_baseline_s=ma, median_candidate_s=mb,
                ratio=mb / ma, ci=ci, threshold=max(min_ratio, noise), aa_noise=noise, p=mann_whitney_p(va, vb))


def decide(timed, alpha: float):
    """Benjamini-Hochberg across the whole suite, then the three criteria."""
    adjusted = benjamini_hochberg([r["p"] for r in timed])
    for r, q in zip(timed, adjusted):
        r["p_adjusted"] = float(q)
        significant = q < alpha
        beyond = abs(r["ratio"] - 1) > r["threshold"]
        ci_excludes = r["ci"] is not None and (r["ci"][0] > 1 or r["ci"][1] < 1)
        if significant and beyond and ci_excludes:
            r["verdict"] = "slower" if r["ratio"] > 1 else "faster"
        elif beyond:
            # A change as large as the threshold that the tests do not confirm.
            r["verdict"] = "ambiguous"
        else:
            r["verdict"] = "same"
        r["alert"] = r["verdict"] == "slower"
        r["weaker"] = r["unit"] == statistical_units.REPETITION


def _timed_count(base: dict, cand: dict) -> int:
    return sum(1 for k in set(base) & set(cand) if base[k].measured_status == "ok" and cand[k].measured_status == "ok")


def compare_groups(base: dict, cand: dict, alpha: float = ALPHA, min_ratio: float = MIN_RATIO):
    """Compare one group (one host / toolkit) on its own."""
    rows, timed = _rows(base, cand, alpha, min_ratio, _timed_count(base, cand))
    decide(timed, alpha)
    return rows


def compare_sets(base_processes, cand_processes, group_of, alpha=ALPHA, min_ratio=MIN_RATIO):
    """All groups (hosts, or host+toolkit) present in either side. Never across groups."""
    gb, gc = group_series(base_processes, group_of), group_series(cand_processes, group_of)
    groups, timed = [], []
    m = sum(_timed_count(gb.get(g, {}), gc.get(g, {})) for g in set(gb) | set(gc))
    for g in sorted(set(gb) | set(gc)):
        rows, t = _rows(gb.get(g, {}), gc.get(g, {}), alpha, min_ratio, m)
        groups.append({"group": g, "series": rows})
        timed += t
    decide(timed, alpha)
    return groups


def exit_code(groups) -> int:
    return 1 if any(r["alert"] for g in groups for r in g["series"]) else 0


def summary_counts(groups) -> dict:
    counts: dict = {}
    for g in groups:
        for r in g["series"]:
            v = "status change" if r["verdict"].startswith("status:") else r["verdict"]
            counts[v] = counts.get(v, 0) + 1
    return counts


def look_alpha(alpha: float, looks: int) -> float:
    """The level every look tests at: a Bonferroni split of alpha over the planned looks."""
    return alpha / looks


def mark_suspicious(groups) -> list:
    """Marks and returns (names of) the slower, unconfirmed series worth more processes."""
    names = []
    for g in groups:
        for r in g["series"]:
            if "ratio" not in r or r["alert"] or r["ratio"] <= 1:
                continue
            if r["ratio"] - 1 > r["threshold"] or r["p"] < SCREEN_P:
                r["suspicious"] = True
                names.append(r["series"])
    return sorted(set(names))


def record_look(groups, look: int, previous: dict = None) -> None:
    """Every alert says at which look it was first raised; alerts of an earlier look
    (previous: that look's compare document) stand, even where this look sees less."""
    before = {}
    if previous:
        before = {(g["group"], r["series"]): r for g in previous["groups"] for r in g["series"] if r.get("alert")}
    for g in groups:
        for r in g["series"]:
            earlier = before.get((g["group"], r["series"]))
            if earlier:
                r["alert"], r["verdict"] = True, earlier["verdict"]
                r["alerted_at_look"] = earlier.get("alerted_at_look", previous.get("look", look - 1))
            elif r["alert"]:
                r["alerted_at_look"] = look


_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")


# Google Benchmark matches its filter against the registered name, which may end in
# /manual_time (or /real_time ...) where the JSON's name does not: the suffix is allowed.
RERUN_PREFIX, RERUN_SUFFIX = "--benchmark_filter=^(", ")(/[a-z_]+)?$"


def rerun_arguments(names) -> str:
    """modebench run arguments that select exactly these series: a Google Benchmark filter
    RERUN_PREFIX + name|name|... + RERUN_SUFFIX over full names
    <op>/<case>/mode:<m>/impl:<i>/batch:<n> (ci/nightly.sh takes the union of several)."""
    escaped = ["".join("\\" + c if c in _REGEX_SPECIAL else c for c in n) for n in names]
    return RERUN_PREFIX + "|".join(escaped) + RERUN_SUFFIX if names else ""
