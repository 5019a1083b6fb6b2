"""The shared corpus of hostile and odd policy files (issue 23), written by make_vectors.py:

  tests/vectors/policy_hostile/<name>.json  one file per case
  tests/vectors/policy_hostile.json         what both readers must answer for each file:
      {"file", "why", "outcome": "rejected", "message": a part of the error (or null)}
      {"file", "why", "outcome": "accepted", "queries": [{"op", "shape", "batch", "case",
                                                          "expect": a decision, or "ShapeError"}]}

A rejected file raises PolicyError (one line, naming the file) from Policy.load, and
load_or_default gives the safe default. The outcome and the message are written here by hand
and checked while writing; the decisions of accepted files are the Python reader's, and
`want` pins what matters in them. Both readers' tests run every case (test_reader.py,
tests/test_policy_reader.cpp). Grow it with every schema change.
"""

import copy
import json
import os

import make_vectors
from make_vectors import HOST, LINEAR_HEAD, host_facts

from modebench_policy import Policy, PolicyError, ShapeError

FOLDER = "policy_hostile"
INT64_MAX = 2**63 - 1
SMALL = {"in_features": 1, "out_features": 1}
DEPTH = "nested deeper than 64 levels"


def _v2():
    return make_vectors.synthetic_v2()


def _v1():
    return make_vectors.synthetic_v1(make_vectors.synthetic_v2())


def _text(doc) -> bytes:
    return (json.dumps(doc, indent=1) + "\n").encode()


def _with(doc, **fields) -> dict:
    out = copy.deepcopy(doc)
    out.update(fields)
    return out


def _nested(levels, inner="1", opening='{"a": ', closing="}"):
    return opening * levels + inner + closing * levels


def _with_raw(doc, key, raw) -> bytes:
    """The document with `"key": raw` (raw JSON text) as its last field."""
    text = json.dumps(doc, indent=1)
    return (text[:-2] + f',\n "{key}": {raw}\n}}\n').encode()


def _range(lo, hi, mode="cpu", impl="a", confidence=0.9, processes=5, **extra):
    r = {"batch_min": lo, "batch_max": hi, "mode": mode, "impl": impl, "confidence": confidence,
         "provisional": confidence is None, "processes": processes}
    r.update(extra)
    return r


def _v1_rule(case, ranges, op="linear"):
    return {"op": op, "case": case, "measured_batches": [1, 8], "ranges": ranges, "excluded": []}


def _model(mode, impl, terms, margin=0.1, op="linear", kinds=("dense",)):
    return {"op": op, "mode": mode, "impl": impl, "terms": terms, "copies_weights": False, "kinds": list(kinds),
            "margin": margin, "loco": None}


def _models_only(models, risks, rules=()):
    return _with(_v2(), rules=list(rules), models=models, excluded=[], risks=risks)


def _q(op, shape, batch, case=None, **want):
    return {"op": op, "shape": shape, "batch": batch, "case": case, "want": want}


def _head(batch=8, case="mobilenetv2_head", **want):
    return _q("linear", LINEAR_HEAD, batch, case, **want)


def rejected(name, why, text, message=None):
    return {"name": name, "why": why, "text": text, "outcome": "rejected", "message": message}


def accepted(name, why, text, queries):
    return {"name": name, "why": why, "text": text, "outcome": "accepted", "queries": queries}


