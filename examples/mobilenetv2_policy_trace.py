#!/usr/bin/env python3
"""What a modebench policy decides for each layer of MobileNetV2, per batch.

    python3 examples/mobilenetv2_policy_trace.py policy.json [--batches 1,8,32] [--allow-other-host]

The layer shapes come from torchvision's mobilenet_v2 when torchvision is importable,
else from the published architecture (Sandler et al. 2018, Table 2; torchvision's layout:
a 3x3 stem, 17 inverted-residual blocks, a 1x1 conv to 1280, a 1280->1000 Linear head).
Every nn.Conv2d and nn.Linear is wrapped by modebench_policy.torch_dropin.patch_model;
the model runs one forward pass per batch (random weights, a 224x224 input, on the CPU
unless the model is moved elsewhere first), each layer asking on the shape it sees. One
line per layer and batch: the layer, its shape, the mode/impl chosen, where the answer
comes from (measured case, cost model or safe default) and why.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "modebench_policy"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from modebench_policy import torch_dropin  # noqa: E402


def published_mobilenet_v2() -> nn.Module:
    """MobileNetV2 (width 1.0) as torchvision lays it out, without BatchNorm's details."""

    def conv_bn(cin, cout, k, s, groups=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6())

    class Block(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hidden = cin * t
            layers = ([conv_bn(cin, hidden, 1, 1)] if t != 1 else []) + [
                conv_bn(hidden, hidden, 3, s, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)
            self.residual = s == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    features, cin = [conv_bn(3, 32, 3, 2)], 32
    for t, c, n, s in table:
        for i in range(n):
            features.append(Block(cin, c, s if i == 0 else 1, t))
            cin = c
    features.append(conv_bn(cin, 1280, 1, 1))
    model = nn.Sequential()
    model.features = nn.Sequential(*features)
    model.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
    return model


def mobilenet_v2():
    try:
        from torchvision.models import mobilenet_v2 as tv

        return tv(weights=None), "torchvision.models.mobilenet_v2"
    except ImportError:
        return published_mobilenet_v2(), "the published architecture (torchvision absent)"


def shape_text(t):
    s = t["shape"]
    if t["op"] == "linear":
        return f"{s['in_features']}->{s['out_features']}"
    k = s["kernel_size"]
    kind = "dw " if s["groups"] > 1 else ""
    return f"{kind}{s['in_channels']}->{s['out_channels']} {k[0]}x{k[1]} s{s['stride'][0]} @{s['height']}x{s['width']}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policy")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--allow-other-host", action="store_true")
    a = ap.parse_args(argv)
    model, source = mobilenet_v2()
    model.eval()
    policy = torch_dropin.as_policy(a.policy, a.allow_other_host)
    trace = []
    torch_dropin.patch_model(model, policy, trace=trace)
    print(f"MobileNetV2 from {source}; policy {a.policy} ({policy.schema})")
    for batch in (int(b) for b in a.batches.split(",")):
        with torch.no_grad():
            model(torch.randn(batch, 3, 224, 224))
    print(f"{'layer':<24} {'shape':<28} {'batch':>5}  {'mode/impl':<16} {'from':<8} reason")
    for t in trace:
        d = t["decision"]
        line = f"{d.mode}/{d.impl}" if d.impl else d.mode
        print(f"{t['layer']:<24} {shape_text(t):<28} {t['batch']:>5}  {line:<16} {d.source:<8} {d.reason.split('; never chosen')[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
