#!/usr/bin/env python3
"""What one lookup of the policy reader costs an application per call: Policy.choose, and a
planned lookup (Policy.plan once per shape, Plan.choose per call). Medians of 5 rounds of
20 000 calls, batches cycling 1..64, on the committed synthetic policy (or the file given): a
measured shape, a modelled one, a knn case. The C++ twin is bench/overhead/policy_lookup.cpp.

    python3 python/modebench_policy/bench_lookup.py [POLICY]
"""

import os
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from modebench_policy import HostFacts, Policy  # noqa: E402

DEFAULT_POLICY = os.path.join(HERE, "..", "..", "tests", "vectors", "policy_synthetic_v2.json")
QUERIES = [
    ("measured linear", "linear", {"in_features": 1280, "out_features": 1000}, None),
    ("modelled linear", "linear", {"in_features": 512, "out_features": 256}, None),
    ("knn case", "knn", {}, "uniform"),
]
CALLS = 20000


def median_us_per_call(call) -> float:
    batches = [1 + (i & 63) for i in range(CALLS)]
    rounds = sorted(timeit.repeat(lambda: [call(b) for b in batches], number=1, repeat=5))
    return rounds[2] / CALLS * 1e6


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Compare no host facts: any policy file will do.
    policy = Policy.load(argv[0] if argv else DEFAULT_POLICY, host=HostFacts(), allow_other_host=True)
    print(f"{'query':16s} {'choose us':>12s} {'planned us':>12s}")
    for what, op, shape, case in QUERIES:
        chosen = median_us_per_call(lambda b: policy.choose(op, shape, b, case))
        plan = policy.plan(op, shape, case)
        planned = median_us_per_call(plan.choose)
        print(f"{what:16s} {chosen:12.2f} {planned:12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
