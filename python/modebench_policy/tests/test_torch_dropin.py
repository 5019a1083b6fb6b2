"""The PyTorch drop-in: wrappers that run the mode the policy chooses per call.

Here there is no GPU: where a test needs the gpu branch, `_compute_device` is stubbed to
return the host, so the branch's code runs (decision, weights to the "device", compute, back
to the input's device) but on the CPU. Tests that say so are marked STUBBED GPU."""

import os
import warnings

import make_vectors  # first: puts this checkout's package on the path
import pytest
from make_vectors import VECTORS

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from modebench_policy import DEFAULT, MEASURED, MODEL, HostFacts, Policy  # noqa: E402
from modebench_policy import torch_dropin  # noqa: E402
from modebench_policy.torch_dropin import PolicyConv1d, PolicyConv2d, PolicyLinear, patch_model  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "data", "policy_real_cpu.json")
SYNTH = Policy.load(os.path.join(VECTORS, "policy_synthetic_v2.json"), host=make_vectors.host_facts(None))


def real_policy():
    """The policy of a real run on this project's machines (cpu only: no GPU, no driver),
    loaded as that host, whatever machine runs the test."""
    import json

    ident = json.load(open(REAL))["identity"]
    return Policy.load(REAL, host=HostFacts(ident["cpu_model"], tuple(ident["gpus"]), ident["gpu_cc"], ident["driver"]))


def small_mbv2_like():
    """A few MobileNetV2-shaped layers (a measured pointwise conv, an unmeasured depthwise,
    the measured 1280->1000 head) with the layers between them that are not wrapped."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(96, 24, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU6(),
        nn.Conv2d(24, 24, 3, padding=1, groups=24, bias=False), nn.BatchNorm2d(24), nn.ReLU6(),
        nn.Conv2d(24, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000),
    ).eval()


@pytest.fixture
def stubbed_gpu(monkeypatch):
    """STUBBED GPU: the gpu branch runs on the host device."""
    calls = []

    def device(x):
        calls.append(x.shape)
        return torch.device("cpu")

    monkeypatch.setattr(torch_dropin, "_compute_device", device)
    return calls


def test_real_policy_patches_a_model_and_keeps_its_outputs():
    model = small_mbv2_like()
    x = torch.randn(8, 96, 56, 56)
    with torch.no_grad():
        want = model(x)
        trace = []
        patch_model(model, real_policy(), trace=trace)
        got = model(x)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)
    assert [type(m) for m in model if isinstance(m, (PolicyConv2d, PolicyLinear))] == [PolicyConv2d] * 3 + [PolicyLinear]
    by_layer = {t["layer"]: t["decision"] for t in trace}
    # Only the cpu mode ran on that machine: every decision is cpu, each says where it comes from.
    assert {d.mode for d in by_layer.values()} == {"cpu"}
    assert by_layer["0"].source == MEASURED and "mbv2_pointwise" in by_layer["0"].reason
    assert by_layer["3"].source == MODEL  # depthwise 24 @56: not a measured shape
    assert by_layer["9"].source == MEASURED and "linear/mobilenetv2_head batch 8" in by_layer["9"].reason
    assert "gpu/cublas" in by_layer["9"].reason and "unavailable" in by_layer["9"].reason
    assert model.modebench_skipped == []


def test_synthetic_policy_picks_cpu_hybrid_and_gpu_by_batch(stubbed_gpu, monkeypatch):
    """STUBBED GPU. mobilenetv2_head: cpu 1..4, hybrid/cached 5..12, hybrid/naive 13..40, gpu 41+."""
    torch.manual_seed(1)
    layer = nn.Linear(1280, 1000)
    wrapped = PolicyLinear(layer, SYNTH, "head")
    host_runs = []
    real_on_host = wrapped._on_host
    monkeypatch.setattr(wrapped, "_on_host", lambda x, cached: host_runs.append(cached) or real_on_host(x, cached))
    with torch.no_grad():
        for batch, mode in ((2, "cpu/onednn"), (8, "hybrid/cached"), (16, "hybrid/naive"), (64, "gpu/cublas")):
            x = torch.randn(batch, 1280)
            assert torch.allclose(wrapped(x), layer(x), atol=1e-5)
            assert f"{wrapped.last.mode}/{wrapped.last.impl}" == mode
    assert dict(wrapped.calls) == {"cpu/onednn": 1, "hybrid/cached": 1, "hybrid/naive": 1, "gpu/cublas": 1}
    assert host_runs == [True, True, False]  # cpu and cached keep host weights; naive copies them
    assert stubbed_gpu == [torch.Size([64, 1280])] and wrapped.fallbacks == 0


def test_leading_dims_are_rows_of_the_batch():
    layer = PolicyLinear(nn.Linear(1280, 1000), SYNTH)
    with torch.no_grad():
        layer(torch.randn(2, 3, 1280))  # 6 rows: hybrid/cached (5..12)
    assert (layer.last.mode, layer.last.impl) == ("hybrid", "cached")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback where no CUDA device is usable")
def test_gpu_chosen_without_a_gpu_runs_on_the_host_and_counts_it():
    layer = nn.Linear(1280, 1000)
    wrapped = PolicyLinear(layer, SYNTH)
    x = torch.randn(64, 1280)
    with torch.no_grad():
        assert torch.allclose(wrapped(x), layer(x), atol=1e-5)
    assert wrapped.last.mode == "gpu" and wrapped.fallbacks == 1


def test_conv_never_runs_an_excluded_mode(stubbed_gpu):
    """STUBBED GPU. gpu/cudnn was wrong on that host: excluded, never chosen for any conv."""
    model = nn.Sequential(nn.Conv2d(144, 144, 3, padding=1, groups=144), nn.Conv2d(144, 64, 3, padding=1)).eval()
    trace = []
    patch_model(model, SYNTH, trace=trace)
    with torch.no_grad():
        for n in (1, 8, 64):
            model(torch.randn(n, 144, 20, 20))
    assert {t["decision"].mode for t in trace} <= {"cpu", "hybrid"} and stubbed_gpu == []
    assert all("gpu/cudnn (wrong" in t["decision"].reason for t in trace)


@pytest.mark.parametrize("policy_file", ["missing.json", "bad.json"])
def test_a_bad_policy_falls_back_to_cpu_with_one_warning(tmp_path, policy_file):
    (tmp_path / "bad.json").write_text('{"schema": "modebench-policy/2", "rules": [')
    model = small_mbv2_like()
    x = torch.randn(2, 96, 14, 14)
    with torch.no_grad():
        want = model(x)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            trace = []
            patch_model(model, str(tmp_path / policy_file), trace=trace)
        assert torch.allclose(model(x), want, atol=1e-5)
    assert len(w) == 1 and "safe default (cpu)" in str(w[0].message) and policy_file in str(w[0].message)
    assert {(t["decision"].mode, t["decision"].source) for t in trace} == {("cpu", DEFAULT)}


def test_layers_the_policy_cannot_describe_are_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, dilation=2), nn.Conv2d(8, 8, 2, padding="same"), nn.Conv2d(8, 8, 3, padding="same"))
    patch_model(model, SYNTH)
    assert [type(m).__name__ for m in model] == ["Conv2d", "Conv2d", "PolicyConv2d"]
    assert len(model.modebench_skipped) == 2 and model.modebench_skipped[0].startswith("0: ")


def xtts_like_conv1d_stack():
    """XTTS's HiFi-GAN conv_pre (measured in the synthetic policy), a dilated resblock conv and
    a transposed-conv upsampler between them (not an nn.Conv1d: not wrapped)."""
    torch.manual_seed(2)
    return nn.Sequential(
        nn.Conv1d(1024, 512, 7, 1, padding=3), nn.LeakyReLU(0.1), nn.ConvTranspose1d(512, 256, 16, 8, padding=4),
        nn.Conv1d(256, 256, 11, 1, padding=25, dilation=5), nn.Conv1d(256, 256, 3, padding="same", dilation=3),
    ).eval()


def test_conv1d_layers_are_wrapped_and_ask_for_their_shapes(stubbed_gpu):
    """STUBBED GPU. conv_pre is the measured xtts_hifigan_pre (cpu 1..16, hybrid/cached 17+); the
    dilated ones come from the conv1d cost models; every output as the unpatched model's."""
    model = xtts_like_conv1d_stack()
    trace = []
    with torch.no_grad():
        x = torch.randn(2, 1024, 87)
        want = model(x)
        patch_model(model, SYNTH, trace=trace)
        assert torch.allclose(model(x), want, atol=1e-4, rtol=1e-4)
        model(torch.randn(32, 1024, 87))
    assert [type(m).__name__ for m in model] == ["PolicyConv1d", "LeakyReLU", "ConvTranspose1d", "PolicyConv1d",
                                                 "PolicyConv1d"]
    by_batch = {(t["layer"], t["batch"]): t for t in trace}
    pre2, pre32 = by_batch[("0", 2)]["decision"], by_batch[("0", 32)]["decision"]
    assert (pre2.mode, pre2.impl, pre2.source) == ("cpu", "onednn", MEASURED) and "xtts_hifigan_pre" in pre2.reason
    assert (pre32.mode, pre32.impl) == ("hybrid", "cached")
    assert by_batch[("3", 2)]["shape"] == {"in_channels": 256, "out_channels": 256, "length": 696, "kernel": 11,
                                           "stride": 1, "padding": 25, "dilation": 5, "groups": 1}
    assert by_batch[("4", 2)]["shape"]["padding"] == 3  # 'same': dilation x (kernel - 1) / 2
    assert by_batch[("3", 2)]["decision"].source == MODEL
    assert model.modebench_skipped == []


