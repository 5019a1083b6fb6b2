"""Profile a whole model on this box: every Linear/Conv1d/Conv2d layer measured with
`modebench run --shape`, the fastest placement per batch beside the single-mode plans, and the
prediction checked by timing the patched model (modebench_policy.profile).

    python3 examples/profile_model.py mobilenet_v2 --batches 1,8,32 --out results/mbv2.profile.json
    python3 examples/profile_model.py xtts_like --batches 1,8 --out results/xtts.profile.json
    report/modebench-report render RESULTS… --profile results/mbv2.profile.json --out report/

mobilenet_v2 is torchvision's where it is installed, else the same architecture written out
(examples/mobilenetv2_policy_trace.py; random weights, 224x224 images);
xtts_like is modebench_policy.models.xtts_like (2 GPT blocks of XTTS v2's shapes on 32 latent
frames, then HiFi-GAN-shaped Conv1d layers).
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "modebench_policy"))

from modebench_policy.profile import ProfileError, profile  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=["mobilenet_v2", "xtts_like"])
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--modebench", default=os.path.join(ROOT, "build", "modebench"))
    ap.add_argument("--min-time", type=float, default=0.05, help="--benchmark_min_time per entry (seconds)")
    ap.add_argument("--bandwidth-gbps", type=float, default=None, help="host<->device copies (the probe's figure)")
    ap.add_argument("--out", default=None, help="the modebench-profile/1 file")
    ap.add_argument("--policy-out", default=None, help="the plan as a modebench-policy/2 file")
    ap.add_argument("--impls", default=None,
                    help="impls to time, comma-separated, or 'all' (default: the drop-in's, torch and torch_cached)")
    a = ap.parse_args()
    import torch

    if a.model == "mobilenet_v2":
        sys.path.insert(0, os.path.join(ROOT, "examples"))
        from mobilenetv2_policy_trace import mobilenet_v2

        model, where = mobilenet_v2()
        print(f"MobileNetV2: {where}")
        x = torch.randn(1, 3, 224, 224)
    else:
        from modebench_policy.models import xtts_like

        model, x = xtts_like(), torch.randn(1, 32, 1024)
    try:
        profile(model, x, [int(b) for b in a.batches.split(",")], modebench=a.modebench, min_time=a.min_time,
                bandwidth_gbps=a.bandwidth_gbps, out=a.out, policy_out=a.policy_out, name=a.model,
                impls=None if a.impls is None else [] if a.impls == "all" else a.impls.split(","))
    except ProfileError as e:
        sys.exit(f"profile_model.py: {e}")


if __name__ == "__main__":
    main()
