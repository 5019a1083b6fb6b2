"""The report's one table of execution modes (docs/contract.md, "Words": mode).

cmake/ModebenchLists.cmake holds the project's list of mode names; a test checks
that this table names the same modes in the same order. Everything in the report
that depends on a mode (columns of the compatibility matrix, which machine limits
bound it, which modes have a cold start, the policy's risk order) reads it here.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST, DEVICE = "host", "device"


@dataclass(frozen=True)
class Mode:
    name: str
    data: str  # where the tensors live: HOST or DEVICE
    compute: str  # where the math runs: HOST or DEVICE
    # The policy prefers a lower risk when it is not sure which mode is faster: cpu
    # always works; hybrid needs a device for storage only; gpu needs kernels for
    # this device; ptx-jit depends on the driver's JIT on top of that.
    risk: int
    forced_jit: bool = False  # every kernel must JIT from PTX (CUDA_FORCE_PTX_JIT=1)


MODES = (
    Mode("cpu", data=HOST, compute=HOST, risk=0),
    Mode("gpu", data=DEVICE, compute=DEVICE, risk=2),
    Mode("ptx-jit", data=DEVICE, compute=DEVICE, risk=3, forced_jit=True),
    Mode("hybrid", data=DEVICE, compute=HOST, risk=1),
)
NAMES = tuple(m.name for m in MODES)
_BY_NAME = {m.name: m for m in MODES}
# A mode name a newer harness writes that this table does not know yet: riskiest,
# compute place unknown (treated as host, whose limits are the ones always measured).
_UNKNOWN_RISK = max(m.risk for m in MODES) + 1


def mode(name: str):
    """The table row of a mode name, or None for a name this table does not know."""
    return _BY_NAME.get(name)


def risk(name: str) -> int:
    row = mode(name)
    return row.risk if row else _UNKNOWN_RISK


def computes_on_device(name: str) -> bool:
    row = mode(name)
    return bool(row and row.compute == DEVICE)


def host_only(name: str) -> bool:
    """Data and compute on the host: the mode every other one falls back to."""
    row = mode(name)
    return bool(row and row.data == HOST and row.compute == HOST)


def uses_device(name: str) -> bool:
    """Data or compute on the device (gpu, ptx-jit, hybrid): the entries a simulated device runs."""
    row = mode(name)
    return bool(row and (row.data == DEVICE or row.compute == DEVICE))


def moves_data_to_host(name: str) -> bool:
    """Data on the device, compute on the host: every call copies in and out (hybrid)."""
    row = mode(name)
    return bool(row and row.data == DEVICE and row.compute == HOST)


def device_modes_by_loading():
    """(the device mode that loads kernels the default way, the forced-JIT one): their
    cold starts differ by the JIT cost."""
    device = [m for m in MODES if m.compute == DEVICE]
    default = next(m.name for m in device if not m.forced_jit)
    forced = next(m.name for m in device if m.forced_jit)
    return default, forced


def ordered(names):
    """Mode names in table order; names the table does not know come last, sorted."""
    names = set(names)
    return [n for n in NAMES if n in names] + sorted(names - set(NAMES))
