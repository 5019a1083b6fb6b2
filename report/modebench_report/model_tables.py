"""Rows of the report's cost-model and policy tables (no HTML here): how well the cost
model predicts cases it did not see, the crossovers it predicts for a held-out case
against the measured ones, and what the policy would do for a few common shapes.
"""

from __future__ import annotations

import numpy as np

from . import costmodel, statistical_units
from .lines import crossings_of
from .policy import excluded_lines
from .statistical_units import not_enough_runs
from modebench_policy.reader import Policy  # noqa: E402 (costmodel put the reader on the path)


def _pct(x) -> str:
    return f"{100 * x:.0f}%"


LOCO_HEAD = ("op", "mode", "impl", "cases", "held-out error (median)", "worst point", "per held-out case",
             "fit error (all cases)")


def loco_rows(doc) -> list:
    """One row per model of a /2 policy: its leave-one-case-out relative error."""
    rows = []
    for m in sorted(doc["models"], key=lambda m: (m["op"], m["mode"], m["impl"])):
        lo = m["loco"]
        if lo is None:
            med, worst, per = f"no held-out check: {len(m['cases'])} case", "-", "-"
        else:
            med, worst = _pct(lo["median_rel_error"]), _pct(lo["max_rel_error"])
            per = ", ".join(f"{c} {_pct(e)}" for c, e in lo["per_case"].items())
        rows.append((m["op"], m["mode"], m["impl"], len(m["cases"]), med, worst, per, _pct(m["fit_rel_error"])))
    return rows


CROSS_HEAD = ("op/case (held out)", "pair", "measured crossover", "predicted (model without this case)",
              "predicted winner = measured winner")


def _pairs(lines):
    """Pairs compared as the charts do: across modes, or between the impls of the only mode."""
    names = sorted(lines)
    single_mode = len({ln[0] for ln in names}) <= 1
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if a[0] != b[0] or single_mode]


def _measured_text(xs, batches) -> str:
    if not xs:
        return f"none in {batches[0]}–{batches[-1]}"
    out = []
    for x in xs:
        ci = f"95% CI [{x.ci[0]:.3g}, {x.ci[1]:.3g}]" if x.ci else not_enough_runs(x.processes)
        out.append(f"{x.batch:.3g} ({ci})")
    return "; ".join(out)


def _winner_agreement(group, op, case, preds) -> str:
    """At how many measured batches the held-out model picks the measured winner (among
    the lines it predicts)."""
    lines = group.cases[(op, case)]
    agree = total = 0
    batches = sorted({b for ln in preds for b, s in lines[ln].items() if s.timed})
    for b in batches:
        here = [ln for ln in preds if b in lines[ln] and lines[ln][b].timed]
        if len(here) < 2:
            continue
        measured = min(here, key=lambda ln: float(np.median(statistical_units.process_medians(lines[ln][b]))))
        predicted = min(here, key=lambda ln: preds[ln][0] + preds[ln][1] * b)
        agree += measured == predicted
        total += 1
    return f"{agree} of {total} batches" if total else "-"


def crossing_rows(group) -> list:
    rows = []
    excluded = {op: excluded_lines(group.cases, op) for op, _ in group.cases}
    for op, case in sorted(group.cases):
        preds = costmodel.held_out_predictions(group.cases, excluded, op, case)
        if len(preds) < 2:
            continue
        measured = {}
        for c in crossings_of(group, op, case):
            if c["x"] is not None:
                measured.setdefault((c["a"], c["b"]), []).append(c["x"])
        agreement = _winner_agreement(group, op, case, preds)
        lines = group.cases[(op, case)]
        for a, b in _pairs(preds):
            batches = sorted({q for ln in (a, b) for q, s in lines[ln].items() if s.measured_status == "ok"})
            x = costmodel.crossing(preds[a], preds[b])
            if x is None:
                predicted = "none"
            else:
                inside = batches[0] <= x <= batches[-1]
                predicted = f"{x:.3g}" + ("" if inside else " (outside the measured batches)")
            pair = f"{a[0]}/{a[1]} vs {b[0]}/{b[1]}"
            rows.append((f"{op}/{case}", pair, _measured_text(measured.get((a, b), []), batches), predicted, agreement))
    return rows


