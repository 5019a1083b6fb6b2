"""The Python reader against the shared vectors (the C++ reader's test reads the same
files), plus validation, host identity and the safe default."""

import json
import os

import make_vectors  # first: puts this checkout's package on the path
import pytest
from make_vectors import VECTORS
from modebench_policy import (DEFAULT, MEASURED, MODEL, HostFacts, HostMismatch, Policy, PolicyError, ShapeError,
                              features, normalize)

SYNTH_HOST = make_vectors.host_facts(None)
LINEAR_HEAD = make_vectors.LINEAR_HEAD
V2 = os.path.join(VECTORS, "policy_synthetic_v2.json")


def _load(name):
    with open(os.path.join(VECTORS, name)) as f:
        return json.load(f)


def test_vectors_are_what_make_vectors_writes(tmp_path, monkeypatch):
    """The committed vectors are current: regenerating them changes nothing."""
    monkeypatch.setattr(make_vectors, "VECTORS", str(tmp_path))
    make_vectors.main()
    written = [os.path.relpath(os.path.join(d, f), tmp_path) for d, _, files in os.walk(tmp_path) for f in files]
    assert "policy_hostile.json" in written
    for name in written:
        with open(os.path.join(VECTORS, name), "rb") as f:
            assert (tmp_path / name).read_bytes() == f.read(), name


@pytest.mark.parametrize("case", _load("policy_features.json"), ids=lambda c: f"{c['op']}-{c['batch']}")
def test_features_vectors(case):
    if case.get("error"):
        with pytest.raises(ShapeError):
            features(case["op"], case["shape"], case["batch"])
    else:
        assert features(case["op"], case["shape"], case["batch"]) == case["features"]


@pytest.mark.parametrize("q", _load("policy_decisions.json"), ids=lambda q: f"{q['policy']}-{q['op']}-{q['batch']}")
def test_decision_vectors(q):
    host = make_vectors.host_facts(q["host"])
    policy = Policy.load(os.path.join(VECTORS, q["policy"]), host=host, allow_other_host=q["host"] is not None)
    d = policy.choose(q["op"], q["shape"], q["batch"], q["case"])
    assert {"mode": d.mode, "impl": d.impl, "confidence": d.confidence, "source": d.source, "reason": d.reason} == q["expect"]


@pytest.mark.parametrize("v", _load("policy_plans.json"), ids=lambda v: f"{v['policy']}-{v['op']}-{v['case']}")
def test_plan_vectors(v):
    """The same pieces as the C++ reader (tests/test_policy_reader.cpp reads this file too)."""
    policy = Policy.load(os.path.join(VECTORS, v["policy"]), host=make_vectors.host_facts(v["host"]),
                         allow_other_host=v["host"] is not None)
    got = [{"batch_min": x.batch_min, "batch_max": x.batch_max, "mode": x.decision.mode, "impl": x.decision.impl,
            "confidence": x.decision.confidence, "source": x.decision.source, "reason": x.decision.reason}
           for x in policy.plan(v["op"], v["shape"], v["case"]).pieces]
    assert got == v["pieces"]


def _probe_batches(plan):
    batches = set(range(1, 301)) | {1 << 20, 1 << 40, 1 << 62}
    for x in plan.pieces:
        batches |= {b for b in (x.batch_min - 1, x.batch_min, x.batch_min + 1) if b >= 1}
    return sorted(batches)


@pytest.mark.parametrize("v", _load("policy_plans.json"), ids=lambda v: f"{v['policy']}-{v['op']}-{v['case']}")
def test_a_plan_gives_chooses_decision_at_every_batch(v):
    policy = Policy.load(os.path.join(VECTORS, v["policy"]), host=make_vectors.host_facts(v["host"]),
                         allow_other_host=v["host"] is not None)
    plan = policy.plan(v["op"], v["shape"], v["case"])
    assert plan.pieces[0].batch_min == 1 and plan.pieces[-1].batch_max is None
    assert all(a.batch_max + 1 == b.batch_min for a, b in zip(plan.pieces, plan.pieces[1:]))
    for b in _probe_batches(plan):
        want, got = policy.choose(v["op"], v["shape"], b, v["case"]), plan.choose(b)
        assert (got.mode, got.impl, got.confidence, got.source) == (want.mode, want.impl, want.confidence, want.source), b


