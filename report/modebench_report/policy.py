"""Fallback policy (modebench-policy/2; docs/contract.md's /1 plus a cost model).

Per op/case: the batch ranges where each available, correct mode/impl is the
fastest by median. Each range says how many processes it rests on; with fewer
than MIN_PROCESSES it is `provisional` and its `confidence` is null. Each excluded
entry has the `status` that excluded it and a `reason`. A mode/impl that was ever `wrong` or `failed` for that op
on the host is excluded, as is one that was never available. Where the CI of a
crossover leaves the winner uncertain, the uncertain batches go to the more
conservative mode (the risk order of modes.py), so the policy only switches to a riskier mode
where it is confidently faster.

/2 adds what an application's reader needs (python/modebench_policy, include/modebench/policy.hpp):
`identity` (the host facts the readers compare), each rule's `shape` (so a reader finds a
measured case from the shape it runs), `models` (costmodel.py: for shapes not measured),
op-wide `excluded` (what the models never choose) and `risks` (the modes' risk order).
"""

from __future__ import annotations

import math

import numpy as np

from . import costmodel, modes, statistical_units
from .cases import shape_of
from .crossover import find_crossings
from .load import by_case
from .status import EVIDENCE_AGAINST, NOT_MEASURED, SEVERITY
from .stats import BOOTSTRAP, bootstrap_medians, rng_for
from modebench_policy.host import identity_from_context  # noqa: E402 (costmodel put the reader on the path)

SCHEMA = "modebench-policy/2"
# An excluded entry's status where every process that ran it ok was contended (contention.py).
CONTENDED = "contended"


def _risk(line):
    return modes.risk(line[0])


def excluded_lines(lines_by_case: dict, op: str):
    """{(mode, impl): {"status", "reason"}} for lines that were ever wrong/failed anywhere in this op."""
    out = {}
    for (o, case), lines in lines_by_case.items():
        if o != op:
            continue
        for line, by_batch in lines.items():
            for batch, s in sorted(by_batch.items()):
                w = s.worst
                if w.status in EVIDENCE_AGAINST and line not in out:
                    out[line] = {"status": w.status, "reason": f"{w.status_text} on {op}/{case} batch {batch}: {w.message}"}
    return out


def _never_ok(by_batch: dict) -> dict:
    """{"status", "reason"}: why a line with no ok batch cannot be chosen: what it reported
    where it ran (e.g. unavailable), else that it was never measured (busy, not run) - no
    evidence against it."""
    worst = [s.measured_worst for s in by_batch.values()]
    ran = [r for r in worst if r.status not in NOT_MEASURED]
    w = max(ran or worst, key=lambda r: SEVERITY[r.status])
    reason = w.message or w.status_text
    return {"status": w.status, "reason": f"not measured: {reason}" if w.status in NOT_MEASURED else reason}


def _candidates_and_exclusions(lines: dict, excluded_op: dict):
    """({line: {batch: units}} of the lines that may be chosen (quiet processes only),
    [excluded entries with reasons], {line: {batch: [median time of each contended process set aside]}})."""
    excluded, candidates = [], {}
    set_aside = {}  # {line: {batch: contended processes set aside}}
    for line, by_batch in sorted(lines.items()):
        if line in excluded_op:
            excluded.append({"mode": line[0], "impl": line[1], **excluded_op[line]})
            continue
        ok = {b: s for b, s in by_batch.items() if s.timed}
        if not ok:
            if any(s.measured_status == "ok" for s in by_batch.values()):
                why = {"status": CONTENDED, "reason": "not measured: every process that ran it was contended (set aside)"}
            else:
                why = _never_ok(by_batch)
            excluded.append({"mode": line[0], "impl": line[1], **why})
            continue
        candidates[line] = {b: statistical_units.process_medians(s) for b, s in ok.items()}
        set_aside[line] = {b: [float(np.median(r.times)) for r in s.contended_records] for b, s in ok.items()}
    return candidates, excluded, set_aside


# Within noise: a line is tied with the fastest at a batch when their ranges over processes
# overlap and its median is less than TIE_RATIO times the fastest's. Tied lines may be chosen
# in its place, so that the policy keeps one choice across batches instead of flipping on noise.
TIE_RATIO = 1.10


def _tie_sets(candidates: dict, batches):
    """Per batch: the fastest line by median (ties to the less risky) first, then the lines tied
    with it (needs enough processes: one process has no noise to be within)."""
    out = []
    for b in batches:
        present = [ln for ln in candidates if b in candidates[ln]]
        med = {ln: float(np.median(candidates[ln][b])) for ln in present}
        order = sorted(present, key=lambda ln: (med[ln], _risk(ln)))
        win = order[0]
        tied = [
            ln
            for ln in order[1:]
            if statistical_units.enough_runs(min(len(candidates[ln][b]), len(candidates[win][b])))
            and med[ln] < TIE_RATIO * med[win]
            and min(candidates[ln][b]) <= max(candidates[win][b])
        ]
        out.append([win] + tied)
    return out


