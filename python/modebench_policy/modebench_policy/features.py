"""Shape -> features of one call, per op (docs/ops.md): the one Python home of these formulas.

The report's cost model (report/modebench_report/costmodel.py) fits on these features
and the reader predicts with them, so both import this module; include/modebench/policy.hpp
is the C++ home, tested against the same vectors (tests/vectors/policy_features.json).

A shape is a mapping of integer dimensions (names as in PyTorch where it has them):
  linear: in_features, out_features
  conv2d: in_channels, out_channels, height, width, kernel_h, kernel_w, stride_h, stride_w,
          pad_h, pad_w, groups (shorthands: kernel_size, stride, padding: an int or an
          (h, w) pair; defaults stride 1, padding 0, groups 1)
  conv1d: in_channels, out_channels, length, kernel, stride, padding, dilation, groups
          (defaults stride 1, padding 0, dilation 1, groups 1)
  ssim:   height, width, channels (default 3)
  knn:    none (the batch is the number of points)
The batch is the op's batch axis (B, N, image pairs, points).

Features of one call, all floats:
  flop          floating-point operations (docs/ops.md)
  bytes         bytes of inputs, weights and outputs
  weight_bytes  the part of `bytes` that is weights (a cached hybrid keeps it on the host)
  points        knn: the number of points
and `kind`: the family of shapes a fitted model may be applied to (conv2d: dense,
depthwise or grouped; conv1d alike).
"""

from __future__ import annotations

import math

OPS = ("linear", "conv2d", "conv1d", "ssim", "knn")
INT64_MAX = 2**63 - 1  # the largest batch (and file integer) the C++ reader can hold
# A shape dimension is at most 2^53: exact in a double, and every sum the formulas form stays
# far inside int64 in the C++ reader (kMaxDimension).
MAX_DIMENSION = 2**53
# ssim's FLOP count (docs/ops.md) is the plain separable algorithm's, as the harness counts it
# per pixel: 3 products + 5 statistics x 2 passes x (11 mul + 10 add) + 21 for the
# formula + 1 for the mean (ops/ssim/case.cpp).
SSIM_FLOP_PER_PIXEL = 3 + 5 * 2 * 21 + 21 + 1
FLOAT_BYTES = 4
# knn: each point in (x, y, z) and its result out.
KNN_BYTES_PER_POINT = FLOAT_BYTES * (3 + 1)

_REQUIRED = {
    "linear": ("in_features", "out_features"),
    "conv2d": ("in_channels", "out_channels", "height", "width", "kernel_h", "kernel_w"),
    "conv1d": ("in_channels", "out_channels", "length", "kernel"),
    "ssim": ("height", "width"),
    "knn": (),
}
_DEFAULTS = {
    "conv2d": {"stride_h": 1, "stride_w": 1, "pad_h": 0, "pad_w": 0, "groups": 1},
    "conv1d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1},
    "ssim": {"channels": 3},
}
_PAIRS = {"kernel_size": ("kernel_h", "kernel_w"), "stride": ("stride_h", "stride_w"), "padding": ("pad_h", "pad_w")}


class ShapeError(ValueError):
    """A shape the op cannot have; str() is one line."""