def test_a_plan_of_an_unmeasured_shape_agrees_with_choose():
    p = Policy.load(V2, host=SYNTH_HOST)
    shapes = [("linear", {"in_features": i, "out_features": o}) for i in (16, 100, 512, 1024, 3000, 8192)
              for o in (8, 256, 1000, 4096)]
    shapes += [("conv2d", {"in_channels": c, "out_channels": c, "height": hw, "width": hw, "kernel_size": 3,
                           "padding": 1, **({"groups": c} if dw else {})})
               for c in (3, 32, 96, 256) for hw in (7, 56, 224) for dw in (False, True)]
    shapes += [("conv1d", {"in_channels": c, "out_channels": c, "length": length, "kernel": 7, "padding": 3 * d,
                           "dilation": d})
               for c in (32, 128, 512) for length in (87, 5568, 22272) for d in (1, 3, 5)]
    shapes.append(("knn", {}))
    for op, shape in shapes:
        plan = p.plan(op, shape)
        for b in _probe_batches(plan) + list(range(301, 5001, 7)):
            want, got = p.choose(op, shape, b), plan.choose(b)
            assert (got.mode, got.impl, got.source) == (want.mode, want.impl, want.source), (op, shape, b)


def test_a_plan_refuses_what_choose_refuses():
    p = Policy.load(V2, host=SYNTH_HOST)
    with pytest.raises(ShapeError):
        p.plan("linear", {"in_features": 3})
    with pytest.raises(ShapeError):
        p.plan("pool2d", {})
    plan = p.plan("linear", {"in_features": 3, "out_features": 3})
    for bad in (0, -1, True, 2.0, 2**63):
        with pytest.raises(ShapeError):
            plan.choose(bad)
    safe = Policy.load_or_default("/nonexistent/policy.json").plan("linear", {"in_features": 3, "out_features": 3})
    assert len(safe.pieces) == 1 and safe.choose(1 << 20).source == DEFAULT


@pytest.mark.parametrize("case", _load("policy_hostile.json"), ids=lambda c: os.path.basename(c["file"]))
def test_hostile_files_get_the_cpp_readers_answers(case):
    """Hostile and odd files (nesting 100 000 deep, integers past int64, lone surrogates, a
    byte-order mark, 2^53 dimensions...): refused with one line and the safe default, or the
    decisions tests/test_policy_reader.cpp checks too. Before issue 23: RecursionError,
    KeyError 'batch_max', and 21 files answered otherwise than in C++."""
    path = os.path.join(VECTORS, case["file"])
    if case["outcome"] == "rejected":
        with pytest.raises(PolicyError) as e:
            Policy.load(path, host=SYNTH_HOST)
        message = str(e.value)
        assert message.startswith(path) and "\n" not in message
        assert case["message"] is None or case["message"] in message
        d = Policy.load_or_default(path, host=SYNTH_HOST).choose("linear", {"in_features": 8, "out_features": 8}, 4)
        assert (d.mode, d.impl, d.source) == ("cpu", "", DEFAULT) and d.reason.startswith(f"safe default (cpu): {path}")
        return
    policy = Policy.load(path, host=SYNTH_HOST)
    for q in case["queries"]:
        if q["expect"] == "ShapeError":
            with pytest.raises(ShapeError):
                policy.choose(q["op"], q["shape"], q["batch"], q["case"])
        else:
            d = policy.choose(q["op"], q["shape"], q["batch"], q["case"])
            assert {"mode": d.mode, "impl": d.impl, "confidence": d.confidence, "source": d.source,
                    "reason": d.reason} == q["expect"]


def test_depth_is_counted_outside_strings_in_linear_time():
    from modebench_policy.reader import nesting_depth

    assert nesting_depth('{"a": [1, {"b": "[[[{{{\\"]]"}]}') == 3
    assert nesting_depth('"unterminated [[[') == 0
    assert nesting_depth("]]][[") == 0
    assert nesting_depth("[" * 200000) == 200000
    # An unterminated string of escaped quotes is scanned once, not once per quote.
    assert nesting_depth('"' + '\\"' * 200000 + "[[") == 0
    assert nesting_depth('"' + '\\"' * 200000 + '"[[') == 2


