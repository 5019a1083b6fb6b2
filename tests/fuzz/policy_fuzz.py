"""atheris target: the Python policy reader (python/modebench_policy) on any bytes as a policy
file (issue 23), with the properties tests/fuzz/policy_fuzz.cpp checks of the C++ reader:
load_or_default never raises; load gives a policy or raises PolicyError (one line naming the file);
choose() on the queries the policy's own rules suggest answers or raises ShapeError, and
Plan.choose agrees with it. Run by ci/fuzz.sh (libFuzzer's flags: -max_total_time=...)."""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "modebench_policy"))

with atheris.instrument_imports():
    import modebench_policy as mp

# The input as a file (the readers take a path): an in-memory one, rewritten per input.
_FD = os.memfd_create("policy_fuzz")
_PATH = f"/proc/self/fd/{_FD}"
# The hosts of tests/vectors (make_vectors.HOST); another host's policy is read all the same.
HOST = mp.HostFacts(cpu_model="Synthetic CPU", gpus=("Synthetic GPU",), gpu_cc="12.0", driver="580.65.06")
FIXED = {
    "linear": {"in_features": 1280, "out_features": 1000},
    "conv2d": {"in_channels": 3, "out_channels": 8, "height": 32, "width": 32, "kernel_size": 3},
    "conv1d": {"in_channels": 32, "out_channels": 32, "length": 257, "kernel": 3, "padding": 3, "dilation": 3},
    "ssim": {"height": 64, "width": 64},
    "knn": {},
}
INT64 = (-(2**63), 2**63 - 1)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and INT64[0] <= v <= INT64[1]


def queries(doc):
    """What policy_fuzz.cpp asks: each rule's shape and case at its ranges' edges, a fixed shape per op."""
    out = []

    def add(op, shape, case, batch):
        if isinstance(shape, dict) and all(_int(v) for v in shape.values()):
            out.append((op, dict(shape), batch, case))

    for r in doc["rules"][:8]:
        if not isinstance(r.get("op"), str) or "shape" not in r:
            continue
        case = r["case"] if isinstance(r.get("case"), str) else ""
        for b in (1, 2, 8, 1000, 1 << 40):
            add(r["op"], r["shape"], case, b)
        for rng in r.get("ranges") if isinstance(r.get("ranges"), list) else []:
            for key in ("batch_min", "batch_max"):
                if isinstance(rng, dict) and _int(rng.get(key)):
                    add(r["op"], r["shape"], case, rng[key])
                    if rng[key] < INT64[1]:
                        add(r["op"], r["shape"], case, rng[key] + 1)
    for op, shape in FIXED.items():
        for b in (1, 64):
            add(op, shape, "", b)
    return out


def test_one_input(data: bytes) -> None:
    os.ftruncate(_FD, 0)
    os.pwrite(_FD, data, 0)
    fallback = mp.Policy.load_or_default(_PATH, host=HOST, allow_other_host=True)  # never raises
    try:
        policy = mp.Policy.load(_PATH, host=HOST, allow_other_host=True)
    except mp.PolicyError as e:
        if "\n" in str(e) or not str(e).startswith(_PATH):
            raise AssertionError(f"not one line naming the file: {e!r}") from None
        assert fallback.error is not None, "load refused what load_or_default accepted"
        return
    assert fallback.error is None, f"load_or_default refused what load accepted: {fallback.error}"
    for op, shape, batch, case in queries(policy.doc):
        try:
            d = policy.choose(op, shape, batch, case)
        except mp.ShapeError:
            d = None
        try:
            p = policy.plan(op, shape, case).choose(batch)
        except mp.ShapeError:
            p = None
        assert (d is None) == (p is None), f"only one of plan and choose refused {op} {shape} {batch} {case!r}"
        if d is not None:
            assert (p.mode, p.impl, p.source, p.confidence) == (d.mode, d.impl, d.source, d.confidence), (op, shape, batch)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
