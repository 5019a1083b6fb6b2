"""Machine limits (peak GFLOP/s, memory bandwidth) that bound a mode's throughput.

They come from `--limits FILE` (bench/overhead/machine_limits output) or from the
run context; device limits bound the modes that compute on the device.
"""

from __future__ import annotations

import json
import math

from .load import BadInput
from .modes import computes_on_device

# Host limits (cpu and hybrid compute) and device limits (gpu, ptx-jit).
LIMIT_KEYS = ("peak_gflops", "mem_gbps", "pcie_gbps", "gpu_peak_gflops", "gpu_mem_gbps")


def limits_for(limits: dict, mode: str):
    """(peak GFLOP/s, memory GB/s) that bound a mode's throughput, None where unknown."""
    if computes_on_device(mode):
        return limits.get("gpu_peak_gflops"), limits.get("gpu_mem_gbps")
    return limits.get("peak_gflops"), limits.get("mem_gbps")


def load_limits(path):
    if not path:
        return {}
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise BadInput(path, f"cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise BadInput(path, f"not JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise BadInput(path, "expected an object with peak_gflops / mem_gbps / pcie_gbps")
    out = {}
    for k in LIMIT_KEYS:
        if k in doc:
            v = doc[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise BadInput(path, f"'{k}' must be a positive finite number")
            out[k] = float(v)
    return out


def limits_from_context(context: dict) -> dict:
    """The limits a run context carries (positive finite numbers only)."""
    out = {}
    for k in LIMIT_KEYS:
        try:
            v = float(context[k])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            out[k] = v
    return out