def cases():
    v1, v2 = _v1(), _v2()
    big = 2**53
    conv_huge = {"in_channels": big, "out_channels": big, "height": big, "width": big, "kernel_size": 1}
    out = [
        # ---- nesting
        rejected("deep_schema", "100 000 levels where the schema goes: the C++ reader's message dumped it "
                 "recursively and overflowed its stack",
                 ('{"schema": ' + "[" * 100000 + "]" * 100000 + "}\n").encode(), DEPTH),
        rejected("deep_object", "2 000 levels of objects in an unread field: json.loads raised RecursionError",
                 _with_raw(v1, "x", _nested(2000)), DEPTH),
        accepted("depth_64", "64 levels in all (the document is one): the limit itself is a policy",
                 _with_raw(v1, "x", _nested(63, "1", "[", "]")), [_head()]),
        rejected("depth_65", "one level more than the limit", _with_raw(v1, "x", _nested(64, "1", "[", "]")), DEPTH),
        accepted("brackets_in_strings", "brackets and escaped quotes inside strings are no nesting",
                 _text(_with(v1, rules=[_v1_rule('[{"' * 40 + "\\" + "]", [_range(1, None)])])),
                 [_q("linear", SMALL, 3, '[{"' * 40 + "\\" + "]", mode="cpu", impl="a")]),
        # ---- integers
        rejected("batch_max_int64_max", "a range ends at 2^63-1: what the next one must start at (2^63) overflowed "
                 "int64 in C++",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, INT64_MAX), _range(INT64_MAX, None)])])),
                 "expected 9223372036854775808"),
        rejected("batch_2_63", "2^63 is no int64: C++ wrapped it to a negative number, Python took it",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, 2**63), _range(2**63 + 1, None)])])),
                 "is not an integer in [1, 9223372036854775807]"),
        rejected("processes_2_64", "2^64 (a double to nlohmann): C++ refused it, Python took it",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, None, processes=2**64)])])), "processes"),
        accepted("processes_int64_max", "2^63-1 is an int64",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, None, processes=INT64_MAX)])])),
                 [_q("linear", SMALL, 1, "c", mode="cpu", reason_has=f"over {INT64_MAX} processes")]),
        accepted("risk_int64_max", "an unlisted mode's risk (one more than the largest) overflowed int64 in C++, "
                 "making the riskiest mode the safest",
                 _text(_models_only([_model("cpu", "x", {"call": 1.0e-3}), _model("gpu", "y", {"call": 0.9e-3}, 0.5)],
                                    {"cpu": INT64_MAX})),
                 [_q("linear", SMALL, 1, None, mode="cpu", reason_has="the safer mode kept")]),
        accepted("integer_300_digits", "an unread integer a double holds: both take it",
                 _with_raw(v1, "x", "1" + "0" * 299), [_head()]),
        rejected("integer_400_digits", "an unread integer beyond a double: nlohmann refused it, Python took it",
                 _with_raw(v1, "x", "1" + "0" * 399), "not JSON"),
        rejected("integer_5000_digits", "beyond Python's int-from-text limit too", _with_raw(v1, "x", "9" * 5000),
                 "not JSON"),
        rejected("float_1e400", "an unread number beyond a double: nlohmann refused it, Python read inf",
                 _with_raw(v1, "x", "1e400"), "not JSON"),
        accepted("coefficient_300_digits", "a cost coefficient written as a 300-digit integer is a finite number",
                 _text(_models_only([_model("cpu", "x", {"call": 10**299})], {"cpu": 0})),
                 [_q("linear", SMALL, 1, None, mode="cpu", reason_has="1e+302 ms")]),
        accepted("prediction_overflows", "a prediction beyond a double is inf, in both",
                 _text(_models_only([_model("cpu", "x", {"flop": 1e308}), _model("gpu", "y", {"call": 1.0})],
                                    {"cpu": 0, "gpu": 2})),
                 [_q("linear", {"in_features": 2**40, "out_features": 2**40}, 2**40, None, mode="gpu",
                     reason_has="cpu/x inf ms")]),
        # ---- shapes
        accepted("shape_2_53", "dimensions of 2^53 are shapes: C++ formed int64 products of them (overflow)",
                 _text(_with(_models_only([_model("cpu", "x", {"flop": 1e-9, "bytes": 1e-10}, op="conv2d")],
                                          {"cpu": 0}),
                             rules=[{"op": "linear", "case": "huge", "shape": {"in_features": big, "out_features": big},
                                     "measured_batches": [1], "ranges": [_range(1, None, "gpu", "z")],
                                     "excluded": []}])),
                 [_q("linear", {"in_features": big, "out_features": big}, INT64_MAX, None, mode="gpu",
                     source="measured"),
                  _q("conv2d", conv_huge, 2**40, None, mode="cpu", source="model"),
                  _q("linear", {"in_features": big + 1, "out_features": 1}, 1, None, error="ShapeError")]),
        rejected("shape_over_2_53", "a dimension above 2^53", _text(_with(v2, rules=[
            {"op": "linear", "case": "x", "shape": {"in_features": big + 1, "out_features": 1}, "ranges": []}])),
            "is out of range"),
        rejected("shape_pad_int64_max", "height + 2 * pad overflowed int64 in C++",
                 _text(_with(v2, rules=[{"op": "conv2d", "case": "x", "ranges": [], "shape": {
                     "in_channels": 1, "out_channels": 1, "height": 8, "width": 8, "kernel_h": 3, "kernel_w": 3,
                     "pad_h": INT64_MAX}}])), "is out of range"),
        # ---- text
        rejected("newline_in_a_shape_key", "a shape dimension named 'in_ch\\nnels' (found by ci/fuzz.sh): both "
                 "readers quoted it raw, a message of two lines",
                 _text(_with(v2, rules=[{"op": "conv2d", "case": "x", "ranges": [], "shape": {"in_ch\nnels": 1}}])),
                 "unknown dimension 'in_ch\\nnels'"),
        accepted("byte_order_mark", "a UTF-8 byte-order mark: nlohmann skipped it, Python refused the file",
                 b"\xef\xbb\xbf" + _text(v1), [_head(), _head(case="", source="default")]),
        rejected("byte_order_mark_only", "nothing after the mark", b"\xef\xbb\xbf\n", "not JSON"),
        rejected("lone_high_surrogate", "\\ud800 alone: Python took it, nlohmann refused it",
                 _text(_with(v1, rules=[_v1_rule("\ud800", [_range(1, None)])])), "surrogate"),
        rejected("lone_low_surrogate", "\\udc00 alone", _text(_with(v1, rules=[_v1_rule("x\udc00", [_range(1, None)])])),
                 "surrogate"),
        rejected("reversed_surrogates", "a low then a high surrogate is no pair",
                 _text(_with(v1, rules=[_v1_rule("\udc00\ud800", [_range(1, None)])])), "surrogate"),
        rejected("surrogate_in_a_key", "a lone surrogate in a key of the host block",
                 _text(_with(v1, host={**v1["host"], "\ud83d": "x"})), "surrogate"),
        accepted("surrogate_pair", "\\ud83d\\ude00 is one character",
                 _text(_with(v1, rules=[_v1_rule("\U0001f600", [_range(1, None)])])),
                 [_q("linear", SMALL, 2, "\U0001f600", mode="cpu")]),
        rejected("utf8_surrogate_bytes", "a surrogate encoded in UTF-8 bytes (ED A0 80) is no UTF-8",
                 _text(_with(v1, rules=[_v1_rule("SURROGATE", [_range(1, None)])])).replace(b"SURROGATE",
                                                                                             b"\xed\xa0\x80")),
        rejected("invalid_utf8", "a byte 0xFF in a string",
                 _text(_with(v1, rules=[_v1_rule("BYTE", [_range(1, None)])])).replace(b"BYTE", b"\xff")),
        rejected("overlong_utf8", "'/' as the overlong C0 AF",
                 _text(_with(v1, rules=[_v1_rule("BYTE", [_range(1, None)])])).replace(b"BYTE", b"\xc0\xaf")),
        accepted("nul_in_a_name", "\\u0000 is a character like any other",
                 _text(_with(v1, rules=[_v1_rule("a\u0000b", [_range(1, None)])])),
                 [_q("linear", SMALL, 2, "a\u0000b", mode="cpu")]),
        rejected("vertical_tab_only", "whitespace JSON does not know: not an empty file, not JSON", b"\x0b\n",
                 "not JSON"),
        rejected("trailing_garbage", "a second value after the document", _text(v1) + b"{}\n", "not JSON"),
        accepted("duplicate_keys", "the last of two equal keys wins, in both",
                 b'{"schema": "modebench-policy/9",' + _text(v1)[1:], [_head()]),
        # ---- host identity
        accepted("identity_padded", "blanks around a fact: C++ trimmed them, Python compared them as written",
                 _text(_with(v2, identity={**HOST, "cpu_model": "  Synthetic CPU \t"})), [_head(batch=64)]),
        rejected("identity_kelvin_unknown", "'UN\\u212aNOWN' (a Kelvin sign) is a CPU name, not 'unknown': Python "
                 "lowered it to 'unknown' and compared nothing",
                 _text(_with(v2, identity={**HOST, "cpu_model": "UN\u212aNOWN"})), "cpu_model: here 'Synthetic CPU'"),
        accepted("identity_unknown_with_a_note", "'unknown (…)' is not compared",
                 _text(_with(v2, identity={**HOST, "cpu_model": "unknown (no /proc/cpuinfo)"})), [_head(batch=64)]),
        accepted("v1_host_number", "a number where the v1 host's CPU model goes: C++ ignored it, Python compared "
                 "'5'", _text(_with(v1, host={**v1["host"], "cpu_model": 5})), [_head()]),
        # ---- ranges and values
        accepted("last_range_without_batch_max", "an open last range may leave batch_max out: Python's choose "
                 "raised KeyError",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, 4), {k: v for k, v in _range(5, None, "gpu").items()
                                                                       if k != "batch_max"}])])),
                 [_q("linear", SMALL, 100, "c", mode="gpu", reason_has="in 5..inf"),
                  _q("linear", SMALL, 2, "c", mode="cpu")]),
        accepted("processes_null", "a v1 range with processes null: C++ wrote '?', Python 'None'",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, None, confidence=None, processes=None)])])),
                 [_q("linear", SMALL, 1, "c", reason_has="(n = ?)")]),
        accepted("confidence_integer", "confidence 1 written as an integer",
                 _text(_with(v1, rules=[_v1_rule("c", [_range(1, None, confidence=1)])])),
                 [_q("linear", SMALL, 1, "c", reason_has="confidence 1.00")]),
        accepted("terms_order", "a model's terms are added in sorted order in both: in the file's order "
                 "1 + 2^-53 + 2^-53 rounds up and the gpu model won, in sorted order it ties and cpu wins",
                 _text(_models_only([_model("cpu", "a", {"flop": 2.0**-54, "bytes": 2.0**-57, "call": 1.0}),
                                     _model("gpu", "b", {"call": 1.0}, margin=0.0)], {"cpu": 0, "gpu": 2})),
                 [_q("linear", SMALL, 1, None, mode="cpu", impl="a", reason_has="next gpu/b")]),
    ]
    return out