def test_conv1d_layers_the_policy_cannot_describe_are_left_alone():
    model = nn.Sequential(nn.Conv1d(3, 8, 4, padding="same"), nn.Conv1d(8, 8, 3, padding_mode="reflect", padding=1),
                          nn.Conv1d(8, 8, 3, padding="same"))
    patch_model(model, SYNTH)
    assert [type(m).__name__ for m in model] == ["Conv1d", "Conv1d", "PolicyConv1d"]
    assert len(model.modebench_skipped) == 2


def test_host_weight_copies_are_cached_until_the_weights_change():
    """The cache of _params, on the meta device (shapes only) standing in for another device."""
    wrapped = PolicyLinear(nn.Linear(4, 3), SYNTH)
    meta = torch.device("meta")
    with torch.no_grad():
        w1, _ = wrapped._params(meta, cached=True)
        w2, _ = wrapped._params(meta, cached=True)
        assert w1 is w2 and w1.device == meta
        wrapped.layer.weight.add_(1)  # a new version: copied again
        w3, _ = wrapped._params(meta, cached=True)
        assert w3 is not w1
        assert wrapped._params(meta, cached=False)[0] is not wrapped._params(meta, cached=False)[0]
    # With autograd on, the copy is made per call so gradients reach the weights.
    w4, _ = wrapped._params(meta, cached=True)
    assert w4.requires_grad and w4 is not w3