def test_batch_beyond_int64_is_a_shape_error():
    """C++ cannot be asked it; Python says so instead of answering."""
    p = Policy.load(V2, host=SYNTH_HOST)
    assert p.choose("linear", LINEAR_HEAD, 2**63 - 1).mode == "gpu"
    with pytest.raises(ShapeError, match="is more than 9223372036854775807"):
        p.choose("linear", LINEAR_HEAD, 2**63)


def test_load_or_default_never_raises(tmp_path, monkeypatch):
    """Even a bug of ours (here: validation raising TypeError) gives the safe default."""
    from modebench_policy import reader

    def broken(doc, path):
        raise TypeError("a bug")

    monkeypatch.setattr(reader, "validate", broken)
    p = Policy.load_or_default(V2, host=SYNTH_HOST)
    assert p.error == f"{V2}: cannot use the policy: TypeError: a bug"


def test_vectors_cover_every_source_and_the_risk_margin():
    got = [q["expect"] for q in _load("policy_decisions.json")]
    assert {e["source"] for e in got} == {MEASURED, MODEL, DEFAULT}
    assert {e["mode"] for e in got} >= {"cpu", "gpu", "hybrid"}
    assert {e["impl"] for e in got if e["mode"] == "hybrid"} == {"naive", "cached"}
    assert any("the safer mode kept" in e["reason"] for e in got)
    assert any("provisional: not enough runs (n = 2)" in e["reason"] and e["confidence"] is None for e in got)


def test_excluded_modes_are_never_chosen():
    """ptx-jit/cublas failed and is predicted the fastest everywhere: never chosen."""
    p = Policy.load(V2, host=SYNTH_HOST)
    for batch in (1, 3, 17, 100, 5000):
        for shape in ({"in_features": 1280, "out_features": 1000}, {"in_features": 64, "out_features": 7}):
            d = p.choose("linear", shape, batch)
            assert (d.mode, d.impl) not in {("ptx-jit", "cublas"), ("gpu", "cublas_tf32")}
            assert "ptx-jit/cublas (failed: no_kernel_image" in d.reason


def test_shapes_normalize_torch_style():
    a = normalize("conv2d", {"in_channels": 3, "out_channels": 8, "height": 9, "width": 9, "kernel_size": (3, 1),
                             "stride": 2, "padding": [1, 0]})
    assert (a["kernel_h"], a["kernel_w"], a["stride_h"], a["stride_w"], a["pad_h"], a["pad_w"], a["groups"]) == (3, 1, 2, 2, 1, 0, 1)
    with pytest.raises(ShapeError, match="unknown op 'pool2d'"):
        normalize("pool2d", {})
    with pytest.raises(ShapeError, match="must be an integer"):
        normalize("linear", {"in_features": 2.5, "out_features": 1})


# ---------------------------------------------------------------- bad files
BAD = [
    ("missing", None, "cannot read the policy"),
    ("empty", "", "empty file"),
    ("not json", "{schema:", "not JSON"),
    ("truncated", '{"schema": "modebench-policy/2", "rules": [', "not JSON"),
    ("nan", '{"schema": "modebench-policy/1", "host": {}, "rules": [], "x": NaN}', "not JSON"),
    ("wrong schema", '{"schema": "modebench-policy/9", "host": {}, "rules": []}', "schema is 'modebench-policy/9'"),
    ("a list", "[1, 2]", "the document is not an object"),
    ("v2 without models", '{"schema": "modebench-policy/2", "host": {}, "rules": [], "identity": {}}', "models is not a list"),
]


def _rule(**over):
    r = {"op": "linear", "case": "x", "shape": None,
         "ranges": [{"batch_min": 1, "batch_max": None, "mode": "cpu", "impl": "a", "confidence": 0.5,
                     "provisional": False, "processes": 3}], "excluded": []}
    r.update(over)
    return r


def _v2(**over):
    doc = {"schema": "modebench-policy/2", "host": {}, "identity": {}, "rules": [_rule()], "models": [], "excluded": [],
           "risks": {"cpu": 0}}
    doc.update(over)
    return json.dumps(doc)


