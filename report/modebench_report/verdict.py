"""The policy in plain words: per op, which mode/impl to use at which batch sizes, and
which modes/impls not to use here and why."""

from __future__ import annotations

from . import modes
from .policy import CONTENDED, TIE_RATIO, group_policy
from .statistical_units import not_enough_runs
from .status import SEVERITY

# What an excluded status means for whoever reads the verdict.
_MEANING = {
    "wrong": "do not use: gave wrong results",
    "failed": "do not use: fails here",
    "unavailable": "not available here",
    "busy": "not measured: the device was busy (another process held it)",
    "not_run": "not measured: the device was lost before it ran",
    "contended": "not measured quietly",
}


def _batches(r) -> str:
    if r["batch_max"] is None:
        return f"batch {r['batch_min']} and up" if r["batch_min"] > 1 else "every batch"
    if r["batch_min"] == r["batch_max"]:
        return f"batch {r['batch_min']}"
    return f"batch {r['batch_min']}–{r['batch_max']}"


def _certainty(r) -> str:
    if r["provisional"]:
        return f"provisional: {not_enough_runs(r['processes'], r.get('contended_set_aside', 0))}"
    return f"confidence {r['confidence']:.2f} over {r['processes']} processes"


def _ms(x: float) -> str:
    return f"{x:.3g}"


def _what_it_buys(r) -> str:
    """ "0.6–4.1 ms, 1.6–2.3× faster than cpu/im2col": the choice's time over its measured
    batches and its lead over the runner-up there; a lead within noise is called a tie."""
    times = list((r.get("median_ms") or {}).values())
    parts = []
    if times:
        lo, hi = _ms(min(times)), _ms(max(times))
        parts.append(f"{lo} ms" if lo == hi else f"{lo}–{hi} ms")
    ups = r.get("runner_up") or []
    if ups:
        others = ", ".join(dict.fromkeys(f"{u['mode']}/{u['impl']}" for u in ups))
        lo, hi = min(u["speedup"] for u in ups), max(u["speedup"] for u in ups)
        ties = [str(u["batch"]) for u in ups if u["speedup"] < TIE_RATIO]
        if hi < TIE_RATIO:
            parts.append(f"tied with {others} within noise")
        elif ties:
            parts.append(f"up to {hi:.2g}× faster than {others} (within noise of it at batch {', '.join(ties)})")
        else:
            parts.append(f"{lo:.2g}× faster than {others}" if f"{lo:.2g}" == f"{hi:.2g}" else f"{lo:.2g}–{hi:.2g}× faster than {others}")
    load = r.get("under_load")
    if load:
        parts.append(
            f"but under load {load['mode']}/{load['impl']} was {load['speedup']:.2g}× faster (batch {load['batch']}): "
            "this choice holds on a quiet machine"
        )
    return ", ".join(parts)


def case_sentence(rule) -> str:
    if not rule["ranges"]:
        excluded = rule.get("excluded", [])
        if excluded and all(x.get("status") == CONTENDED for x in excluded):
            return f"{rule['case']}: not enough quiet runs (n = 0): every process was contended (set aside)."
        return f"{rule['case']}: no mode/impl gave a correct result."
    parts = []
    for r in rule["ranges"]:
        buys = _what_it_buys(r)
        parts.append(f"{r['mode']}/{r['impl']} at {_batches(r)}" + (f": {buys}" if buys else "") + f" ({_certainty(r)})")
    return f"{rule['case']}: use " + "; ".join(parts) + "."


def exclusion_sentences(op_rules) -> list:
    """One sentence per reason an op's modes/impls are excluded for (each mode/impl's most
    severe reason over the cases), naming them."""
    worst: dict = {}
    for rule in op_rules:
        for e in rule["excluded"]:
            line = (e["mode"], e["impl"])
            if line not in worst or SEVERITY.get(e["status"], 0) > SEVERITY.get(worst[line]["status"], 0):
                worst[line] = e
    order = sorted(worst.items(), key=lambda kv: (-SEVERITY.get(kv[1]["status"], 0), modes.risk(kv[0][0]), kv[0]))
    # Those excluded for the same reason share one sentence (a box without a GPU has dozens).
    by_reason: dict = {}
    for (m, i), e in order:
        by_reason.setdefault((e["status"], e["reason"]), []).append(f"{m}/{i}")
    return [f"{', '.join(names)}: {_MEANING.get(status, status)} ({reason})." for (status, reason), names in by_reason.items()]


def op_verdicts(group) -> list:
    """[(op, [sentences])] of one group: a sentence per case, then one per excluded mode/impl."""
    by_op: dict = {}
    for rule in group_policy(group)["rules"]:
        by_op.setdefault(rule["op"], []).append(rule)
    return [(op, [case_sentence(r) for r in rs] + exclusion_sentences(rs)) for op, rs in sorted(by_op.items())]
