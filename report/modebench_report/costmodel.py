"""The cost model of the fallback policy (modebench-policy/2 `models`): for shapes that
were not measured.

Per host x op x mode x impl, the time of one call as a non-negative sum of terms:
  call    a fixed cost per call (launches, dispatch, synchronisation)
  flop    floating-point work              (linear, conv2d, conv1d, ssim)
  bytes   bytes of inputs, weights, outputs (linear, conv2d, conv1d, ssim)
  points  knn's points (its work is a search, not flops)
  copied  bytes a hybrid call moves between device and host (naive: everything, weights
          included; cached: inputs and outputs)
fitted by non-negative least squares on relative error (every point weighs alike, from
microseconds to seconds) to the median over processes of each measured (case, batch).
The features of a shape come from the reader's own formulas (modebench_policy.features),
so the report and the reader cannot drift apart.

Honesty: each model is checked leaving one case out (fit on the other cases, predict
the held-out one's batches); its median relative error is the model's `margin`, which the
reader uses to keep a safer mode unless a riskier one is predicted faster by more than
that. A model fitted on one case has no held-out check and a fixed wide margin.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from . import modes, statistical_units
from .cases import shape_of

# The reader package (python/modebench_policy) from this checkout, ahead of any installed copy.
_READER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "modebench_policy")
if os.path.isdir(_READER) and os.path.abspath(_READER) not in sys.path:
    sys.path.insert(0, os.path.abspath(_READER))
from modebench_policy.features import features, kind, normalize, term_value  # noqa: E402

TERMS_BY_OP = {
    "linear": ("call", "flop", "bytes"),
    "conv2d": ("call", "flop", "bytes"),
    "conv1d": ("call", "flop", "bytes"),
    "ssim": ("call", "flop", "bytes"),
    "knn": ("call", "points"),
}
MARGIN_UNVALIDATED = 0.5  # a model no held-out case has checked: a riskier mode must win by 50 %


@dataclass
class Point:
    case: str
    batch: int
    seconds: float  # median over processes
    processes: int
    feats: dict


def terms_of(op: str, mode: str):
    return TERMS_BY_OP[op] + (("copied",) if modes.moves_data_to_host(mode) else ())


def copies_weights(mode: str, impl: str) -> bool:
    """A hybrid impl that copies the weights on every call (naive, as hand-written
    fallbacks do); cached keeps them on the host."""
    return modes.moves_data_to_host(mode) and impl.endswith("naive")


def points_of(cases: dict, op: str, line, excluded: dict):
    """Points of one (mode, impl) over the op's cases whose shape is known: one per ok
    (case, batch). `excluded`: lines ever failed/wrong in the op (no model for them)."""
    if line in excluded:
        return []
    pts = []
    for (o, case), lines in sorted(cases.items()):
        shape = shape_of(o, case)
        if o != op or shape is None or line not in lines:
            continue
        for b, s in sorted(lines[line].items()):
            if not s.timed:
                continue
            per_process = statistical_units.process_medians(s)
            pts.append(Point(case, b, float(np.median(per_process)), len(per_process), features(op, shape, b)))
    return pts


def _matrix(pts, terms, copies):
    return np.array([[term_value(t, p.feats, copies) for t in terms] for p in pts], float)


def fit(pts, terms, copies) -> dict:
    """{term: seconds per unit}, non-negative, minimising the squared relative error."""
    a = _matrix(pts, terms, copies)
    y = np.array([p.seconds for p in pts], float)
    scale = a.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale / y[:, None], np.ones(len(pts)))
    return {t: float(c / s) for t, c, s in zip(terms, coef, scale)}


def predict(terms: dict, feats: dict, copies: bool) -> float:
    return sum(c * term_value(t, feats, copies) for t, c in terms.items())


def rel_errors(terms, pts, copies):
    return [abs(predict(terms, p.feats, copies) - p.seconds) / p.seconds for p in pts]


def held_out(pts, terms, copies) -> dict:
    """{case: [(point, predicted seconds)]}: each case predicted by a fit on the others;
    {} when the points hold fewer than two cases."""
    cases = sorted({p.case for p in pts})
    if len(cases) < 2:
        return {}
    out = {}
    for c in cases:
        model = fit([p for p in pts if p.case != c], terms, copies)
        out[c] = [(p, predict(model, p.feats, copies)) for p in pts if p.case == c]
    return out


def loco_summary(held: dict):
    """{cases, median_rel_error, max_rel_error, per_case: {case: median}} or None."""
    if not held:
        return None
    errs = {c: [abs(t - p.seconds) / p.seconds for p, t in v] for c, v in held.items()}
    every = [e for v in errs.values() for e in v]
    return {
        "cases": len(held),
        "median_rel_error": round(float(np.median(every)), 4),
        "max_rel_error": round(float(np.max(every)), 4),
        "per_case": {c: round(float(np.median(v)), 4) for c, v in sorted(errs.items())},
    }


def model_for(op: str, line, pts) -> dict:
    mode, impl = line
    terms, copies = terms_of(op, mode), copies_weights(mode, impl)
    coef = fit(pts, terms, copies)
    loco = loco_summary(held_out(pts, terms, copies))
    return {
        "op": op,
        "mode": mode,
        "impl": impl,
        "terms": {t: float(f"{c:.6g}") for t, c in coef.items()},
        "copies_weights": copies,
        "kinds": sorted({p.feats["kind"] for p in pts}),
        "cases": sorted({p.case for p in pts}),
        "points": len(pts),
        "processes": min(p.processes for p in pts),
        "fit_rel_error": round(float(np.median(rel_errors(coef, pts, copies))), 4),
        "loco": loco,
        "margin": loco["median_rel_error"] if loco else MARGIN_UNVALIDATED,
    }


def models(cases: dict, excluded_by_op: dict) -> list:
    """One model per op x mode x impl with ok points on shapes the report knows."""
    out = []
    for op in sorted({op for op, _ in cases}):
        if op not in TERMS_BY_OP:
            continue
        lines = sorted({ln for (o, _), ls in cases.items() if o == op for ln in ls})
        for line in lines:
            pts = points_of(cases, op, line, excluded_by_op.get(op, {}))
            if pts:
                out.append(model_for(op, line, pts))
    return out


# ------------------------------------------------------------------ predicted crossovers
def _affine(terms, op, shape, copies):
    """(a, b) with predicted time = a + b * batch (every feature is affine in the batch)."""
    t1 = predict(terms, features(op, shape, 1), copies)
    t2 = predict(terms, features(op, shape, 2), copies)
    return t1 - (t2 - t1), t2 - t1


def crossing(fa, fb):
    """The batch where two affine times cross, or None (never, or below batch 1)."""
    (a1, b1), (a2, b2) = fa, fb
    if b1 == b2:
        return None
    x = (a2 - a1) / (b1 - b2)
    return x if x >= 1 else None


def held_out_predictions(cases: dict, excluded_by_op: dict, op: str, case: str):
    """{line: (a, b)} for the lines of op/case whose model, fitted without this case, has
    at least one other case; {} when the case's shape is unknown."""
    shape = shape_of(op, case)
    if shape is None or op not in TERMS_BY_OP:
        return {}
    out = {}
    for line in cases.get((op, case), {}):
        pts = [p for p in points_of(cases, op, line, excluded_by_op.get(op, {})) if p.case != case]
        if not pts or kind(op, normalize(op, shape)) not in {p.feats["kind"] for p in pts}:
            continue
        terms, copies = terms_of(op, line[0]), copies_weights(*line)
        out[line] = _affine(fit(pts, terms, copies), op, shape, copies)
    return out
