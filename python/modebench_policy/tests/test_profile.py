"""profile(): a whole model's layers recorded in order, measured with `modebench run --shape`,
planned, written as a policy the drop-in applies, and the patched model timed. The end-to-end
test needs the built modebench (MODEBENCH_BIN, else build/modebench) and torch; no timing is
asserted, only that every layer was measured, the plan is what this box allows (cpu only without
a device) and the written policy answers each layer's shape as measured."""

import json
import math
import os

import make_vectors  # noqa: F401  first: puts this checkout's package on the path
import pytest

from modebench_policy import MEASURED, HostFacts, Policy
from modebench_policy.profile import plan_policy, shape_text

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODEBENCH = os.environ.get("MODEBENCH_BIN") or os.path.join(ROOT, "build", "modebench")


def _layer(i, op, shape, rows=1.0):
    return {"index": i, "name": f"l{i}", "op": op, "shape": shape, "rows": rows, "why": None}


def test_the_plan_policy_follows_the_plan_per_shape_and_batch():
    a = _layer(0, "linear", {"in_features": 8, "out_features": 4}, rows=4.0)
    b = _layer(1, "linear", {"in_features": 4, "out_features": 8}, rows=4.0)
    plans = {1: {"layers": [a, b], "modes": ("cpu", "cpu"), "impls": ("torch", "torch")},
             8: {"layers": [a, b], "modes": ("hybrid", "cpu"), "impls": ("torch_cached", "torch")},
             32: {"layers": [a, b], "modes": ("hybrid", "cpu"), "impls": ("torch_cached", "torch")}}
    doc = plan_policy([a, b], plans, {"cpu_model": "Test CPU", "host_gpus": ""})
    (ra, rb) = sorted(doc["rules"], key=lambda r: r["shape"]["in_features"], reverse=True)
    # op batches are rows x batch: 4, 32, 128; one range per change, the last open
    assert [(r["batch_min"], r["batch_max"], r["mode"]) for r in ra["ranges"]] == [(1, 4, "cpu"), (5, None, "hybrid")]
    assert [(r["batch_min"], r["batch_max"], r["mode"]) for r in rb["ranges"]] == [(1, None, "cpu")]
    assert ra["measured_batches"] == [4, 32, 128] and doc["plan"]["per_shape_exact"]
    p = Policy(doc, "plan")
    assert Policy.load  # the document validates as any /2 file does:
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"plan-{os.getpid()}.json")
    json.dump(doc, open(path, "w"))
    try:
        loaded = Policy.load(path, host=HostFacts("Test CPU", (), None, None))
        d = loaded.choose("linear", {"in_features": 8, "out_features": 4}, 32)
        assert (d.mode, d.impl, d.source) == ("hybrid", "torch_cached", MEASURED)
    finally:
        os.unlink(path)
    assert p.choose("linear", {"in_features": 4, "out_features": 8}, 2).mode == "cpu"
    # two layers of one shape placed differently: a per-shape rule cannot say it, and it is flagged
    c = _layer(2, "linear", {"in_features": 8, "out_features": 4}, rows=4.0)
    mixed = {1: {"layers": [a, c], "modes": ("cpu", "hybrid"), "impls": ("torch", "torch_cached")}}
    assert plan_policy([a, c], mixed, {})["plan"]["per_shape_exact"] is False


def test_shape_text_is_the_flag():
    assert shape_text("linear", {"in_features": 8, "out_features": 4}) == "linear:in_features=8,out_features=4"


torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


def tiny_stack():
    """Linear layers on [B, T, C] rows, a Conv1d and a Conv2d, with layers between that are not covered."""

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.up, self.down = nn.Linear(48, 96), nn.Linear(96, 48)
            self.conv1d = nn.Conv1d(48, 16, 3, padding=1)
            self.conv2d = nn.Conv2d(1, 4, 3, padding=1)
            self.again = nn.Linear(48, 96)  # the same shape as `up`: measured once, two layers

        def forward(self, x):  # [B, 6, 48]
            h = self.down(torch.relu(self.up(x)))
            self.again(h)
            c = self.conv1d(h.transpose(1, 2))  # [B, 16, 6]
            return self.conv2d(c.unsqueeze(1))

    torch.manual_seed(0)
    return Tiny()


def test_layers_are_recorded_in_call_order_with_their_rows():
    from modebench_policy.profile import record_layers

    layers = record_layers(tiny_stack(), torch.randn(2, 6, 48))
    assert [(la["name"], la["op"]) for la in layers] == [
        ("up", "linear"), ("down", "linear"), ("again", "linear"), ("conv1d", "conv1d"), ("conv2d", "conv2d")]
    assert layers[0]["rows"] == 6 and layers[3]["rows"] == 1
    assert layers[3]["shape"] == {"in_channels": 48, "out_channels": 16, "length": 6, "kernel": 3, "stride": 1,
                                  "padding": 1, "dilation": 1, "groups": 1}
    assert layers[4]["shape"]["height"] == 16 and layers[4]["shape"]["width"] == 6


@pytest.mark.skipif(not os.access(MODEBENCH, os.X_OK), reason=f"{MODEBENCH} not built")
def test_profile_measures_every_layer_plans_cpu_here_and_checks_the_patched_model(tmp_path):
    from modebench_policy.profile import profile

    out, pol = tmp_path / "tiny.profile.json", tmp_path / "tiny.policy.json"
    doc = profile(tiny_stack(), torch.randn(1, 6, 48), [1, 3], modebench=MODEBENCH, min_time=0.01, bandwidth_gbps=12.0,
                  out=str(out), policy_out=str(pol), name="tiny", log=lambda *_: None)
    assert json.load(open(out))["schema"] == "modebench-profile/1"
    measured = {la["index"] for la in doc["layers"] if la["why"] is None}
    # conv1d is measured where this build has the op, else said so and left in the rest
    conv1d = doc["layers"][3]
    assert conv1d["why"] is None or conv1d["why"].startswith("not measurable by this build")
    assert measured >= {0, 1, 2, 4}
    policy = Policy.load(str(pol), allow_other_host=True)
    for e in doc["batches"]:
        assert {la["index"] for la in e["layers"]} == measured
        for la in e["layers"]:
            cpu = la["modes"]["cpu"]["ms"]
            assert cpu and all(t > 0 for t in cpu.values()), la
            if not any(la["modes"].get(m, {}).get("ms") for m in ("gpu", "hybrid")):
                assert la["placement"] == "cpu"  # no device mode ran: cpu is the only side
            meta = doc["layers"][la["index"]]
            if meta["op"] in ("linear", "conv2d"):
                d = policy.choose(meta["op"], meta["shape"], la["batch"])
                assert (d.source, d.mode) == (MEASURED, "cpu"), d.reason
        assert math.isfinite(e["plan"]["predicted_ms"]) and e["measured_ms"] > 0
        assert "cpu" in e["single_mode"]
