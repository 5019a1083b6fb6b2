"""A measured placement plan for a whole PyTorch model:

    from modebench_policy.profile import profile
    result = profile(model, example_input, batches=[1, 8], modebench="build/modebench",
                     out="results/mobilenetv2.profile.json", policy_out="mobilenetv2.policy.json")

1. Forward hooks on the example input record every nn.Linear, nn.Conv1d and nn.Conv2d call in
   order: its shape in the policy readers' names (features.py; conv1d: in_channels,
   out_channels, length, kernel, stride, padding, dilation, groups) and its rows per sample
   (linear on [B, T, C]: T rows per sample).
2. `modebench run --shape …` measures the distinct shapes (ad-hoc cases, validated like the
   named ones) at each layer's batch, in every mode given (`modes`), with
   MODEBENCH_EVICT_BYTES = the model's weight bytes: in the model every other layer's weights
   pass through the caches between two calls of a layer (XTTS-like at B = 1 predicted 35 % low
   without it, 11–23 % low with it); an op this build does not
   know (conv1d before it is an op) is reported as "not measurable by this build" and its layers
   stay in the model's rest.
3. Per batch, each layer's time per mode is that of the impl the drop-in (torch_dropin) runs in
   that mode: torch's (`torch`, `torch_cached`), or, where this build has no torch provider, the
   fastest of modebench's own (said so). By default only the drop-in's impls are run where the
   build has them (`impls`: others too, shown in the layer table beside them). The copies come from `bandwidth_gbps` (the probe's or
   the hybrid mode's measured bandwidth); with no device there are none to measure.
4. plan_placement (placement.py) gives the fastest placement over the layers, beside the
   single-mode plans; the rest of the model (BatchNorm, activations, attention's matmuls, and
   layers not measurable) is timed with the measured layers stubbed out, so the prediction is
   rest + the plan's layers and transfers.
5. The plan is written as a modebench-policy/2 file (`policy_out`): one measured rule per
   distinct shape whose ranges follow the plan per batch. That is the plan exactly where every
   layer of a shape gets one placement, which holds for every plan without a device (all cpu);
   a mixed plan that places two layers of one shape differently cannot be said per shape and is
   flagged (`per_shape_exact: false`). The patched model (torch_dropin.patch_model with that
   file) is then timed, so the prediction is checked.

The result is written as `modebench-profile/1` JSON (`out`; docs/contract.md): what
`modebench-report render --profile` shows per model.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from typing import Optional, Sequence

from . import placement
from .features import ShapeError, normalize
from .host import identity_from_context

SCHEMA = "modebench-profile/1"
# What the drop-in runs in each mode (torch_dropin.py): torch's ops, on the host or the device.
DROPIN_IMPL = {"cpu": "torch", "gpu": "torch", "ptx-jit": "torch", "hybrid": "torch_cached"}


class ProfileError(RuntimeError):
    """profile() could not run: one line."""


# ------------------------------------------------------------------ recording
def _conv1d_shape(layer, length):
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        return None
    return {"in_channels": layer.in_channels, "out_channels": layer.out_channels, "length": int(length),
            "kernel": layer.kernel_size[0], "stride": layer.stride[0], "padding": layer.padding[0],
            "dilation": layer.dilation[0], "groups": layer.groups}


def record_layers(model, example_input):
    """[{index, name, op, shape, rows, in_elems, out_elems, why}] of every Linear/Conv1d/Conv2d
    call of model(example_input), in call order; rows = the op's batch per sample of the
    example's batch; in/out_elems per sample; `why`: set where the policy cannot describe the
    layer (it then stays in the model's rest)."""
    import torch
    from torch import nn

    from .torch_dropin import conv_shape

    batch = int(example_input.shape[0])
    layers, hooks = [], []

    def hook(name):
        def record(module, args, output):
            x = args[0]
            why, shape, op = None, None, None
            if type(module) is nn.Linear:
                op, shape = "linear", {"in_features": module.in_features, "out_features": module.out_features}
                rows = max(1, x.numel() // module.in_features)
            elif type(module) is nn.Conv2d:
                op, shape, rows = "conv2d", conv_shape(module, x.shape[-2], x.shape[-1]), x.shape[0] if x.dim() == 4 else 1
                if shape is not None:
                    shape = normalize("conv2d", shape)
            else:
                op, shape, rows = "conv1d", _conv1d_shape(module, x.shape[-1]), x.shape[0] if x.dim() == 3 else 1
            if shape is None:
                why = "dilation, padding mode or padding the policy cannot describe"
            layers.append({"index": len(layers), "name": name, "op": op, "shape": shape, "rows": rows / batch,
                           "in_elems": x.numel() / batch, "out_elems": output.numel() / batch, "why": why})
        return record

    for name, m in model.named_modules():
        if type(m) in (nn.Linear, nn.Conv1d, nn.Conv2d):
            hooks.append(m.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            model(example_input)
    finally:
        for h in hooks:
            h.remove()
    return layers


def shape_text(op, shape) -> str:
    """The `--shape` argument of a layer (docs/contract.md)."""
    return op + ":" + ",".join(f"{k}={v}" for k, v in shape.items())


def _key(op, shape):
    try:
        shape = normalize(op, shape)
    except ShapeError:  # an op the readers do not know yet (conv1d): as given
        pass
    return op, tuple(sorted(shape.items()))


def _case_shape(case):
    out = {}
    for item in case.split(","):
        k, sep, v = item.partition("=")
        if not sep or not v.isdigit():
            return None
        out[k] = int(v)
    return out


# ------------------------------------------------------------------ measuring
def _run(cmd, what, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def measurable_ops(modebench, layers):
    """({op: None where this build measures its shapes, else why not}, {op: whether this build
    runs the drop-in's own cpu impl for it}), asked with each op's first layer (`modebench list
    --shape`: an op the build does not know is refused)."""
    out, dropin = {}, {}
    for la in layers:
        if la["op"] in out or la["why"]:
            continue
        code, listed, err = _run([modebench, "list", "--modes", "cpu", "--batches", "1", "--shape",
                                  shape_text(la["op"], la["shape"])], "list")
        out[la["op"]] = None if code == 0 else f"not measurable by this build ({err.removeprefix('modebench: error: ')})"
        dropin[la["op"]] = code == 0 and f"/impl:{DROPIN_IMPL['cpu']}/" in listed
    return out, dropin


def measure(modebench, shapes_by_batches, modes, min_time, impls=None, log=print, evict_bytes=0):
    """Runs modebench once per set of batches; returns ({(op, shape key): {batch: {(mode, impl): ms or
    status}}}, the run context). evict_bytes: MODEBENCH_EVICT_BYTES (docs/contract.md), the bytes
    the model reads between two calls of one layer."""
    times, context = {}, {"contended": 0, "entries": 0}
    env = dict(os.environ, MODEBENCH_EVICT_BYTES=str(int(evict_bytes))) if evict_bytes else None
    for batches, texts in sorted(shapes_by_batches.items()):
        with tempfile.TemporaryDirectory(prefix="modebench-profile-") as tmp:
            out = os.path.join(tmp, "run.json")
            cmd = [modebench, "run", "--modes", ",".join(modes), "--batches", ",".join(map(str, batches)),
                   "--out", out, f"--benchmark_min_time={min_time}"]
            if impls:
                cmd += ["--impls", ",".join(impls)]
            for t in sorted(texts):
                cmd += ["--shape", t]
            t0 = time.perf_counter()
            code, _, err = _run(cmd, "run", env)
            if code not in (0, 1) or not os.path.exists(out):
                raise ProfileError(f"modebench run failed (exit {code}): {err}")
            log(f"modebench: {len(texts)} shapes x batches {list(batches)}: {time.perf_counter() - t0:.1f} s ({err})")
            doc = json.load(open(out))
            context.update(doc.get("context", {}))
        for r in doc["benchmarks"]:
            if r.get("run_type") == "aggregate":
                continue
            op, case, mode, impl, batch = r["name"].split("/")
            shape = _case_shape(case)
            if shape is None:
                continue
            cell = times.setdefault(_key(op, shape), {}).setdefault(int(batch.split(":")[1]), {})
            line = (mode.split(":")[1], impl.split(":")[1])
            if r.get("error_occurred"):
                cell.setdefault(line, r.get("error_message", "failed"))
            else:
                context["entries"] += 1
                # docs/contract.md "Contention": other processes kept more than 0.1 cores busy, and
                # more than the span's counters can resolve
                context["contended"] += r.get("other_cores", 0.0) + r.get("steal_cores", 0.0) > max(
                    0.1, r.get("other_cores_resolution", 0.0))
                scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[r.get("time_unit", "ns")]
                prev = cell.get(line)
                cell[line] = r["real_time"] * scale if not isinstance(prev, float) else min(prev, r["real_time"] * scale)
    return times, context


def _time_models(models, x, min_s=1.0, repeats=5):
    """Median ms of each model(x) over `repeats` rounds of at least min_s / repeats each, the models
    taking turns round by round (after 2 warm-up calls each): a slow spell of the machine falls on
    all of them, not on one. Timed one after the other, MobileNetV2's rest at B = 1 once read 13.2
    ms against 7.6 in the next profile, and its prediction was 33 % off. Rounds of 0.2 s: in
    shorter ones the first call after another model's (cold caches) weighed too much."""
    import torch

    rounds = [[] for _ in models]
    with torch.no_grad():
        for m in models:
            for _ in range(2):
                m(x)
        for _ in range(repeats):
            for m, out in zip(models, rounds):
                n, t0 = 0, time.perf_counter()
                while True:
                    m(x)
                    n += 1
                    if time.perf_counter() - t0 >= min_s / repeats:
                        break
                out.append((time.perf_counter() - t0) / n * 1e3)
    return [statistics.median(r) for r in rounds]


def _stubbed(model, covered_names):
    """A copy of `model` whose covered layers return an empty tensor of their output's shape:
    what the model costs besides them."""
    import torch
    from torch import nn

    class Stub(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer
            self.shapes = {}

        def forward(self, x):
            key = tuple(x.shape)
            if key not in self.shapes:
                with torch.no_grad():
                    self.shapes[key] = tuple(self.layer(x).shape)
            return torch.empty(self.shapes[key], dtype=x.dtype, device=x.device)

    m = copy.deepcopy(model)
    for parent_name, parent in list(m.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if full in covered_names:
                setattr(parent, child_name, Stub(child))
    return m


def _with_batch(x, batch):
    reps = math.ceil(batch / x.shape[0])
    return x.repeat(reps, *([1] * (x.dim() - 1)))[:batch].contiguous()


# ------------------------------------------------------------------ the plan as a policy
def plan_policy(layers, plans_by_batch, context) -> dict:
    """A modebench-policy/2 document of the plan: per distinct shape, the mode/impl the plan gives
    its layers at each measured batch (ranges from batch 1 up; the last open)."""
    rules, exact = {}, True
    for batch, plan in sorted(plans_by_batch.items()):
        for layer, mode, impl in zip(plan["layers"], plan["modes"], plan["impls"]):
            key = _key(layer["op"], layer["shape"])
            op_batch = max(1, round(layer["rows"] * batch))
            picks = rules.setdefault(key, (layer["op"], layer["shape"], {}))[2]
            if picks.get(op_batch, (mode, impl)) != (mode, impl):
                exact = False
            picks.setdefault(op_batch, (mode, impl))
    out_rules = []
    for (op, _), (op_, shape, picks) in sorted(rules.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        ranges, lo = [], 1
        batches = sorted(picks)
        for i, b in enumerate(batches):
            mode, impl = picks[b]
            last = i == len(batches) - 1
            if ranges and (ranges[-1]["mode"], ranges[-1]["impl"]) == (mode, impl):
                ranges[-1]["batch_max"] = None if last else b
            else:
                ranges.append({"batch_min": lo, "batch_max": None if last else b, "mode": mode, "impl": impl,
                               "confidence": None, "provisional": True, "processes": 1})
            lo = b + 1
        out_rules.append({"op": op, "case": shape_text(op, shape).split(":", 1)[1], "shape": shape, "ranges": ranges,
                          "excluded": [], "measured_batches": batches})
    return {"schema": "modebench-policy/2", "host": {"cpu_model": context.get("cpu_model")},
            "identity": identity_from_context(context),
            "rules": out_rules, "models": [], "excluded": [], "risks": {},
            "plan": {"source": "modebench_policy.profile", "per_shape_exact": exact}}


# ------------------------------------------------------------------ profile
def profile(model, example_input, batches: Sequence[int], modebench: str = "build/modebench",
            modes: Sequence[str] = ("cpu", "hybrid", "gpu"), min_time: float = 0.05,
            bandwidth_gbps: Optional[float] = None, out: Optional[str] = None, policy_out: Optional[str] = None,
            name: str = "model", impls: Optional[Sequence[str]] = None, log=print) -> dict:
    """Profiles `model` (see the module doc); returns the modebench-profile/1 document."""
    import torch  # noqa: F401

    from . import torch_dropin

    t_start = time.perf_counter()
    if not os.access(modebench, os.X_OK):
        raise ProfileError(f"{modebench}: no modebench executable (build it, or pass modebench=)")
    model.eval()
    layers = record_layers(model, example_input)
    if not layers:
        raise ProfileError("the model has no nn.Linear, nn.Conv1d or nn.Conv2d layer")
    not_measurable, has_dropin = measurable_ops(modebench, layers)
    if impls is None:
        # The plan is the drop-in's, which runs torch's ops: timing every other impl of every
        # shape was most of a profile's time (MobileNetV2: 9 min); impls=[...] asks for them.
        if all(has_dropin.get(op, True) for op, why in not_measurable.items() if why is None):
            impls = sorted(set(DROPIN_IMPL.values()))
            log(f"measuring the drop-in's impls ({', '.join(impls)}); pass impls=[...] for others")
    for la in layers:
        if la["why"] is None and not_measurable.get(la["op"]):
            la["why"] = not_measurable[la["op"]]
    measured = [la for la in layers if la["why"] is None]
    by_batches = {}
    for la in measured:
        op_batches = tuple(sorted({max(1, round(la["rows"] * b)) for b in batches}))
        by_batches.setdefault(op_batches, set()).add(shape_text(la["op"], la["shape"]))
    # In the model, every other layer's weights are read between two calls of a layer; called in
    # a loop it finds its own in cache. XTTS-like at B = 1: its 120 MB of linear weights ran 1.5x
    # slower inside the model than in a loop, and the prediction was 35 % low.
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    times, context = measure(modebench, by_batches, modes, min_time, impls, log, evict_bytes=weight_bytes)
    device_modes_measured = {line[0] for cells in times.values() for cell in cells.values()
                             for line, t in cell.items() if line[0] != "cpu" and isinstance(t, float)}
    if device_modes_measured and not bandwidth_gbps:
        raise ProfileError(f"{', '.join(sorted(device_modes_measured))} ran: give bandwidth_gbps (the host<->device "
                           "bandwidth modebench probe measures) so the plan can count the copies")
    notes = []
    for op, why in sorted(not_measurable.items()):
        if why:
            notes.append(f"{op}: {why}; its layers stay in the model's rest")

    doc = {"schema": SCHEMA, "model": name, "modes": list(modes), "bandwidth_gbps": bandwidth_gbps,
           "evict_bytes": weight_bytes,
           "layers": [], "batches": [], "notes": notes}
    for la in layers:
        doc["layers"].append({k: la[k] for k in ("index", "name", "op", "shape", "rows", "why")})
    own_fallback = False
    plans_by_batch = {}
    for b in batches:
        layer_ms, impl_of, table = [], [], []
        for la in measured:
            cell = times.get(_key(la["op"], la["shape"]), {}).get(max(1, round(la["rows"] * b)), {})
            per_mode, chosen_impl, row = {}, {}, {}
            for mode in modes:
                ok = {impl: t for (m, impl), t in cell.items() if m == mode and isinstance(t, float)}
                statuses = {impl: t for (m, impl), t in cell.items() if m == mode and not isinstance(t, float)}
                row[mode] = {"ms": ok, "status": statuses}
                dropin = DROPIN_IMPL.get(mode)
                if dropin in ok:
                    per_mode[mode], chosen_impl[mode] = ok[dropin], dropin
                elif ok:
                    own_fallback = True
                    best = min(ok, key=ok.get)
                    per_mode[mode], chosen_impl[mode] = ok[best], best
                if ok:
                    row[mode]["best"] = min(ok, key=ok.get)
            if not per_mode:
                raise ProfileError(f"layer {la['index']} ({la['name']}, {shape_text(la['op'], la['shape'])}) "
                                   f"ran in no mode at batch {b}: {cell}")
            layer_ms.append(per_mode)
            impl_of.append(chosen_impl)
            table.append(row)
        elems = [la["in_elems"] * b for la in measured] + [measured[-1]["out_elems"] * b]
        # Without a device mode nothing ever changes side: the transfer cost is never asked for.
        transfer = placement.bandwidth_transfer([4.0 * e for e in elems], bandwidth_gbps or 1.0)
        best = placement.plan_placement(layer_ms, transfer)
        singles = placement.single_mode_plans(layer_ms, transfer)
        impls_chosen = [impl_of[i][m] for i, m in enumerate(best.modes)]
        plans_by_batch[b] = {"layers": measured, "modes": best.modes, "impls": impls_chosen}

        # rest_ms and the predictions are filled in below, once the patched model exists
        entry = {"batch": b, "rest_ms": None, "layers": [], "plan": {
            "modes": list(best.modes), "impls": impls_chosen, "layers_ms": best.total_ms - sum(best.transfer_ms),
            "transfers_ms": sum(best.transfer_ms), "predicted_ms": best.total_ms},
            "single_mode": {m: {"predicted_ms": p.total_ms, "transfers_ms": sum(p.transfer_ms)}
                            for m, p in singles.items()}}
        for la, row, m, impl in zip(measured, table, best.modes, impls_chosen):
            entry["layers"].append({"index": la["index"], "batch": max(1, round(la["rows"] * b)), "modes": row,
                                    "placement": m, "impl": impl})
        doc["batches"].append(entry)

    policy_doc = plan_policy(layers, plans_by_batch, context)
    path = policy_out or os.path.join(tempfile.mkdtemp(prefix="modebench-plan-"), "policy.json")
    with open(path, "w") as f:
        json.dump(policy_doc, f, indent=1)
    doc["policy"] = policy_out
    doc["policy_per_shape_exact"] = policy_doc["plan"]["per_shape_exact"]
    patched = torch_dropin.patch_model(copy.deepcopy(model), path, allow_other_host=True)
    rest = _stubbed(model, {la["name"] for la in measured})
    for entry in doc["batches"]:
        x = _with_batch(example_input, entry["batch"])
        entry["rest_ms"], entry["unpatched_ms"], entry["measured_ms"] = _time_models([rest, model, patched], x)
        for plan in [entry["plan"], *entry["single_mode"].values()]:
            plan["predicted_ms"] += entry["rest_ms"]
        entry["error"] = entry["plan"]["predicted_ms"] / entry["measured_ms"] - 1
    if own_fallback:
        doc["notes"].append("this build has no torch provider: layer times are modebench's fastest own impl, "
                            "not the torch op the drop-in runs, so the check compares different computations")
    if context["contended"]:
        doc["notes"].append(f"{context['contended']} of {context['entries']} timed entries were contended (other "
                            "processes kept more than 0.1 cores busy): these layer times are not a quiet machine's")
    if not device_modes_measured:
        doc["notes"].append("no device mode ran here (" + ", ".join(m for m in modes if m != "cpu") +
                            " unavailable): the plan is cpu only, and no copy between host and device was "
                            "measured" + (f"; bandwidth {bandwidth_gbps} GB/s given" if bandwidth_gbps else ""))
    doc["profile_seconds"] = time.perf_counter() - t_start
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
    log(summary(doc, layers))
    return doc


def summary(doc, layers=None) -> str:
    """The plan per batch, beside the single-mode plans, and predicted against measured."""
    lines = [f"{doc['model']}: {len(doc['layers'])} layers ({sum(1 for la in doc['layers'] if not la['why'])} measured)"]
    for e in doc["batches"]:
        p = e["plan"]
        placed = {}
        for m, i in zip(p["modes"], p["impls"]):
            placed[f"{m}/{i}"] = placed.get(f"{m}/{i}", 0) + 1
        singles = ", ".join(f"all {m} {s['predicted_ms']:.3g} ms" for m, s in e["single_mode"].items())
        lines.append(f"  B={e['batch']}: plan {', '.join(f'{k} x{v}' for k, v in placed.items())}: predicted "
                     f"{p['predicted_ms']:.3g} ms (layers {p['layers_ms']:.3g} + transfers {p['transfers_ms']:.3g} + rest "
                     f"{e['rest_ms']:.3g}); {singles}; measured patched {e.get('measured_ms', float('nan')):.3g} ms "
                     f"({100 * e.get('error', float('nan')):+.0f} %), unpatched {e.get('unpatched_ms', float('nan')):.3g} ms")
    lines += [f"  note: {n}" for n in doc["notes"]]
    return "\n".join(lines)