def _int(op, key, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{op} shape: '{key}' must be an integer, got {value!r}")
    return value


def normalize(op: str, shape) -> dict:
    """The canonical shape: every dimension the op's formulas use, shorthands expanded,
    defaults filled in. ShapeError for an unknown op, a missing, unknown or non-positive
    dimension, or one above MAX_DIMENSION."""
    if op not in _REQUIRED:
        raise ShapeError(f"unknown op '{op}' (known: {', '.join(OPS)})")
    out = dict(_DEFAULTS.get(op, {}))
    given = dict(shape or {})
    for short, (h, w) in _PAIRS.items():
        if short in given and op == "conv2d":
            v = given.pop(short)
            hv, wv = (v, v) if not isinstance(v, (tuple, list)) else tuple(v) if len(v) == 2 else (None, None)
            if hv is None:
                raise ShapeError(f"{op} shape: '{short}' must be an integer or a pair, got {v!r}")
            given.setdefault(h, hv)
            given.setdefault(w, wv)
    known = set(_REQUIRED[op]) | set(_DEFAULTS.get(op, {}))
    for key, value in given.items():
        if key not in known:
            raise ShapeError(f"{op} shape: unknown dimension '{key}' (known: {', '.join(sorted(known)) or 'none'})")
        out[key] = _int(op, key, value)
    missing = [k for k in _REQUIRED[op] if k not in out]
    if missing:
        raise ShapeError(f"{op} shape: missing {', '.join(missing)}")
    for key, value in out.items():
        if not (0 if key.startswith("pad") else 1) <= value <= MAX_DIMENSION:
            raise ShapeError(f"{op} shape: '{key}' = {value} is out of range")
    if op == "conv2d":
        g = out["groups"]
        if out["in_channels"] % g or out["out_channels"] % g:
            raise ShapeError(f"conv2d shape: groups = {g} does not divide in_channels and out_channels")
        if out["height"] + 2 * out["pad_h"] < out["kernel_h"] or out["width"] + 2 * out["pad_w"] < out["kernel_w"]:
            raise ShapeError("conv2d shape: the kernel is larger than the padded image")
    if op == "conv1d":
        g = out["groups"]
        if out["in_channels"] % g or out["out_channels"] % g:
            raise ShapeError(f"conv1d shape: groups = {g} does not divide in_channels and out_channels")
        # In floats, as policy.hpp compares: dilation x kernel may pass int64.
        if float(out["length"]) + 2.0 * float(out["padding"]) < float(out["dilation"]) * float(out["kernel"] - 1) + 1.0:
            raise ShapeError("conv1d shape: the dilated kernel is longer than the padded length")
    return out


def conv2d_output(s: dict):
    """(P, Q): the output height and width."""
    p = (s["height"] + 2 * s["pad_h"] - s["kernel_h"]) // s["stride_h"] + 1
    q = (s["width"] + 2 * s["pad_w"] - s["kernel_w"]) // s["stride_w"] + 1
    return p, q


def conv1d_output(s: dict) -> float:
    """The output length, floor((length + 2 padding - dilation (kernel - 1) - 1) / stride) + 1,
    in floats as policy.hpp forms it (dilation x kernel may pass int64)."""
    span = float(s["length"]) + 2.0 * float(s["padding"]) - float(s["dilation"]) * (float(s["kernel"]) - 1.0) - 1.0
    return math.floor(span / float(s["stride"])) + 1.0


def kind(op: str, s: dict) -> str:
    if op not in ("conv2d", "conv1d") or s["groups"] == 1:
        return "dense"
    return "depthwise" if s["groups"] == s["in_channels"] == s["out_channels"] else "grouped"


def features(op: str, shape, batch: int) -> dict:
    """The features of one call of `op` on `shape` at `batch` (see the module doc)."""
    s = normalize(op, shape)
    b = _int(op, "batch", batch)
    if b < 1:
        raise ShapeError(f"{op}: batch = {b} must be at least 1")
    if b > INT64_MAX:
        raise ShapeError(f"{op}: batch = {b} is more than {INT64_MAX}")
    # Products of dimensions are floats, formed left to right as policy.hpp forms them: the two
    # readers round alike where a product passes 2^53.
    f = float(b)
    if op == "linear":
        i, o = float(s["in_features"]), float(s["out_features"])
        weights = FLOAT_BYTES * (o * i + o)
        flop, total = 2.0 * f * i * o, FLOAT_BYTES * (f * i + f * o) + weights
        points = 0.0
    elif op == "conv2d":
        p, q = conv2d_output(s)
        cg = s["in_channels"] // s["groups"]
        k = float(s["out_channels"])
        window = float(cg) * s["kernel_h"] * s["kernel_w"]
        weights = FLOAT_BYTES * (k * window + k)
        flop = 2.0 * f * k * p * q * window
        total = FLOAT_BYTES * (f * s["in_channels"] * s["height"] * s["width"] + f * k * p * q) + weights
        points = 0.0
    elif op == "conv1d":
        lout = conv1d_output(s)
        k = float(s["out_channels"])
        window = float(s["in_channels"] // s["groups"]) * s["kernel"]
        weights = FLOAT_BYTES * (k * window + k)
        flop = 2.0 * f * k * lout * window
        total = FLOAT_BYTES * (f * s["in_channels"] * s["length"] + f * k * lout) + weights
        points = 0.0
    elif op == "ssim":
        pixels = f * s["channels"] * s["height"] * s["width"]
        # x and y in, the map out (4 bytes each per pixel), plus the mean.
        flop, total, weights, points = SSIM_FLOP_PER_PIXEL * pixels, 3 * FLOAT_BYTES * pixels + FLOAT_BYTES, 0, 0.0
    else:  # knn
        flop, total, weights, points = 0.0, float(KNN_BYTES_PER_POINT) * f, 0, f
    return {"flop": flop, "bytes": float(total), "weight_bytes": float(weights), "points": points, "kind": kind(op, s)}


def term_value(term: str, feats: dict, copies_weights: bool) -> float:
    """The value of one cost-model term: `call` (a fixed cost per call), `flop`, `bytes`,
    `points`, or `copied` (bytes a hybrid call moves between device and host: everything,
    or everything but the weights when they stay on the host)."""
    if term == "call":
        return 1.0
    if term == "copied":
        return feats["bytes"] - (0.0 if copies_weights else feats["weight_bytes"])
    if term in ("flop", "bytes", "points"):
        return feats[term]
    raise ShapeError(f"unknown cost-model term '{term}'")
