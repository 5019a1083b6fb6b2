import json
import os
import re
import subprocess
import sys

import pytest
import synth
from conftest import AA, HERE

from modebench_report import load


def real_file():
    return os.path.join(AA, "A", sorted(os.listdir(os.path.join(AA, "A")))[0])


def test_real_fixture_parses_names_counters_and_repetitions():
    p = load.load_process(real_file())
    keys = sorted(p.records)
    assert ("linear", "square_1024", "cpu", "openblas", 8) in keys
    rec = p.records[("linear", "square_1024", "cpu", "openblas", 8)]
    assert rec.status == "ok"
    assert len(rec.times) == 5  # --benchmark_repetitions=5; aggregates are not samples
    assert all(1e-6 < t < 1 for t in rec.times)
    assert rec.counters["tolerance"][0] == pytest.approx(1e-4)
    assert rec.label["math"] == "fp32"
    assert "OpenBLAS" in p.host and p.toolkit == "none"


def test_host_key_never_hostname_alone():
    assert load.host_key({"host_name": "box1"}) == "unknown host"
    k = load.host_key({"host_name": "box1", "cpu_model": "EPYC", "device_name": "RTX 5090", "cuda_driver": "580"})
    assert k == "EPYC | RTX 5090 | 580"


def test_error_entry_statuses_and_a_bare_ok_is_no_status(tmp_path):
    """busy / not_run are statuses of their own; an error flagged "ok" cannot explain itself."""
    messages = {"a": "busy: CUDA device 0 is in use by another process", "b": "not_run: the device was lost after x",
                "c": "ok", "d": "failed: other"}
    entries = [e for impl, msg in messages.items() for e in synth.error_entry(synth.name("linear", "c", "gpu", impl, 1), msg)]
    p = load.load_process(synth.write(str(tmp_path / "f.json"), entries))
    got = {k[3]: (r.status, r.error_class) for k, r in p.records.items()}
    assert got == {"a": ("busy", ""), "b": ("not_run", ""), "c": ("failed", "other"), "d": ("failed", "other")}


def test_label_image_old_and_new_key_and_math_as_written():
    assert load.own_image(load.parse_label("image=sass:90")) == "sass:90"
    assert load.own_image(load.parse_label("image_own=ptx:75;math=tf32-allowed")) == "ptx:75"
    assert load.label_facts(load.parse_label("image_own=ptx:75;math=tf32-allowed")) == ["our kernels: ptx:75",
                                                                                       "math: tf32-allowed"]
    assert load.own_image(load.parse_label("math=fp32")) is None


def test_suffixes_skip_fields_and_aggregates_only(tmp_path):
    n = synth.name("linear", "c", "cpu", "x", 4)
    entries = [
        {"name": n + "/manual_time", "run_type": "iteration", "real_time": 2.0, "time_unit": "ms"},
        {"name": synth.name("linear", "c", "gpu", "y", 4), "run_type": "iteration", "skipped": True,
         "skip_message": "unavailable: no driver"},
        {"name": synth.name("linear", "c", "cpu", "z", 4) + "_median", "run_type": "aggregate",
         "aggregate_name": "median", "real_time": 3.0, "time_unit": "ms"},
        {"name": synth.name("linear", "c", "cpu", "z", 4) + "_mean", "run_type": "aggregate",
         "aggregate_name": "mean", "real_time": 5.0, "time_unit": "ms"},
    ]
    p = load.load_process(synth.write(str(tmp_path / "f.json"), entries))
    assert p.records[("linear", "c", "cpu", "x", 4)].times == [pytest.approx(2e-3)]
    assert p.records[("linear", "c", "gpu", "y", 4)].status == "unavailable"
    assert p.records[("linear", "c", "cpu", "z", 4)].times == [pytest.approx(3e-3)]


def _with_batch(text, batch):
    """The real file with its first benchmark's batch replaced."""
    doc = json.loads(text)
    for key in ("name", "run_name"):
        doc["benchmarks"][0][key] = re.sub(r"batch:\d+", f"batch:{batch}", doc["benchmarks"][0][key])
    return json.dumps(doc)


