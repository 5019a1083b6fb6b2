"""A measured drop-in for the "compute on the CPU, keep the tensors on the GPU" monkeypatch.

    from modebench_policy import torch_dropin
    torch_dropin.patch_model(model, "policy.json")      # one line; or a Policy object

replaces every nn.Linear, nn.Conv2d and nn.Conv1d of `model` (in place) by a wrapper that asks the
policy on each call which mode to run for that layer's shape and batch, and runs it:

  gpu, ptx-jit  on the CUDA device (the input's, else the first); ptx-jit differs only in
                how the process loads kernels (CUDA_FORCE_PTX_JIT=1), which the process's
                environment decides, not the call
  hybrid naive  copy the input and the weights to the host on every call, compute there,
                copy the output back (what a hand-written fallback does)
  hybrid cached the weights copied to the host once (again only when they change), the
                input copied per call, the output copied back
  cpu           compute on the host; tensors already on the host stay there, tensors on a
                device come over as in hybrid cached (the measured cpu mode assumes the data
                lives on the host)

The output always goes back to the device of the input, so layers that are not wrapped
(BatchNorm, activations) keep working wherever the model lives. Where the policy chooses
gpu but no CUDA device is usable, the layer runs on the host and its `fallbacks` count says
so. A missing or bad policy file gives the safe default (cpu), with one warning naming the
error. For inference: host copies of the weights are cached only where no gradient is
needed (with autograd on, every call copies them, so gradients still reach the weights).

Layers whose shape the policy cannot describe (Conv2d dilation != 1, a padding mode other
than zeros, padding='same' with an odd total padding) are left as they are; patch_model lists
them. transformers' GPT-2 `Conv1D` (XTTS's GPT blocks) is a Linear with its weight transposed,
not an nn.Conv1d: it is not wrapped here, and the policy's linear cases measure its shapes.
"""

from __future__ import annotations

import warnings
from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn

from .reader import Policy
from .features import ShapeError

__all__ = ["PolicyLinear", "PolicyConv2d", "PolicyConv1d", "patch_model", "as_policy", "facts_from_torch"]


def facts_from_torch():
    """HostFacts of this machine, with the compute capability from torch when CUDA is usable."""
    from .host import HostFacts

    cc = None
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        cc = f"{major}.{minor}"
    return HostFacts.detect(gpu_cc=cc)


def as_policy(policy, allow_other_host: bool = False) -> Policy:
    """A Policy as given, or loaded from a path; a missing or bad file gives the safe default
    (cpu) and one warning."""
    if isinstance(policy, Policy):
        return policy
    loaded = Policy.load_or_default(str(policy), host=facts_from_torch(), allow_other_host=allow_other_host)
    if loaded.error:
        warnings.warn(f"modebench policy not used, every layer runs the safe default (cpu): {loaded.error}", stacklevel=3)
    return loaded


def _compute_device(x: torch.Tensor):
    """The CUDA device a gpu decision runs on, or None where none is usable."""
    if x.is_cuda:
        return x.device
    if torch.cuda.is_available():
        return torch.device("cuda")
    return None


_HOST = torch.device("cpu")


class _PolicyLayer(nn.Module):
    """What both wrappers share: the decision per (shape, batch), the runs per mode, counts."""

    op = ""

    def __init__(self, layer: nn.Module, policy: Policy, name: str = "", trace: list = None):
        super().__init__()
        self.layer = layer
        self.policy = policy
        self.name = name
        self.trace = trace
        self.calls = Counter()  # "mode/impl" -> calls
        self.fallbacks = 0  # gpu chosen, no CUDA device usable: ran on the host
        self.last = None  # the last Decision
        self._plans = {}  # shape -> the policy's Plan of it: a binary search per call
        self._traced = set()  # (shape, batch) already in the trace
        self._copies = {}  # (device, parameter name) -> (version, tensor)

    # ---- subclasses
    def shape_and_batch(self, x):
        raise NotImplementedError

    def compute(self, x, weight, bias):
        raise NotImplementedError

    # ---- the call
    def decide(self, x):
        shape, batch = self.shape_and_batch(x)
        key = tuple(sorted(shape.items()))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self.policy.plan(self.op, shape)
        d = plan.choose(batch)
        if self.trace is not None and (key, batch) not in self._traced:
            # The trace keeps choose()'s wording of this very batch (the same mode and impl).
            self._traced.add((key, batch))
            self.trace.append({"layer": self.name, "op": self.op, "shape": shape, "batch": batch,
                               "decision": self.policy.choose(self.op, shape, batch)})
        return d

    def forward(self, x):
        if x.numel() == 0:
            return self.layer(x)
        d = self.last = self.decide(x)
        self.calls[f"{d.mode}/{d.impl}" if d.impl else d.mode] += 1
        if d.mode in ("gpu", "ptx-jit"):
            return self._on_device(x)
        if d.mode == "hybrid" and d.impl.endswith("naive"):
            return self._on_host(x, cached=False)
        return self._on_host(x, cached=True)  # hybrid cached, cpu, the safe default, an unknown mode

    def _params(self, device, cached):
        """(weight, bias) on `device`: the layer's own where they already are there; else a
        copy, kept while the parameter is unchanged when `cached` and no gradient is needed."""
        out = []
        for pname in ("weight", "bias"):
            p = getattr(self.layer, pname)
            if p is None or p.device == device:
                out.append(p)
                continue
            if not cached or (torch.is_grad_enabled() and p.requires_grad):
                out.append(p.to(device, copy=True))
                continue
            key = (str(device), pname)
            have = self._copies.get(key)
            if have is None or have[0] != (p._version, p.data_ptr()):
                have = self._copies[key] = ((p._version, p.data_ptr()), p.detach().to(device, copy=True))
            out.append(have[1])
        return out

    def _on_host(self, x, cached):
        w, b = self._params(_HOST, cached)
        y = self.compute(x.to(_HOST, copy=not cached and x.device != _HOST), w, b)
        return y.to(x.device, non_blocking=True)

    def _on_device(self, x):
        device = _compute_device(x)
        if device is None:
            self.fallbacks += 1
            return self._on_host(x, cached=True)
        w, b = self._params(device, cached=True)
        return self.compute(x.to(device), w, b).to(x.device)

    def extra_repr(self):
        return f"policy={self.policy.path!r}, calls={dict(self.calls)}"


