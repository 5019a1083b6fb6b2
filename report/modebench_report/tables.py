"""Rows of the report's tables, computed from one group (no HTML or Markdown here)."""

from __future__ import annotations

import numpy as np

from . import modes, statistical_units
from .limits import limits_for
from .lines import BAND_PROCESSES, BAND_WITHIN, line_points
from .load import Series, label_facts
from .policy import excluded_lines
from .statistical_units import not_enough_runs
from .status import SEVERITY


def matrix(group):
    """The compatibility matrix: (mode columns in the mode table's order, {(op, impl): {mode:
    cell}}); a cell holds the most severe record over cases and batches ("rec"), its
    messages with where each was seen ({message: {case: [batches]}}) and the label
    facts of its ok records."""
    rows: dict = {}
    for (op, case, mode, impl, batch), s in sorted(group.series.items(), key=lambda kv: tuple(map(str, kv[0]))):
        cell = rows.setdefault((op, impl), {}).setdefault(mode, {"rec": None, "messages": {}, "facts": []})
        w = s.worst
        if cell["rec"] is None or SEVERITY[w.status] > SEVERITY[cell["rec"].status]:
            cell["rec"] = w
        if w.status != "ok":
            cell["messages"].setdefault(w.message, {}).setdefault(case, []).append(batch)
        for r in s.ok_records:
            cell["facts"] += [f for f in label_facts(r.label) if f not in cell["facts"]]
    columns = modes.ordered({mode for row in rows.values() for mode in row})
    return columns, rows


def cell_note(cell) -> str:
    """The words behind a matrix cell: each message and where it was seen, or the ok facts."""
    if not cell["messages"]:
        return "; ".join(["ok everywhere"] + cell["facts"])
    def where(cases):
        return ", ".join(f"{case} batch {', '.join(map(str, sorted(bs)))}" for case, bs in sorted(cases.items()))

    return "; ".join(f"{msg} ({where(cases)})" for msg, cases in cell["messages"].items())


def _fmt_time(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} us"


CROSSING_HEAD = ("set", "op/case", "pair", "crossover batch", "95% CI over processes", "resamples",
                 "within-process spread")


def crossing_rows(label, op, case, cs):
    rows = []
    for c in cs:
        a, b, x = c["a"], c["b"], c["x"]
        pair = f"{a[0]}/{a[1]} vs {b[0]}/{b[1]}"
        if x is None:
            rows.append((label, f"{op}/{case}", pair, "none measured", "-", f"ambiguous ({c['agreement']:.0%} agree)", "-"))
            continue
        below = a if x.faster_below == "a" else b
        if x.ci:
            ci = f"[{x.ci[0]:.3g}, {x.ci[1]:.3g}] (n = {x.processes})"
            note = f"ambiguous ({x.agreement:.0%} agree)" if x.ambiguous else f"{x.agreement:.0%} agree"
        else:
            ci, note = not_enough_runs(x.processes), "-"
        spread = f"[{x.within_process[0]:.3g}, {x.within_process[1]:.3g}]" if x.within_process else "-"
        rows.append((label, f"{op}/{case}", pair, f"{x.batch:.3g} ({below[0]}/{below[1]} faster below)", ci, note, spread))
    return rows


def spread_text(point) -> str:
    """The uncertainty of a point of line_points, in words."""
    if point["band"] == BAND_PROCESSES:
        return f"{_fmt_time(point['lo'])} to {_fmt_time(point['hi'])} ({BAND_PROCESSES}, n = {point['processes']})"
    text = not_enough_runs(point["processes"])
    if point["band"] == BAND_WITHIN:
        text += f"; {BAND_WITHIN} {_fmt_time(point['lo'])} to {_fmt_time(point['hi'])}"
    return text


BEST_HEAD = ("op/case", "batch", "fastest", "median time", "spread", "GFLOP/s", "GB/s")