BAD += [
    ("gap in ranges", _v2(rules=[_rule(ranges=[
        {"batch_min": 1, "batch_max": 4, "mode": "cpu", "impl": "a", "confidence": 0.5, "provisional": False, "processes": 3},
        {"batch_min": 6, "batch_max": None, "mode": "gpu", "impl": "b", "confidence": 0.5, "provisional": False, "processes": 3}])]),
     "rules[0].ranges[1].batch_min = 6 does not follow the previous range (expected 5)"),
    ("closed last range", _v2(rules=[_rule(ranges=[
        {"batch_min": 1, "batch_max": 4, "mode": "cpu", "impl": "a", "confidence": 0.5, "provisional": False, "processes": 3}])]),
     "must be null"),
    ("confidence above 1", _v2(rules=[_rule(ranges=[
        {"batch_min": 1, "batch_max": None, "mode": "cpu", "impl": "a", "confidence": 1.5, "provisional": False, "processes": 3}])]),
     "rules[0].ranges[0].confidence"),
    ("certain without confidence", _v2(rules=[_rule(ranges=[
        {"batch_min": 1, "batch_max": None, "mode": "cpu", "impl": "a", "confidence": None, "provisional": False, "processes": 3}])]),
     "is null but the range is not provisional"),
    ("negative coefficient", _v2(models=[{"op": "linear", "mode": "cpu", "impl": "a", "terms": {"call": -1},
                                          "kinds": ["dense"], "copies_weights": False, "margin": 0.1, "loco": None}]),
     "models[0].terms.call"),
    ("unknown term", _v2(models=[{"op": "linear", "mode": "cpu", "impl": "a", "terms": {"watts": 1},
                                  "kinds": ["dense"], "copies_weights": False, "margin": 0.1, "loco": None}]),
     "not a known term"),
    ("bad rule shape", _v2(rules=[_rule(shape={"in_features": 3})]), "rules[0].shape: linear shape: missing out_features"),
]


@pytest.mark.parametrize("name,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_files_one_clear_error_and_the_safe_default(tmp_path, name, text, message):
    path = tmp_path / "policy.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(PolicyError) as e:
        Policy.load(str(path), host=SYNTH_HOST)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)
    fallback = Policy.load_or_default(str(path), host=SYNTH_HOST)
    d = fallback.choose("linear", {"in_features": 8, "out_features": 8}, 4)
    assert (d.mode, d.impl, d.confidence, d.source) == ("cpu", "", None, DEFAULT)
    assert d.reason.startswith("safe default (cpu): ") and message in d.reason and fallback.error


# ---------------------------------------------------------------- host identity
def test_another_host_is_refused_unless_allowed():
    other = HostFacts(cpu_model="Synthetic CPU", gpus=("Synthetic GPU",), gpu_cc="8.6", driver="580.65.06")
    with pytest.raises(HostMismatch, match=r"gpu_cc: here '8.6', policy '12.0'.*allow_other_host=True"):
        Policy.load(V2, host=other)
    p = Policy.load(V2, host=other, allow_other_host=True)
    assert p.choose("linear", {"in_features": 1280, "out_features": 1000}, 1).reason.endswith(
        "[policy from another host (gpu_cc: here '8.6', policy '12.0')]")
    d = Policy.load_or_default(V2, host=other).choose("linear", {"in_features": 1280, "out_features": 1000}, 64)
    assert d.source == DEFAULT and "measured on another host" in d.reason


def test_unknown_facts_are_not_compared():
    """An application that cannot tell its compute capability or driver is compared on the rest."""
    p = Policy.load(V2, host=HostFacts(cpu_model="Synthetic CPU", gpus=("Synthetic GPU",)))
    assert p.choose("linear", {"in_features": 1280, "out_features": 1000}, 64).mode == "gpu"
    with pytest.raises(HostMismatch, match=r"gpus: here no GPU, policy \[Synthetic GPU\]"):
        Policy.load(V2, host=HostFacts(cpu_model="Synthetic CPU", gpus=()))