def _stable_choices(tie_sets):
    """Per batch, the line chosen: the current choice is kept while it is tied with the fastest;
    where it is not (and at the first batch), the tied line that stays tied longest is taken
    (then the less risky, then the fastest). Choosing the longest-lasting line at each switch
    gives the fewest switches."""
    def lasts(ln, i):
        j = i
        while j < len(tie_sets) and ln in tie_sets[j]:
            j += 1
        return j - i

    chosen = []
    for i, tied in enumerate(tie_sets):
        if chosen and chosen[-1] in tied:
            chosen.append(chosen[-1])
        else:
            chosen.append(max(tied, key=lambda ln: (lasts(ln, i), -_risk(ln), -tied.index(ln))))
    return chosen


def _winners(op, case, candidates: dict, batches, n_boot):
    """Per batch: the line chosen (the fastest by median, or a line tied with it: _stable_choices),
    the share of bootstrap resamples over processes in which it is the fastest or within
    TIE_RATIO of it (None without enough runs), and the fewest processes of any line compared there."""
    winners = _stable_choices(_tie_sets(candidates, batches))
    shares, processes = [], []
    for b, win in zip(batches, winners):
        present = [ln for ln in candidates if b in candidates[ln]]
        n = min(len(candidates[ln][b]) for ln in present)
        share = None
        if statistical_units.enough_runs(n):
            boot = np.stack([bootstrap_medians(candidates[ln][b], rng_for(op, case, ln, b), n_boot) for ln in present])
            share = float(np.mean(boot[present.index(win)] <= TIE_RATIO * np.min(boot, axis=0)))
        shares.append(share)
        processes.append(n)
    return winners, shares, processes


def _margins(candidates: dict, batches, run) -> dict:
    """What a range's choice buys at each of its measured batches: its median (ms), and the
    runner-up with the choice's speedup over it (< 1: slower there, within noise)."""
    line = run["line"]
    median_ms, runner_up = {}, []
    for i in range(run["first"], run["last"] + 1):
        b = batches[i]
        mine = float(np.median(candidates[line][b]))
        median_ms[str(b)] = round(mine * 1e3, 6)
        others = [(float(np.median(candidates[ln][b])), ln) for ln in candidates if ln != line and b in candidates[ln]]
        if others:
            best, ln = min(others, key=lambda x: (x[0], _risk(x[1])))
            runner_up.append({"batch": b, "mode": ln[0], "impl": ln[1], "speedup": round(best / mine, 3)})
    return {"median_ms": median_ms, "runner_up": runner_up}


def _under_load(loaded: dict, run, batches):
    """Where the choice holds only on a quiet machine: the line that was fastest in the contended
    processes set aside at the range's batches, when that is not the choice and beat it by more
    than noise ({"mode", "impl", "speedup", "slowdown_choice", "slowdown_other"}: its lead under
    load, and how much each slowed down against its quiet median); None otherwise."""
    line = run["line"]
    worst = None
    for b in batches[run["first"] : run["last"] + 1]:
        mine = loaded.get(line, {}).get(b)
        if not mine:
            continue
        others = [(float(np.median(v[b])), ln) for ln, v in loaded.items() if ln != line and v.get(b)]
        if not others:
            continue
        best, ln = min(others)
        lead = float(np.median(mine)) / best
        if lead > TIE_RATIO and (worst is None or lead > worst["speedup"]):
            worst = {"mode": ln[0], "impl": ln[1], "batch": b, "speedup": round(lead, 3)}
    return worst


def _runs(winners):
    """Runs of consecutive batches (indices) with the same winner."""
    runs = []
    for i, w in enumerate(winners):
        if runs and runs[-1]["line"] == w:
            runs[-1]["last"] = i
        else:
            runs.append({"line": w, "first": i, "last": i})
    return runs


def _threshold(op, case, candidates, batches, run, nxt, n_boot) -> float:
    """The batch where `run`'s winner hands over to `nxt`'s, on the safe side of the
    crossover's CI: the uncertain interval goes to the less risky line."""
    b1, b2 = batches[run["last"]], batches[nxt["first"]]
    w1, w2 = run["line"], nxt["line"]
    lo, hi = float(b1), float(b2)
    common = sorted(set(candidates[w1]) & set(candidates[w2]))
    if len(common) >= 2:
        xs, _ = find_crossings(
            {b: candidates[w1][b] for b in common},
            {b: candidates[w2][b] for b in common},
            rng_for(op, case, w1, w2),
            n_boot,
        )
        # The crossing nearest this boundary; its CI may reach past the measured bracket.
        # Without a CI (not enough runs) the measured bracket stands.
        near = [x for x in xs if x.ci and not x.ambiguous and x.between[1] >= b1 and x.between[0] <= b2]
        if near:
            x = min(near, key=lambda x: abs(math.log(x.batch) - math.log(math.sqrt(b1 * b2))))
            lo = max(x.ci[0], batches[run["first"]])
            hi = min(x.ci[1], batches[nxt["last"]])
    return hi if _risk(w2) >= _risk(w1) else lo


