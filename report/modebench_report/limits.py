"""Machine limits (peak GFLOP/s, memory bandwidth) that bound a mode's throughput.

They come from `--limits FILE` (bench/overhead/machine_limits output) or from the
run context; device limits bound the modes that compute on the device.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .load import BadInput, read_json
from .modes import computes_on_device

# Host limits (cpu and hybrid compute) and device limits (gpu, ptx-jit).
LIMIT_KEYS = ("peak_gflops", "mem_gbps", "pcie_gbps", "gpu_peak_gflops", "gpu_mem_gbps")


def limits_for(limits: dict, mode: str):
    """(peak GFLOP/s, memory GB/s) that bound a mode's throughput, None where unknown."""
    if computes_on_device(mode):
        return limits.get("gpu_peak_gflops"), limits.get("gpu_mem_gbps")
    return limits.get("peak_gflops"), limits.get("mem_gbps")


@dataclass
class LimitSource:
    """Limits from one place, with what is known of how they were measured. Limits measured
    while the machine was busy understate its peaks (every "% of peak" would overstate):
    they are shown, marked, and never used in a figure."""

    values: dict
    source: str
    quiet: bool = None  # None: not known
    load_avg_1m: float = None
    cpus: int = None
    peak_note: str = None  # the ISA and the theoretical peak the measured one is checked against


    @property
    def usable(self) -> bool:
        return self.quiet is not False

    def conditions(self) -> str:
        load = ""
        if self.load_avg_1m is not None:
            load = f"load average {self.load_avg_1m:g}" + (f" on {self.cpus} CPUs" if self.cpus else "")
        if self.quiet is None:
            return "not known whether the machine was quiet" + (f" ({load})" if load else "")
        if self.quiet:
            return "measured on a quiet machine" + (f" ({load})" if load else "")
        return "measured under load" + (f" ({load})" if load else "") + ": not used in any figure"


def _number(path, doc, key, kind):
    v = doc[key]
    if isinstance(v, bool) or not isinstance(v, kind) or (isinstance(v, float) and not math.isfinite(v)):
        raise BadInput(path, f"'{key}' must be a finite {'integer' if kind is int else 'number'}")
    return v


# What machine_limits says of its FMA peak, beside the number (all optional).
_PEAK_PARTS = ("theoretical_peak_gflops", "cores", "fma_pipes", "lanes", "clock_ghz")
# The clock of scalar work, where machine_limits measured the ISA's own clock beside it.
_SCALAR_CLOCK = "scalar_clock_ghz"


def _peak_note(path, doc, peak):
    """E.g. "avx512; theoretical 346 GFLOP/s = 2 cores x 2 FMA pipes x 16 lanes x 2 flops x 2.70 GHz;
    measured 95 % of it", from the fields present; None where there are none."""
    isa = doc.get("isa")
    if isa is not None and (not isinstance(isa, str) or not re.fullmatch(r"[a-z0-9_]{1,16}", isa)):
        raise BadInput(path, "'isa' must be a short lower-case name such as avx512")
    parts = {}
    for k in _PEAK_PARTS + (_SCALAR_CLOCK,):
        if k in doc:
            v = _number(path, doc, k, (int, float))
            if v <= 0:
                raise BadInput(path, f"'{k}' must be positive")
            parts[k] = v
    notes = [isa] if isa else []
    theoretical = parts.get("theoretical_peak_gflops")
    if theoretical:
        how = ""
        if all(k in parts for k in _PEAK_PARTS[1:]):
            how = (
                f" = {parts['cores']:g} cores x {parts['fma_pipes']:g} FMA pipes x {parts['lanes']:g} lanes"
                f" x 2 flops x {parts['clock_ghz']:.2f} GHz"
            )
            if _SCALAR_CLOCK in parts:
                how += f" (the clock while its FMAs run; scalar work {parts[_SCALAR_CLOCK]:.2f} GHz)"
        notes.append(f"theoretical {theoretical:.4g} GFLOP/s{how}")
        if peak:
            notes.append(f"measured {100 * peak / theoretical:.0f} % of it")
    return "; ".join(notes) or None


def load_limits(path):
    """The LimitSource of a --limits file (bench/overhead/machine_limits output), or None."""
    if not path:
        return None
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise BadInput(path, "expected an object with peak_gflops / mem_gbps / pcie_gbps")
    values = {}
    for k in LIMIT_KEYS:
        if k in doc:
            v = doc[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise BadInput(path, f"'{k}' must be a positive finite number")
            values[k] = float(v)
    source = LimitSource(values, f"{path} (bench/overhead/machine_limits)")
    source.peak_note = _peak_note(path, doc, values.get("peak_gflops"))
    if "quiet" in doc:
        if not isinstance(doc["quiet"], bool):
            raise BadInput(path, "'quiet' must be true or false")
        source.quiet = doc["quiet"]
    if "load_avg_1m" in doc:
        source.load_avg_1m = float(_number(path, doc, "load_avg_1m", (int, float)))
        if source.load_avg_1m < 0:
            raise BadInput(path, "'load_avg_1m' must not be negative")
    if "cpus" in doc:
        source.cpus = _number(path, doc, "cpus", int)
        if source.cpus < 1:
            raise BadInput(path, "'cpus' must be a positive integer")
    return source


def limits_from_context(context: dict) -> dict:
    """The limits a run context carries (positive finite numbers only); how they were
    measured is not recorded there."""
    out = {}
    for k in LIMIT_KEYS:
        try:
            v = float(context[k])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            out[k] = v
    return out