def _without_time_unit(text):
    """The real file with its first timed benchmark's time_unit removed."""
    doc = json.loads(text)
    timed = next(b for b in doc["benchmarks"] if "real_time" in b and not b.get("error_occurred"))
    del timed["time_unit"]
    return json.dumps(doc)


def _bad_files(tmp_path):
    text = open(real_file()).read()
    cases = {
        "not_json.json": "this is not json\n",
        "truncated.json": text[: len(text) // 2],
        "empty.json": "",
        "wrong_schema.json": json.dumps({"results": []}),
        "no_benchmarks.json": json.dumps({"context": {}, "benchmarks": []}),
        "bad_name.json": json.dumps({"context": {}, "benchmarks": [{"name": "BM_foo", "real_time": 1, "time_unit": "ns"}]}),
        # Google Benchmark writes non-finite doubles as bare tokens.
        "nan.json": text.replace('"max_err": ', '"max_err": NaN, "x": ', 1),
        "inf.json": text.replace('"FLOPS": ', '"FLOPS": Infinity, "y": ', 1),
        "neg_inf_time.json": text.replace('"real_time": ', '"real_time": -Infinity, "z": ', 1),
        # Issue 23: these gave a traceback and exit 1.
        "huge_int_time.json": text.replace('"real_time": ', '"real_time": 1' + "0" * 400 + ', "z": ', 1),
        "huge_int_counter.json": text.replace('"FLOPS": ', '"FLOPS": ' + "9" * 400 + ', "y": ', 1),
        "int_5000_digits.json": text.replace('"context": {', '"context": {"x": ' + "9" * 5000 + ", ", 1),
        "deep.json": text.replace('"context": {', '"context": {"x": ' + "[" * 5000 + "]" * 5000 + ", ", 1),
        "batch_zero.json": _with_batch(text, "0"),
        "batch_400_digits.json": _with_batch(text, "9" * 400),
        "batch_5000_digits.json": _with_batch(text, "9" * 5000),
        "batch_2_63.json": _with_batch(text, str(2**63)),
        "time_unit_list.json": text.replace('"time_unit": "', '"time_unit": [], "x": "', 1),
        # Issue 23: read as nanoseconds.
        "no_time_unit.json": _without_time_unit(text),
        "aggregate_name_list.json": json.dumps({"context": {}, "benchmarks": [
            {"name": "linear/c/mode:cpu/impl:x/batch:1_median", "run_type": "aggregate", "aggregate_name": {"a": 1},
             "real_time": 1, "time_unit": "ns"}]}),
        "aggregate_without_name.json": json.dumps({"context": {}, "benchmarks": [
            {"name": "linear/c/mode:cpu/impl:x/batch:1", "run_name": "linear/c/mode:cpu/impl:x/batch:1",
             "run_type": "aggregate", "real_time": 1, "time_unit": "ns"}]}),
    }
    paths = {}
    for name, body in cases.items():
        p = tmp_path / name
        p.write_text(body)
        paths[name] = str(p)
    return paths


@pytest.mark.parametrize(
    "name",
    ["not_json.json", "truncated.json", "empty.json", "wrong_schema.json", "no_benchmarks.json", "bad_name.json",
     "nan.json", "inf.json", "neg_inf_time.json", "huge_int_time.json", "huge_int_counter.json", "int_5000_digits.json",
     "deep.json", "batch_zero.json", "batch_400_digits.json", "batch_5000_digits.json", "batch_2_63.json",
     "time_unit_list.json", "no_time_unit.json", "aggregate_name_list.json", "aggregate_without_name.json"],
)
@pytest.mark.parametrize("cmd", ["render", "compare", "policy"])
def test_bad_input_exit_2_names_file_and_keeps_old_output(tmp_path, run, name, cmd):
    bad = _bad_files(tmp_path)[name]
    out = tmp_path / "out"
    out.mkdir()
    keep = out / ("index.html" if cmd == "render" else "result.json")
    keep.write_text("previous")
    if cmd == "render":
        code, _, err = run("render", bad, "--out", out)
    elif cmd == "compare":
        code, _, err = run("compare", real_file(), bad, "--json", keep)
    else:
        code, _, err = run("policy", bad, "--out", keep)
    assert code == 2
    assert bad in err and len(err.strip().splitlines()) == 1
    assert keep.read_text() == "previous"
    assert sorted(os.listdir(out)) == [keep.name]  # no temp files left behind


def test_our_other_json_files_are_bounded_too(tmp_path, run):
    """--probe, --limits and --previous files: deep nesting or a 5000-digit integer is one line, exit 2."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"x": ' + "[" * 5000 + "]" * 5000 + "}")
    digits = tmp_path / "digits.json"
    digits.write_text('{"x": ' + "9" * 5000 + "}")
    for bad in (deep, digits):
        for args in (("render", real_file(), "--out", tmp_path / "o", "--probe", bad),
                     ("render", real_file(), "--out", tmp_path / "o", "--limits", bad),
                     ("compare", real_file(), real_file(), "--previous", bad)):
            code, _, err = run(*args)
            assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1, (args, err)


def test_test_device_refused_unless_allowed(tmp_path, run):
    f = synth.write(str(tmp_path / "t.json"),
                    synth.ok_entry(synth.name("linear", "c", "hybrid", "naive", 1), 1e-3, label="device=test;math=fp32"))
    code, _, err = run("policy", f, "--out", tmp_path / "p.json")
    assert code == 2 and "test device" in err and f in err
    code, _, _ = run("policy", f, "--out", tmp_path / "p.json", "--allow-test-device")
    assert code == 0


def test_missing_and_empty_folder(tmp_path, run):
    code, _, err = run("render", tmp_path / "nope", "--out", tmp_path / "o")
    assert code == 2 and "nope" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run("render", tmp_path / "empty", "--out", tmp_path / "o")
    assert code == 2 and "empty" in err


def test_entry_point_script_runs(tmp_path):
    script = os.path.join(os.path.dirname(HERE), "modebench-report")
    bad = tmp_path / "x.json"
    bad.write_text("{")
    r = subprocess.run([sys.executable, script, "policy", str(bad), "--out", str(tmp_path / "p.json")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and str(bad) in r.stderr
    assert os.access(script, os.X_OK)


def test_hostkey_is_a_folder_name_that_keeps_hosts_apart():
    from modebench_report.load import host_slug

    a = host_slug("AMD EPYC | OpenBLAS 0.3.21 Zen | NVIDIA GeForce RTX 5090 | 580.65")
    b = host_slug("AMD EPYC | OpenBLAS 0.3.21 Zen | NVIDIA GeForce RTX 5090 | 575.51")
    assert "/" not in a and " " not in a and a.startswith("amd-epyc-openblas")
    assert a != b


def test_cpu_only_and_cuda_builds_on_one_box_share_the_host_key():
    from modebench_report import load

    common = {"cpu_model": "EPYC", "blas": "OpenBLAS Zen", "host_gpus": "NVIDIA GeForce RTX 5090", "nvidia_driver": "580.65.06"}
    cuda = dict(common, device_name="NVIDIA GeForce RTX 5090", cuda_driver="13.0", cuda_toolkit="13.0.88")
    cpu_only = dict(common, device_name="none", cuda_driver="none", cuda_toolkit="none")
    assert load.host_key(cuda) == load.host_key(cpu_only) == "EPYC | OpenBLAS Zen | NVIDIA GeForce RTX 5090 | 580.65.06"


def test_a_name_with_a_newline_is_still_one_line_of_bad_input(tmp_path, run):
    """Found by ci/fuzz.sh: the message quoted the benchmark's name raw, over two lines."""
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"context": {}, "benchmarks": [{"name": "linear/square_1024/mode:cpu/impl:op\nblas/batch:1",
                                                              "real_time": 1.0}]}))
    code, _, err = run("render", bad, "--out", tmp_path / "out")
    assert code == 2 and err.strip().count("\n") == 0 and "impl:op\\nblas" in err