def _decision(policy, q):
    try:
        d = policy.choose(q["op"], q["shape"], q["batch"], q["case"])
    except ShapeError:
        return "ShapeError"
    return {"mode": d.mode, "impl": d.impl, "confidence": d.confidence, "source": d.source, "reason": d.reason}


def _check(case, path):
    """The outcome written above is the Python reader's."""
    host = host_facts(None)
    try:
        policy = Policy.load(path, host=host)
    except PolicyError as e:
        assert case["outcome"] == "rejected", f"{case['name']}: {e}"
        assert case["message"] is None or case["message"] in str(e), f"{case['name']}: {e}"
        return None
    assert case["outcome"] == "accepted", case["name"]
    queries = []
    for q in case["queries"]:
        got = _decision(policy, q)
        want = dict(q["want"])
        if want.pop("error", None):
            assert got == "ShapeError", (case["name"], got)
        else:
            has = want.pop("reason_has", None)
            assert has is None or has in got["reason"], (case["name"], has, got["reason"])
            assert all(got[k] == v for k, v in want.items()), (case["name"], want, got)
        queries.append({k: q[k] for k in ("op", "shape", "batch", "case")} | {"expect": got})
    return queries


def write(vectors):
    folder = os.path.join(vectors, FOLDER)
    os.makedirs(folder, exist_ok=True)
    expected = []
    for case in cases():
        name = f"{FOLDER}/{case['name']}.json"
        with open(os.path.join(vectors, name), "wb") as f:
            f.write(case["text"])
        queries = _check(case, os.path.join(vectors, name))
        entry = {"file": name, "why": case["why"], "outcome": case["outcome"]}
        entry.update({"message": case["message"]} if queries is None else {"queries": queries})
        expected.append(entry)
    with open(os.path.join(vectors, "policy_hostile.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