def test_detect_reads_proc(tmp_path):
    (tmp_path / "driver" / "nvidia" / "gpus" / "0000:01:00.0").mkdir(parents=True)
    (tmp_path / "driver" / "nvidia" / "gpus" / "0000:01:00.0" / "information").write_text(
        "Model: \t\t NVIDIA GeForce RTX 5090\nIRQ: 1\n")
    (tmp_path / "driver" / "nvidia" / "version").write_text(
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  575.51.02  Release Build\n")
    (tmp_path / "cpuinfo").write_text("processor: 0\nmodel name\t: AMD Ryzen 9 9950X 16-Core Processor\n")
    h = HostFacts.detect(gpu_cc="12.0", proc=str(tmp_path))
    assert h == HostFacts("AMD Ryzen 9 9950X 16-Core Processor", ("NVIDIA GeForce RTX 5090",), "12.0", "575.51.02")
    bare = HostFacts.detect(proc=str(tmp_path / "nothing"))
    assert bare == HostFacts(None, (), None, None)
    # aarch64 kernels write no "model name": the first CPU's implementer and part (a Grace core)
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nBogoMIPS\t: 2000.00\nCPU implementer\t: 0x41\n"
                                      "CPU architecture: 8\nCPU part\t: 0xd4f\n\nprocessor\t: 1\n"
                                      "CPU implementer\t: 0x61\nCPU part\t: 0x022\n")
    assert HostFacts.detect(proc=str(tmp_path)).cpu_model == "aarch64 implementer 0x41 part 0xd4f"
    (tmp_path / "cpuinfo").write_text("processor\t: 0\n")
    assert HostFacts.detect(proc=str(tmp_path)).cpu_model == "unknown"


def test_v1_identity_compares_what_it_has():
    v1 = os.path.join(VECTORS, "policy_synthetic_v1.json")
    assert Policy.load(v1, host=SYNTH_HOST).schema == "modebench-policy/1"
    with pytest.raises(HostMismatch, match="cpu_model"):
        Policy.load(v1, host=HostFacts(cpu_model="Other"))


def test_bad_shape_is_an_error_not_a_decision():
    p = Policy.load(V2, host=SYNTH_HOST)
    with pytest.raises(ShapeError, match="missing out_features"):
        p.choose("linear", {"in_features": 3}, 1)
    with pytest.raises(ShapeError, match="batch = 0"):
        p.choose("linear", {"in_features": 3, "out_features": 3}, 0)


def test_a_range_without_batch_max_or_with_processes_null_is_answered(tmp_path):
    """Validation takes a last range without batch_max (open) and a v1 range with processes
    null, as C++ does; choose() raised KeyError: 'batch_max' and wrote 'n = None'."""
    doc = json.loads(open(os.path.join(VECTORS, "policy_synthetic_v1.json")).read())
    doc["rules"] = [{"op": "linear", "case": "c", "ranges": [
        {"batch_min": 1, "batch_max": 4, "mode": "cpu", "impl": "a", "confidence": None, "processes": None},
        {"batch_min": 5, "mode": "gpu", "impl": "b", "confidence": 0.9, "processes": 3}]}]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    p = Policy.load(str(path), host=SYNTH_HOST)
    shape = {"in_features": 8, "out_features": 8}
    assert p.choose("linear", shape, 100, "c").reason == (
        "measured: linear/c batch 100 in 5..inf: gpu/b fastest (confidence 0.90 over 3 processes)")
    assert p.choose("linear", shape, 2, "c").reason.endswith("(provisional: not enough runs (n = ?))")


def test_a_device_name_with_a_note_is_no_gpu_name(tmp_path):
    """A CUDA build on a box without a driver writes device_name 'none (no CUDA driver ...)':
    that is not a GPU model to compare."""
    doc = json.loads(open(os.path.join(VECTORS, "policy_synthetic_v1.json")).read())
    doc["host"]["device_name"] = "none (no CUDA driver (libcuda not loadable))"
    doc["host"]["device_cc"] = "none"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    p = Policy.load(str(path), host=HostFacts(cpu_model="Synthetic CPU", gpus=("Any GPU",), gpu_cc="9.0"))
    assert p.host_note == ""


def test_conv1d_defaults_and_impossible_shapes():
    s = normalize("conv1d", {"in_channels": 4, "out_channels": 8, "length": 9, "kernel": 3})
    assert (s["stride"], s["padding"], s["dilation"], s["groups"]) == (1, 0, 1, 1)
    f = features("conv1d", {"in_channels": 4, "out_channels": 8, "length": 9, "kernel": 7, "padding": 9,
                            "dilation": 3}, 2)
    assert f["flop"] == 2.0 * 2 * 8 * 9 * 4 * 7 and f["kind"] == "dense"
    for bad in ({"length": 8, "kernel": 5, "dilation": 2}, {"length": 8, "kernel": 3, "groups": 4},
                {"length": 8, "kernel": 3, "padding": -1}):
        with pytest.raises(ShapeError):
            normalize("conv1d", {"in_channels": 6, "out_channels": 4, **bad})
