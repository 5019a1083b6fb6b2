"""A placement plan for a sequence of layers: where each layer runs (a mode), so that the whole
model is fastest, counting the copies between layers placed on different sides.

Each mode keeps a layer's data on one side: `cpu` on the host; `gpu`, `ptx-jit` and `hybrid` on
the device (hybrid computes on the host but keeps tensors on the device: its own copies are part
of its measured time). Moving one layer of a device-resident model to the cpu costs two
transfers (its input down, its output back up), which may cost more than the layer saves.

The plan is a shortest path over layers x modes (dynamic programming: each layer's best total
per mode is its time plus the cheapest way to reach it from the previous layer's modes),
exact and linear in the number of layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

HOST, DEVICE = "host", "device"
# Where each mode keeps a layer's input and output.
DATA_SIDE = {"cpu": HOST, "gpu": DEVICE, "ptx-jit": DEVICE, "hybrid": DEVICE}
# Ties go to the safer mode (the policy's risk order: cpu < hybrid < gpu < ptx-jit).
RISK = {"cpu": 0, "hybrid": 1, "gpu": 2, "ptx-jit": 3}

# transfer(i, from_side, to_side) -> ms: moving layer i's input (i = len(layers): the model's
# output) between sides; 0 where the sides are the same.
Transfer = Callable[[int, str, str], float]


@dataclass(frozen=True)
class Placement:
    modes: tuple  # one per layer
    total_ms: float  # layers + transfers
    layer_ms: tuple  # per layer, in its mode
    transfer_ms: tuple  # before each layer, and after the last (len(layers) + 1)

    @property
    def transfers(self) -> int:
        return sum(1 for t in self.transfer_ms if t > 0)


def bandwidth_transfer(bytes_in: Sequence[float], gbps: float, latency_ms: float = 0.0) -> Transfer:
    """A Transfer from each layer's input size (bytes_in[i]; the last entry: the model's output)
    and one host<->device bandwidth (GB/s, as the probe or the hybrid mode's copies measure it)."""
    if gbps <= 0:
        raise ValueError("bandwidth must be positive")

    def cost(i: int, a: str, b: str) -> float:
        return 0.0 if a == b else latency_ms + bytes_in[i] / (gbps * 1e9) * 1e3

    return cost


def _side(mode: str) -> str:
    try:
        return DATA_SIDE[mode]
    except KeyError:
        raise ValueError(f"unknown mode '{mode}' (known: {', '.join(DATA_SIDE)})") from None


def plan_placement(
    layer_ms: Sequence[Mapping[str, Optional[float]]],
    transfer: Transfer,
    start: str = HOST,
    end: Optional[str] = None,
) -> Placement:
    """The fastest placement. layer_ms[i]: {mode: ms} of layer i in each mode it can run in
    (None or absent: it cannot). The model's input starts on `start`; its output must end on
    `end` (default: where it started). ValueError where some layer can run nowhere."""
    end = start if end is None else end
    if not layer_ms:
        return Placement((), 0.0, (), (transfer(0, start, end),))
    # best[mode] = (total, risk-sum for ties, path of modes) up to and including this layer
    best: dict = {}
    for i, times in enumerate(layer_ms):
        here = {m: t for m, t in times.items() if t is not None and math.isfinite(t)}
        if not here:
            raise ValueError(f"layer {i} can run in no mode")
        nxt = {}
        for m, t in sorted(here.items()):
            side = _side(m)
            if i == 0:
                options = [(transfer(0, start, side), 0, ())]
            else:
                options = [(tot + transfer(i, _side(p), side), risk, path) for p, (tot, risk, path) in best.items()]
            tot, risk, path = min(options, key=lambda o: (o[0], o[1]))
            nxt[m] = (tot + t, risk + RISK.get(m, len(RISK)), path + (m,))
        best = nxt
    n = len(layer_ms)
    tot, _, path = min(
        ((tot + transfer(n, _side(path[-1]), end), risk, path) for tot, risk, path in best.values()),
        key=lambda o: (o[0], o[1]),
    )
    return evaluate(layer_ms, transfer, path, start, end)


def evaluate(layer_ms, transfer: Transfer, modes: Sequence[str], start: str = HOST, end: Optional[str] = None) -> Placement:
    """The time of a given placement (e.g. every layer in one mode), transfers included."""
    end = start if end is None else end
    sides = [start] + [_side(m) for m in modes] + [end]
    transfers = tuple(transfer(i, sides[i], sides[i + 1]) for i in range(len(modes) + 1))
    layers = []
    for i, m in enumerate(modes):
        t = layer_ms[i].get(m)
        if t is None:
            raise ValueError(f"layer {i} cannot run in {m}")
        layers.append(t)
    return Placement(tuple(modes), sum(layers) + sum(transfers), tuple(layers), transfers)


def single_mode_plans(layer_ms, transfer: Transfer, start: str = HOST, end: Optional[str] = None) -> dict:
    """{mode: Placement} for every mode that can run every layer (all cpu, all gpu, …)."""
    modes = set.intersection(*({m for m, t in lt.items() if t is not None} for lt in layer_ms)) if layer_ms else set()
    return {m: evaluate(layer_ms, transfer, [m] * len(layer_ms), start, end) for m in sorted(modes, key=RISK.get)}
