"""The two policy readers on the same inputs (issue 23): the C++ reader's outcome and decisions
for every file of the given folders, written by tests/fuzz/policy_fuzz.cpp under
MODEBENCH_FUZZ_DECISIONS (one JSON line per input, keyed by the input's FNV-1a hash), against the
Python reader's on the same file. Both must accept or both refuse; on an accepted file every query
the C++ side asked must get the same decision (mode, impl, confidence, source, reason) or
ShapeError from both. ci/fuzz.sh runs it on the C++ fuzzer's corpus and seeds.

Usage: policy_differential.py DECISIONS.jsonl FOLDER...   exit 0 alike, 1 on a disagreement."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "modebench_policy"))

import modebench_policy as mp  # noqa: E402

HOST = mp.HostFacts(cpu_model="Synthetic CPU", gpus=("Synthetic GPU",), gpu_cc="12.0", driver="580.65.06")
MAX_LEN = 16384  # ci/fuzz.sh's -max_len: longer files were replayed cut


def fnv1a(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def python_answer(path, queries):
    """The Python reader's outcome and, when accepted, its answer to each of the C++ side's queries."""
    try:
        policy = mp.Policy.load(path, host=HOST, allow_other_host=True)
    except mp.PolicyError as e:
        return "rejected", str(e), None
    answers = []
    for q in queries:
        try:
            d = policy.choose(q["op"], q["shape"], q["batch"], q["case"])
            answers.append({"mode": d.mode, "impl": d.impl, "confidence": d.confidence, "source": d.source,
                            "reason": d.reason})
        except mp.ShapeError:
            answers.append("ShapeError")
    return "accepted", None, answers


def same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        ca, cb = a.get("confidence"), b.get("confidence")
        close = ca == cb or (ca is not None and cb is not None and abs(ca - cb) <= 1e-12 * max(1.0, abs(ca)))
        return close and {k: v for k, v in a.items() if k != "confidence"} == {
            k: v for k, v in b.items() if k != "confidence"}
    return a == b


def main(decisions_path, folders):
    cpp = {}
    with open(decisions_path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            cpp[d["hash"]] = d
    files = sorted(os.path.join(d, n) for d in folders for n in os.listdir(d))
    checked = accepted = queries = 0
    disagreements = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > MAX_LEN:
            continue  # the C++ side saw it cut: another input
        c = cpp.get(fnv1a(data))
        if c is None:
            disagreements.append(f"{path}: no C++ answer recorded")
            continue
        checked += 1
        outcome, message, answers = python_answer(path, c.get("queries", []))
        if outcome != c["outcome"]:
            why = message if outcome == "rejected" else c.get("message")
            disagreements.append(f"{path}: C++ {c['outcome']}, Python {outcome} ({why})")
            continue
        if outcome == "rejected":
            continue
        accepted += 1
        for q, mine in zip(c["queries"], answers):
            queries += 1
            theirs = q["expect"]
            if not same(theirs, mine):
                disagreements.append(f"{path}: {json.dumps({k: q[k] for k in ('op', 'shape', 'batch', 'case')})}: "
                                     f"C++ {json.dumps(theirs)}, Python {json.dumps(mine)}")
                break
    print(f"fuzz: policy readers compared on {checked} inputs ({accepted} accepted, {queries} decisions): "
          f"{len(disagreements)} disagreements")
    for d in disagreements[:20]:
        print(f"fuzz:   {d}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