class PolicyLinear(_PolicyLayer):
    """nn.Linear whose mode the policy chooses per call; batch = rows of the input."""

    op = "linear"

    def __init__(self, layer: nn.Linear, policy, name: str = "", trace: list = None):
        super().__init__(layer, as_policy(policy), name, trace)

    def shape_and_batch(self, x):
        shape = {"in_features": self.layer.in_features, "out_features": self.layer.out_features}
        return shape, max(1, x.numel() // self.layer.in_features)

    def compute(self, x, weight, bias):
        return F.linear(x, weight, bias)


def conv_shape(layer: nn.Conv2d, height: int, width: int):
    """The policy's shape of a Conv2d on an input of height x width, or None where the
    policy's conv2d cannot describe it."""
    if tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros":
        return None
    kh, kw = layer.kernel_size
    padding = layer.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif kh % 2 and kw % 2:  # 'same' (stride 1): symmetric only for odd kernels
            padding = ((kh - 1) // 2, (kw - 1) // 2)
        else:
            return None
    return {"in_channels": layer.in_channels, "out_channels": layer.out_channels, "height": height, "width": width,
            "kernel_size": (kh, kw), "stride": tuple(layer.stride), "padding": tuple(padding), "groups": layer.groups}


class PolicyConv2d(_PolicyLayer):
    """nn.Conv2d whose mode the policy chooses per call; batch = N of the NCHW input."""

    op = "conv2d"

    def __init__(self, layer: nn.Conv2d, policy, name: str = "", trace: list = None):
        if conv_shape(layer, 1_000_000, 1_000_000) is None:
            raise ShapeError(f"{name or 'Conv2d'}: dilation, padding mode or padding the policy cannot describe")
        super().__init__(layer, as_policy(policy), name, trace)

    def shape_and_batch(self, x):
        batch = x.shape[0] if x.dim() == 4 else 1
        return conv_shape(self.layer, x.shape[-2], x.shape[-1]), batch

    def compute(self, x, weight, bias):
        return self.layer._conv_forward(x, weight, bias)


def conv1d_shape(layer: nn.Conv1d, length: int):
    """The policy's shape of a Conv1d on an input of `length`, or None where the policy's
    conv1d cannot describe it (a padding mode other than zeros, 'same' with an odd total)."""
    if layer.padding_mode != "zeros":
        return None
    (k,), (d,) = layer.kernel_size, layer.dilation
    padding = layer.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,)
        elif (d * (k - 1)) % 2 == 0:  # 'same' (stride 1): symmetric only for an even total
            padding = (d * (k - 1) // 2,)
        else:
            return None
    return {"in_channels": layer.in_channels, "out_channels": layer.out_channels, "length": length, "kernel": k,
            "stride": layer.stride[0], "padding": padding[0], "dilation": d, "groups": layer.groups}


class PolicyConv1d(_PolicyLayer):
    """nn.Conv1d whose mode the policy chooses per call; batch = N of the [N, C, L] input."""

    op = "conv1d"

    def __init__(self, layer: nn.Conv1d, policy, name: str = "", trace: list = None):
        if conv1d_shape(layer, 1_000_000) is None:
            raise ShapeError(f"{name or 'Conv1d'}: padding mode or padding the policy cannot describe")
        super().__init__(layer, as_policy(policy), name, trace)

    def shape_and_batch(self, x):
        batch = x.shape[0] if x.dim() == 3 else 1
        return conv1d_shape(self.layer, x.shape[-1]), batch

    def compute(self, x, weight, bias):
        return self.layer._conv_forward(x, weight, bias)


def patch_model(model: nn.Module, policy, allow_other_host: bool = False, trace: list = None) -> nn.Module:
    """Replaces every nn.Linear, nn.Conv2d and nn.Conv1d in `model` (in place) by PolicyLinear /
    PolicyConv2d / PolicyConv1d sharing one policy (a Policy or a path). `trace`: a list that receives one
    entry per new (layer, shape, batch) decision. Returns the model; `model.modebench_skipped`
    lists the layers left as they were, and why."""
    p = as_policy(policy, allow_other_host)
    skipped = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            try:
                if type(child) is nn.Linear:
                    setattr(parent, child_name, PolicyLinear(child, p, full, trace))
                elif type(child) is nn.Conv2d:
                    setattr(parent, child_name, PolicyConv2d(child, p, full, trace))
                elif type(child) is nn.Conv1d:
                    setattr(parent, child_name, PolicyConv1d(child, p, full, trace))
            except ShapeError as e:
                skipped.append(f"{full}: {e}")
    model.modebench_skipped = skipped
    return model