# A few shapes applications run, measured (the harness's cases) or not, with batches per op.
_CONV = dict(stride=1, padding=1, kernel_size=3)
COMMON_SHAPES = (
    ("linear", "MobileNetV2 head 1280→1000", {"in_features": 1280, "out_features": 1000}),
    ("linear", "BERT-base 768→768", {"in_features": 768, "out_features": 768}),
    ("linear", "BERT-base MLP 768→3072", {"in_features": 768, "out_features": 3072}),
    ("linear", "ResNet-50 head 2048→1000", {"in_features": 2048, "out_features": 1000}),
    ("conv2d", "MobileNetV2 pointwise 96→24 @56", {"in_channels": 96, "out_channels": 24, "height": 56, "width": 56,
                                                   "kernel_size": 1}),
    ("conv2d", "MobileNetV2 depthwise 32 @112", {"in_channels": 32, "out_channels": 32, "height": 112, "width": 112,
                                                 "groups": 32, **_CONV}),
    ("conv2d", "ResNet-50 3×3 128 @28", {"in_channels": 128, "out_channels": 128, "height": 28, "width": 28, **_CONV}),
    ("conv1d", "XTTS HiFi-GAN resblock 128 k7 d3 @5568", {"in_channels": 128, "out_channels": 128, "length": 5568,
                                                          "kernel": 7, "padding": 9, "dilation": 3}),
    ("conv1d", "HiFi-GAN V1 conv_pre 80→512 k7 @200", {"in_channels": 80, "out_channels": 512, "length": 200,
                                                       "kernel": 7, "padding": 3}),
    ("ssim", "512×512 RGB", {"height": 512, "width": 512}),
    ("ssim", "NeRF 800×800", {"height": 800, "width": 800}),
    ("knn", "a point cloud (no case named)", {}),
)
BATCHES = {"linear": (1, 8, 64), "conv2d": (1, 8, 32), "conv1d": (1, 8, 32), "ssim": (1, 4), "knn": (10_000, 1_000_000)}
WOULD_DO_HEAD = ("op", "shape", "measured ranges", "batch", "decision", "from")


def _ranges_text(doc, op, shape_key) -> str:
    for r in doc["rules"]:
        if r["op"] == op and r.get("shape") == shape_key:
            parts = [f"{x['batch_min']}..{x['batch_max'] if x['batch_max'] is not None else 'inf'} "
                     f"{x['mode']}/{x['impl']}" for x in r["ranges"]]
            return f"{r['case']}: " + ("; ".join(parts) or "no correct mode")
    return "not measured"


def _from_text(doc, op, d) -> str:
    if d.source == "measured":
        return "measured " + (f"(confidence {d.confidence:.2f})" if d.confidence is not None else "(provisional)")
    if d.source == "model":
        m = next(m for m in doc["models"] if (m["op"], m["mode"], m["impl"]) == (op, d.mode, d.impl))
        err = _pct(m["loco"]["median_rel_error"]) if m["loco"] else "unchecked"
        return f"cost model (held-out error {err})"
    return "safe default"


def would_do_rows(doc) -> list:
    """What the policy's reader answers for COMMON_SHAPES (only the ops the run measured)."""
    from modebench_policy.features import normalize

    policy = Policy(doc, "(this report)")
    ops = {r["op"] for r in doc["rules"]}
    rows = []
    for op, label, shape in COMMON_SHAPES:
        if op not in ops:
            continue
        ranges = _ranges_text(doc, op, normalize(op, shape))
        for b in BATCHES[op]:
            d = policy.choose(op, shape, b)
            rows.append((op, label, ranges, f"{b:,}", f"{d.mode}/{d.impl}" if d.impl else d.mode, _from_text(doc, op, d)))
    return rows
