"""The shapes of the harness's named cases (docs/ops.md; the harness's home of them is
ops/<op>/case.cpp), in the reader's shape vocabulary (python/modebench_policy features.py).

The policy stores each rule's shape so that an application's reader finds a measured
case from the shape it runs; the cost model fits on the features of these shapes. A
test checks every shape here against the flop and bytes per call the harness itself
reports (FLOPS and bytes_per_second x time) in real result files, so this table cannot
drift from the C++ cases unnoticed. A case missing here keeps its measured ranges (found
by name) but has no shape and stays out of the cost model. An ad-hoc case (`--shape`) is named
by its shape, which adhoc_shape reads back.
"""

from __future__ import annotations


def _conv(c, k, hw, r, stride=1, pad=0, groups=1):
    return {"in_channels": c, "out_channels": k, "height": hw[0], "width": hw[1], "kernel_size": r,
            "stride": stride, "padding": pad, "groups": groups}


SHAPES = {
    ("linear", "square_1024"): {"in_features": 1024, "out_features": 1024},
    ("linear", "mobilenetv2_head"): {"in_features": 1280, "out_features": 1000},
    ("linear", "xtts_qkv"): {"in_features": 1024, "out_features": 3072},
    ("linear", "xtts_mlp_up"): {"in_features": 1024, "out_features": 4096},
    ("linear", "xtts_mlp_down"): {"in_features": 4096, "out_features": 1024},
    ("conv2d", "resnet_3x3"): _conv(64, 64, (56, 56), 3, pad=1),
    ("conv2d", "mbv2_depthwise"): _conv(144, 144, (56, 56), 3, pad=1, groups=144),
    ("conv2d", "mbv2_pointwise"): _conv(96, 24, (56, 56), 1),
    ("conv2d", "mbv2_stem"): _conv(3, 32, (224, 224), 3, stride=2, pad=1),
    ("ssim", "nerf_800"): {"height": 800, "width": 800},
    ("ssim", "mip_1600"): {"height": 1066, "width": 1600},
    ("ssim", "hd_1080p"): {"height": 1080, "width": 1920},
    # knn's cases differ by point cloud, not by shape: the shape is empty, the reader
    # finds them by name (choose(..., case="uniform")).
    ("knn", "uniform"): {},
    ("knn", "clustered"): {},
}


def adhoc_shape(op: str, case: str):
    """The shape of an ad-hoc case (`modebench run --shape`, docs/contract.md): its name is its
    canonical shape, `key=value,...` in the readers' names (harness/registry.cpp), so the policy
    stores it and a reader finds it as measured. None for a name that is no such shape."""
    if "=" not in case:
        return None
    shape = {}
    for item in case.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key or key in shape or not (value.isascii() and value.isdigit()):
            return None
        shape[key] = int(value)
    from . import costmodel  # the readers' normalize (costmodel puts this checkout's reader first)

    try:
        costmodel.normalize(op, shape)
    except ValueError:
        return None
    return shape


def shape_of(op: str, case: str):
    """The case's shape, or None when neither this table nor the case's name knows it."""
    s = SHAPES.get((op, case))
    return dict(s) if s is not None else adhoc_shape(op, case)