def _ranges(runs, bounds, shares, processes, margins):
    """The policy's ranges. A range rests on its own batches and the batch on either side
    of it (where its thresholds are): with fewer than MIN_PROCESSES processes anywhere
    there it is provisional and has no confidence."""
    ranges = []
    for i, r in enumerate(runs):
        first, last = max(r["first"] - 1, 0), min(r["last"] + 1, len(processes) - 1)
        n = min(processes[first : last + 1])
        own = shares[r["first"] : r["last"] + 1]
        provisional = not statistical_units.enough_runs(n) or None in own
        ranges.append(
            {
                "batch_min": 1 if i == 0 else bounds[i - 1] + 1,
                "batch_max": bounds[i] if i < len(bounds) else None,
                "mode": r["line"][0],
                "impl": r["line"][1],
                "confidence": None if provisional else round(min(own), 3),
                "provisional": provisional,
                "processes": n,
                **margins[i],
            }
        )
    return ranges


def rule_for(op, case, lines: dict, excluded_op: dict, n_boot: int = BOOTSTRAP):
    candidates, excluded, set_aside = _candidates_and_exclusions(lines, excluded_op)
    # knn's cases share the empty shape: found by name only.
    rule = {"op": op, "case": case, "shape": costmodel.normalize(op, shape_of(op, case)) if shape_of(op, case) else None, "ranges": [], "excluded": excluded}
    if not candidates:
        return rule
    batches = sorted({b for v in candidates.values() for b in v})
    rule["measured_batches"] = batches
    winners, shares, processes = _winners(op, case, candidates, batches, n_boot)
    runs = _runs(winners)
    bounds = []  # batch_max of each run but the last
    for run, nxt in zip(runs, runs[1:]):
        t = _threshold(op, case, candidates, batches, run, nxt, n_boot)
        bounds.append(max(int(math.floor(t)), bounds[-1] + 1 if bounds else 1))
    rule["ranges"] = _ranges(runs, bounds, shares, processes, [_margins(candidates, batches, r) for r in runs])
    for r, run in zip(rule["ranges"], runs):
        # Contended processes set aside where the range rests (its batches and either side).
        near = batches[max(run["first"] - 1, 0) : run["last"] + 2]
        r["contended_set_aside"] = max(len(set_aside[ln].get(b, ())) for ln in candidates for b in near)
        loaded = _under_load(set_aside, run, batches)
        if loaded:
            r["under_load"] = loaded
    return rule


def host_facts(context: dict, key: str) -> dict:
    keep = ("cpu_model", "blas", "host_gpus", "nvidia_driver", "device_name", "device_cc", "cuda_driver",
            "cuda_toolkit", "git_sha")
    return {"key": key, **{k: context[k] for k in keep if k in context}}


def op_exclusions(cases: dict, op: str) -> list:
    """The mode/impls of an op that no shape of it may use (what the cost model never
    chooses): ever wrong or failed on any case, or never ok anywhere (unavailable, not
    measured), each with its status and reason."""
    against = excluded_lines(cases, op)
    out = []
    for line in sorted({ln for (o, _), ls in cases.items() if o == op for ln in ls}):
        if line in against:
            out.append({"op": op, "mode": line[0], "impl": line[1], **against[line]})
            continue
        every = {(c, b): s for (o, c), ls in cases.items() if o == op and line in ls for b, s in ls[line].items()}
        if not any(s.measured_status == "ok" for s in every.values()):
            out.append({"op": op, "mode": line[0], "impl": line[1], **_never_ok(every)})
    return out


def rules(series_map: dict) -> list:
    """One rule per op/case of one host/toolkit group's series."""
    cases = by_case(series_map)
    return [rule_for(op, case, lines, excluded_lines(cases, op)) for (op, case), lines in sorted(cases.items())]


def build_policy(series_map: dict, context: dict, key: str) -> dict:
    cases = by_case(series_map)
    ops = sorted({op for op, _ in cases})
    return {
        "schema": SCHEMA,
        "host": host_facts(context, key),
        "identity": identity_from_context(context),
        "risks": {m.name: m.risk for m in modes.MODES},
        "rules": rules(series_map),
        "models": costmodel.models(cases, {op: excluded_lines(cases, op) for op in ops}),
        "excluded": [e for op in ops for e in op_exclusions(cases, op)],
    }


def group_policy(group) -> dict:
    """The /2 policy of one report group (computed once per group: the verdict, the model
    tables and "what the policy would do" all read it)."""
    if getattr(group, "_policy", None) is None:
        group._policy = build_policy(group.series, group.processes[0].context, group.label)
    return group._policy
