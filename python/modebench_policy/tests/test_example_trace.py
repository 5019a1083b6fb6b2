"""examples/mobilenetv2_policy_trace.py: the published MobileNetV2 layout it falls back to
has torchvision's layers (checked against torchvision where it is importable), and the
trace gives one decision per layer and batch."""

import importlib.util
import os

import make_vectors  # noqa: F401 (first: puts this checkout's package on the path)
import pytest

torch = pytest.importorskip("torch")

from modebench_policy import torch_dropin  # noqa: E402
from test_torch_dropin import SYNTH  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "mobilenetv2_policy_trace.py")


def _example():
    spec = importlib.util.spec_from_file_location("mobilenetv2_policy_trace", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _layer_shapes(model, batch=1):
    trace = []
    torch_dropin.patch_model(model.eval(), SYNTH, trace=trace)
    with torch.no_grad():
        model(torch.randn(batch, 3, 224, 224))
    return [(t["op"], tuple(sorted(t["shape"].items()))) for t in trace], trace


def test_published_layout_has_mobilenet_v2s_layers():
    shapes, trace = _layer_shapes(_example().published_mobilenet_v2())
    assert len(shapes) == 53 and shapes[-1] == ("linear", (("in_features", 1280), ("out_features", 1000)))
    dw = [s for op, s in shapes if op == "conv2d" and dict(s)["groups"] > 1]
    assert len(dw) == 17 and dict(dw[-1])["in_channels"] == 960 and dict(dw[-1])["height"] == 7
    assert all(t["batch"] == 1 for t in trace)
    try:
        from torchvision.models import mobilenet_v2
    except ImportError:
        pytest.skip("torchvision not installed: checked the count and known layers only")
    assert shapes == _layer_shapes(mobilenet_v2(weights=None))[0]


def test_trace_script_runs(capsys, monkeypatch):
    mod = _example()
    monkeypatch.setattr(mod, "mobilenet_v2", lambda: (mod.published_mobilenet_v2(), "the published architecture"))
    vectors = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "vectors", "policy_synthetic_v2.json")
    assert mod.main([vectors, "--batches", "1", "--allow-other-host"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith(("features", "0", "classifier", "1", "2"))]
    assert len(rows) == 53
    assert "mobilenetv2_head" in out[-1] or "1280->1000" in out[-1]
