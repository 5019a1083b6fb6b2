"""Writes the readers' shared test vectors under tests/vectors/ (run by hand after a
deliberate change of the readers' behaviour; both readers' tests then check against them):

  policy_synthetic_v2.json  a /2 policy whose choices change with the batch: cpu, hybrid
                            (cached, naive) and gpu, with a failed ptx-jit and a wrong impl
  policy_synthetic_v1.json  the same rules as modebench-policy/1 (no models, no identity)
  policy_features.json      shapes -> features (and shapes that are errors)
  policy_decisions.json     queries and the decisions the readers must give
  policy_plans.json         the plan of each query's shape: its pieces and their decisions
  policy_hostile/, policy_hostile.json
                            hostile and odd files, and what both readers answer (hostile_policies.py)

    python3 python/modebench_policy/tests/make_vectors.py
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
VECTORS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "tests", "vectors"))

from modebench_policy import HostFacts, Policy, PolicyError, ShapeError, features  # noqa: E402

HOST = {"cpu_model": "Synthetic CPU", "gpus": ["Synthetic GPU"], "gpu_cc": "12.0", "driver": "580.65.06"}
LINEAR_HEAD = {"in_features": 1280, "out_features": 1000}
CONV_DW = {"in_channels": 144, "out_channels": 144, "height": 56, "width": 56, "kernel_h": 3, "kernel_w": 3,
           "stride_h": 1, "stride_w": 1, "pad_h": 1, "pad_w": 1, "groups": 144}
# XTTS's HiFi-GAN conv_pre (ops/conv1d/case.cpp xtts_hifigan_pre), all dimensions given.
CONV1D_PRE = {"in_channels": 1024, "out_channels": 512, "length": 87, "kernel": 7, "stride": 1, "padding": 3,
              "dilation": 1, "groups": 1}
FAILED = "failed: no_kernel_image: no kernel image is available for execution on the device"
WRONG = "wrong on conv2d/mbv2_depthwise batch 8: wrong: max_err=0.5 tolerance=0.0001"
UNAVAILABLE_NOTE = "not measured: busy: CUDA device 0 is in use by another process"


def _range(lo, hi, mode, impl, conf, processes=5):
    return {"batch_min": lo, "batch_max": hi, "mode": mode, "impl": impl, "confidence": conf,
            "provisional": conf is None, "processes": processes}


def _model(op, mode, impl, terms, kinds=("dense",), copies=False, loco=0.12, cases=3):
    return {"op": op, "mode": mode, "impl": impl, "terms": terms, "copies_weights": copies, "kinds": list(kinds),
            "cases": [f"case{i}" for i in range(cases)], "points": 4 * cases, "processes": 5, "fit_rel_error": 0.05,
            "loco": None if loco is None else {"cases": cases, "median_rel_error": loco, "max_rel_error": 2 * loco,
                                               "per_case": {}},
            "margin": 0.5 if loco is None else loco}


def synthetic_v2():
    linear_excluded = [{"mode": "ptx-jit", "impl": "cublas", "status": "failed", "reason": FAILED}]
    rules = [
        {"op": "linear", "case": "mobilenetv2_head", "shape": LINEAR_HEAD, "measured_batches": [1, 8, 64, 512],
         "ranges": [_range(1, 4, "cpu", "onednn", 0.97), _range(5, 12, "hybrid", "cached", 0.91),
                    _range(13, 40, "hybrid", "naive", None, 2), _range(41, None, "gpu", "cublas", 0.99)],
         "excluded": linear_excluded},
        {"op": "conv2d", "case": "mbv2_depthwise", "shape": CONV_DW, "measured_batches": [1, 8, 32],
         "ranges": [_range(1, None, "cpu", "depthwise", 1.0)],
         "excluded": [{"mode": "gpu", "impl": "cudnn", "status": "wrong", "reason": WRONG}]},
        {"op": "conv1d", "case": "xtts_hifigan_pre", "shape": CONV1D_PRE, "measured_batches": [1, 8, 32],
         "ranges": [_range(1, 16, "cpu", "onednn", 0.93), _range(17, None, "hybrid", "cached", 0.71)],
         "excluded": [{"mode": "gpu", "impl": "cudnn_tf32", "status": "wrong",
                       "reason": "wrong on conv1d/xtts_hifigan_pre batch 1: wrong: max_err=0.01 tolerance=0.0002"}]},
        {"op": "knn", "case": "uniform", "shape": None, "measured_batches": [10000, 100000],
         "ranges": [_range(1, 20000, "cpu", "grid", 0.88), _range(20001, None, "gpu", "chunked", 0.95)],
         "excluded": []},
        {"op": "ssim", "case": "nerf_800", "shape": {"channels": 3, "height": 800, "width": 800},
         "measured_batches": [1, 4], "ranges": [],
         "excluded": [{"mode": "cpu", "impl": "fused", "status": "wrong", "reason": "wrong on ssim/nerf_800 batch 1"}]},
    ]
    models = [
        # linear: cpu cheap per call, slow per flop; gpu a fixed 2 ms (launch + sync) and fast per flop.
        _model("linear", "cpu", "onednn", {"call": 2e-5, "flop": 1e-10, "bytes": 0.0}),
        _model("linear", "gpu", "cublas", {"call": 2e-3, "flop": 1e-13, "bytes": 1e-11}, loco=0.08),
        _model("linear", "hybrid", "cached", {"call": 1e-4, "flop": 1e-10, "bytes": 0.0, "copied": 1e-9}),
        _model("linear", "hybrid", "naive", {"call": 1e-4, "flop": 1e-10, "bytes": 0.0, "copied": 1e-9}, copies=True),
        _model("linear", "ptx-jit", "cublas", {"call": 1e-6, "flop": 1e-14, "bytes": 0.0}),  # failed: barred
        _model("conv2d", "cpu", "onednn", {"call": 5e-5, "flop": 5e-11, "bytes": 1e-10}, kinds=("dense", "depthwise")),
        _model("conv2d", "cpu", "depthwise", {"call": 1e-5, "flop": 1e-11, "bytes": 1e-11}, kinds=("depthwise",),
               loco=None, cases=1),
        _model("conv2d", "gpu", "cudnn", {"call": 1e-5, "flop": 1e-14, "bytes": 1e-13}, kinds=("dense", "depthwise")),
        _model("conv2d", "hybrid", "cached", {"call": 1e-4, "flop": 5e-11, "bytes": 1e-10, "copied": 1e-9},
               kinds=("dense",)),
        _model("conv1d", "cpu", "onednn", {"call": 3e-5, "flop": 6e-12, "bytes": 1e-10}, kinds=("dense",)),
        _model("conv1d", "gpu", "cudnn", {"call": 3e-3, "flop": 1e-14, "bytes": 1e-12}, kinds=("dense",), loco=0.2),
        _model("knn", "cpu", "grid", {"call": 1e-4, "points": 2e-7}, loco=0.3, cases=2),
    ]
    excluded = [
        {"op": "linear", "mode": "ptx-jit", "impl": "cublas", "status": "failed", "reason": FAILED},
        {"op": "linear", "mode": "gpu", "impl": "cublas_tf32", "status": "busy", "reason": UNAVAILABLE_NOTE},
        {"op": "conv2d", "mode": "gpu", "impl": "cudnn", "status": "wrong", "reason": WRONG},
    ]
    host = {"key": "Synthetic CPU | OpenBLAS 0.3.21 Zen | Synthetic GPU | 580.65.06 | toolkit 13.0",
            "cpu_model": "Synthetic CPU", "blas": "OpenBLAS 0.3.21 Zen", "host_gpus": "Synthetic GPU",
            "nvidia_driver": "580.65.06", "device_name": "Synthetic GPU", "device_cc": "12.0", "cuda_toolkit": "13.0"}
    return {"schema": "modebench-policy/2", "host": host, "identity": HOST,
            "risks": {"cpu": 0, "gpu": 2, "ptx-jit": 3, "hybrid": 1}, "rules": rules, "models": models,
            "excluded": excluded}


def synthetic_v1(v2):
    rules = []
    for r in v2["rules"]:
        r = {k: v for k, v in r.items() if k not in ("shape",)}
        rules.append(r)
    host = {k: v for k, v in v2["host"].items() if k not in ("host_gpus", "nvidia_driver")}
    return {"schema": "modebench-policy/1", "host": host, "rules": rules}


FEATURE_SHAPES = [
    ("linear", LINEAR_HEAD, 8),
    ("linear", {"in_features": 3, "out_features": 1}, 1),
    ("conv2d", {"in_channels": 3, "out_channels": 32, "height": 224, "width": 224, "kernel_size": 3, "stride": 2,
                "padding": 1}, 8),
    ("conv2d", CONV_DW, 32),
    ("conv2d", {"in_channels": 8, "out_channels": 16, "height": 9, "width": 7, "kernel_h": 3, "kernel_w": 1,
                "stride_h": 2, "stride_w": 1, "pad_h": 0, "pad_w": 2, "groups": 2}, 3),
    ("conv1d", CONV1D_PRE, 8),
    ("conv1d", {"in_channels": 32, "out_channels": 32, "length": 22272, "kernel": 3, "padding": 3, "dilation": 3}, 1),
    ("conv1d", {"in_channels": 4, "out_channels": 6, "length": 21, "kernel": 7, "stride": 2, "padding": 3}, 2),
    ("conv1d", {"in_channels": 8, "out_channels": 8, "length": 29, "kernel": 5, "padding": 2, "groups": 8}, 1),
    ("conv1d", {"in_channels": 3, "out_channels": 2, "length": 9, "kernel": 5, "dilation": 2}, 1),
    ("ssim", {"height": 1080, "width": 1920}, 4),
    ("knn", {}, 100000),
    # errors
    ("linear", {"in_features": 3}, 1),
    ("linear", {"in_features": 3, "out_features": 0}, 1),
    ("linear", {"in_features": 3, "out_features": 2, "bias": 1}, 1),
    ("linear", {"in_features": 3, "out_features": 2}, 0),
    ("conv2d", {"in_channels": 6, "out_channels": 4, "height": 5, "width": 5, "kernel_size": 3, "groups": 4}, 1),
    ("conv2d", {"in_channels": 1, "out_channels": 1, "height": 2, "width": 2, "kernel_size": 5}, 1),
    ("conv1d", {"in_channels": 6, "out_channels": 4, "length": 12, "kernel": 3, "groups": 4}, 1),
    ("conv1d", {"in_channels": 3, "out_channels": 2, "length": 8, "kernel": 5, "dilation": 2}, 1),
    ("conv1d", {"in_channels": 3, "out_channels": 2, "length": 8, "kernel": 3, "padding": -1}, 1),
    ("conv1d", {"in_channels": 3, "out_channels": 2, "length": 8, "kernel_size": 3}, 1),
    ("conv1d", {"in_channels": 3, "out_channels": 2, "kernel": 3}, 1),
    ("pool2d", {}, 1),
]

QUERIES = [
    # (policy, op, shape, batch, case, host)
    ("v2", "linear", LINEAR_HEAD, 1, None, None),
    ("v2", "linear", LINEAR_HEAD, 8, None, None),
    ("v2", "linear", LINEAR_HEAD, 16, None, None),
    ("v2", "linear", LINEAR_HEAD, 64, None, None),
    ("v2", "linear", LINEAR_HEAD, 4096, None, None),
    ("v2", "linear", {"in_features": 16, "out_features": 16}, 1, None, None),
    ("v2", "linear", {"in_features": 4096, "out_features": 4096}, 256, None, None),
    ("v2", "linear", {"in_features": 1024, "out_features": 1024}, 20, None, None),
    # gpu predicted 4 % faster, inside its model's 8 % held-out error: cpu kept
    ("v2", "linear", {"in_features": 1024, "out_features": 1024}, 10, None, None),
    ("v2", "conv2d", CONV_DW, 8, None, None),
    ("v2", "conv2d", {**CONV_DW, "groups": 1}, 8, None, None),
    ("v2", "conv2d", {"in_channels": 32, "out_channels": 32, "height": 112, "width": 112, "kernel_size": 3,
                      "padding": 1, "groups": 32}, 1, None, None),
    ("v2", "conv2d", {"in_channels": 32, "out_channels": 64, "height": 56, "width": 56, "kernel_size": 3,
                      "padding": 1, "groups": 2}, 1, None, None),
    ("v2", "conv1d", CONV1D_PRE, 8, None, None),
    ("v2", "conv1d", CONV1D_PRE, 64, None, None),
    ("v2", "conv1d", {"in_channels": 128, "out_channels": 128, "length": 5568, "kernel": 7, "padding": 9,
                      "dilation": 3}, 1, None, None),
    ("v2", "conv1d", {"in_channels": 128, "out_channels": 128, "length": 5568, "kernel": 7, "padding": 9,
                      "dilation": 3}, 64, None, None),
    ("v2", "conv1d", {"in_channels": 64, "out_channels": 64, "length": 100, "kernel": 5, "padding": 2,
                      "groups": 64}, 4, None, None),
    ("v2", "knn", {}, 5000, "uniform", None),
    ("v2", "knn", {}, 50000, "uniform", None),
    ("v2", "knn", {}, 50000, "clustered", None),
    ("v2", "knn", {}, 50000, None, None),
    ("v2", "ssim", {"height": 800, "width": 800}, 2, None, None),
    ("v2", "ssim", {"height": 512, "width": 512}, 2, None, None),
    ("v1", "linear", LINEAR_HEAD, 8, "mobilenetv2_head", None),
    ("v1", "linear", LINEAR_HEAD, 20, "mobilenetv2_head", None),
    ("v1", "linear", LINEAR_HEAD, 8, None, None),
    ("v2", "linear", LINEAR_HEAD, 8, None, {"cpu_model": "Other CPU", "gpus": [], "gpu_cc": None, "driver": None}),
]


def host_facts(h):
    if h is None:
        return HostFacts(**{**HOST, "gpus": tuple(HOST["gpus"])})
    return HostFacts(**{**h, "gpus": None if h["gpus"] is None else tuple(h["gpus"])})


def main():
    v2 = synthetic_v2()
    v1 = synthetic_v1(v2)
    files = {"v2": "policy_synthetic_v2.json", "v1": "policy_synthetic_v1.json"}
    for key, doc in (("v2", v2), ("v1", v1)):
        with open(os.path.join(VECTORS, files[key]), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    feats = []
    for op, shape, batch in FEATURE_SHAPES:
        try:
            x = features(op, shape, batch)
            feats.append({"op": op, "shape": shape, "batch": batch, "features": x})
        except ShapeError:
            feats.append({"op": op, "shape": shape, "batch": batch, "error": True})
    with open(os.path.join(VECTORS, "policy_features.json"), "w") as f:
        json.dump(feats, f, indent=1)
        f.write("\n")
    decisions = []
    for key, op, shape, batch, case, host in QUERIES:
        policy = Policy.load(os.path.join(VECTORS, files[key]), host=host_facts(host), allow_other_host=host is not None)
        d = policy.choose(op, shape, batch, case)
        decisions.append({"policy": files[key], "host": host, "op": op, "shape": shape, "batch": batch, "case": case,
                          "expect": {"mode": d.mode, "impl": d.impl, "confidence": d.confidence, "source": d.source,
                                     "reason": d.reason}})
    with open(os.path.join(VECTORS, "policy_decisions.json"), "w") as f:
        json.dump(decisions, f, indent=1)
        f.write("\n")
    plans, planned = [], set()
    for key, op, shape, _batch, case, host in QUERIES:
        ident = json.dumps([key, op, shape, case, host], sort_keys=True)
        if ident in planned:
            continue
        planned.add(ident)
        policy = Policy.load(os.path.join(VECTORS, files[key]), host=host_facts(host), allow_other_host=host is not None)
        pieces = [{"batch_min": x.batch_min, "batch_max": x.batch_max, "mode": x.decision.mode,
                   "impl": x.decision.impl, "confidence": x.decision.confidence, "source": x.decision.source,
                   "reason": x.decision.reason} for x in policy.plan(op, shape, case).pieces]
        plans.append({"policy": files[key], "host": host, "op": op, "shape": shape, "case": case, "pieces": pieces})
    with open(os.path.join(VECTORS, "policy_plans.json"), "w") as f:
        json.dump(plans, f, indent=1)
        f.write("\n")
    try:
        Policy.load(os.path.join(VECTORS, files["v2"]), host=host_facts({**HOST, "cpu_model": "Other CPU"}))
    except PolicyError:
        pass
    import hostile_policies  # it builds on this module's policies

    hostile_policies.write(VECTORS)


if __name__ == "__main__":
    main()