def best_rows(group):
    """Fastest correct line per op/case/batch (lines ever wrong/failed in the op are left out)."""
    rows = []
    for (op, case), lines in sorted(group.cases.items()):
        bad = excluded_lines(group.cases, op)
        batches = sorted({b for bb in lines.values() for b in bb})
        for b in batches:
            cands = []
            for ln, bb in lines.items():
                if b in bb and bb[b].timed and ln not in bad:
                    p = line_points({b: bb[b]})[0]
                    cands.append((p["median"], ln, p))
            if not cands:
                continue
            t, ln, p = min(cands, key=lambda c: c[0])
            peak, bw = limits_for(group.limits, ln[0])
            gf = p["flop"] / t / 1e9 if p["flop"] else None
            gb = p["bytes"] / t / 1e9 if p["bytes"] else None
            rows.append(
                (
                    f"{op}/{case}",
                    b,
                    f"{ln[0]}/{ln[1]}",
                    _fmt_time(t),
                    spread_text(p),
                    f"{gf:.3g}" + (f" ({100 * gf / peak:.0f}% of peak)" if peak else "") if gf else "-",
                    f"{gb:.3g}" + (f" ({100 * gb / bw:.0f}% of bw)" if bw else "") if gb else "-",
                )
            )
    return rows


# Hybrid time split (ms per call); older result files lack it.
SPLIT = ("copy_in_ms", "compute_ms", "copy_out_ms")


def _g3(x):
    """3 significant digits without an exponent (1230, not 1.23e+03); "-" for none."""
    return "-" if x is None else f"{float(f'{x:.3g}'):.15g}"


def _host_mode_ms(group, op, case, batch):
    """The fastest ok host-only impl's median time per call (ms) at a batch, or None."""
    times = [
        float(np.median(statistical_units.process_medians(bb[batch])))
        for ln, bb in group.cases[(op, case)].items()
        if modes.host_only(ln[0]) and batch in bb and bb[batch].timed
    ]
    return min(times) * 1e3 if times else None


def hybrid_rows(group):
    """Per ok hybrid series with the time split: median over processes of each part, the
    transfer share of their sum, and the fastest ok cpu impl's median time at that batch."""
    rows = []
    for (op, case, mode, impl, b), s in sorted(group.series.items(), key=lambda kv: kv[0][:2] + kv[0][3:]):
        if not modes.moves_data_to_host(mode) or not s.timed:
            continue
        parts = [statistical_units.process_medians(s, k) for k in SPLIT]
        if not all(parts):
            continue
        cin, comp, cout = (float(np.median(v)) for v in parts)
        total = cin + comp + cout
        # The share of the medians shown, so the row adds up (not the median of transfer_fraction).
        pct = f"{100 * (cin + cout) / total:.1f}" if total > 0 else "-"
        rows.append((f"{op}/{case}", impl, b, _g3(cin), _g3(comp), _g3(cout), pct, _g3(_host_mode_ms(group, op, case, b))))
    return rows


def _cold(s):
    """The ok records of a series whose entry was the first of its impl in its process; files
    without first_call= in the label are unknown and give none."""
    return Series(s.key, [r for r in s.ok_records if r.label.get("first_call") == "cold"])


def _cold_start_ms(series):
    """Per process: setting the impl up (cudnnFind may load or JIT kernels there) plus its
    first call; files older than setup_ms give the first call alone."""

    def med(r, k):
        return float(np.median(r.counters[k])) if k in r.counters else 0.0

    return [med(r, "setup_ms") + med(r, "first_call_ms") for r in series.ok_records if "first_call_ms" in r.counters]


def first_call_rows(group):
    """Per (op/case, impl) with a cold record in a device mode: the median cold start (setup +
    first call) of the cold records of each mode (over processes and batches), the forced-JIT
    mode's minus the default one's (the JIT cost), and the default mode's median time per call
    (ms) at its smallest cold batch."""
    default, forced = modes.device_modes_by_loading()
    cold: dict = {}  # (op, case, impl) -> {mode: {batch: Series of the cold records}}
    for (op, case, mode, impl, b), s in group.series.items():
        if modes.computes_on_device(mode) and (c := _cold(s)).records:
            cold.setdefault((op, case, impl), {}).setdefault(mode, {})[b] = c
    rows = []
    for (op, case, impl), by_mode in sorted(cold.items()):
        med = {}
        for mode, bb in by_mode.items():
            v = [x for c in bb.values() for x in _cold_start_ms(c)]
            med[mode] = float(np.median(v)) if v else None
        loaded, jitted = med.get(default), med.get(forced)
        steady = None
        series = group.series[(op, case, default, impl, min(by_mode[default]))] if default in by_mode else None
        if series is not None and series.ok_records:
            # All ok records of that series, warm or cold: time per call is steady state either way.
            steady = float(np.median(statistical_units.process_medians(series))) * 1e3
        cost = jitted - loaded if loaded is not None and jitted is not None else None
        rows.append((f"{op}/{case}", impl, _g3(loaded), _g3(jitted), _g3(cost), _g3(steady)))
    return rows
