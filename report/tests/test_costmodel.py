"""The policy's cost model (costmodel.py) and the /2 document, read back by the reader package."""

import json

import numpy as np
import pytest
import synth
from conftest import FIXTURES

from modebench_report import costmodel, load
from modebench_report.cases import SHAPES
from modebench_policy import HostFacts, Policy

SYNTH_HOST = HostFacts(cpu_model="Synthetic CPU", gpus=("Synthetic GPU",), gpu_cc="12.0", driver="580.65.06")


def _cases(folder):
    (s,) = load.load_sets([str(folder)])
    (series,) = load.group_series(s.processes).values()
    return load.by_case(series)


@pytest.fixture(scope="module")
def exact(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cost") / "s"
    synth.costmodel_set(str(folder), processes=3, noise=0.0)
    return folder


def test_the_fit_finds_the_known_costs_back(exact):
    cases = _cases(exact)
    for line, truth in synth.COST_LINES.items():
        m = costmodel.model_for("linear", line, costmodel.points_of(cases, "linear", line, {}))
        for term in costmodel.terms_of("linear", line[0]):
            # 'copied' and 'bytes' overlap for naive hybrids; the prediction is what must hold.
            if line[0] != "hybrid":
                assert m["terms"][term] == pytest.approx(truth.get(term, 0.0), rel=1e-3, abs=1e-15), (line, term)
        assert m["fit_rel_error"] < 1e-3 and m["loco"]["median_rel_error"] < 1e-3 and m["loco"]["cases"] == 4
        assert m["margin"] == m["loco"]["median_rel_error"]
        assert m["copies_weights"] == (line == ("hybrid", "naive"))
        assert m["kinds"] == ["dense"] and m["processes"] == 3


def test_held_out_error_shows_a_model_that_does_not_fit(tmp_path):
    """Times the terms cannot express (quadratic in the batch) give a large held-out error."""
    folder = tmp_path / "s"
    synth.costmodel_set(str(folder), processes=1, noise=0.0, lines=[("cpu", "onednn")])
    for p in folder.iterdir():
        doc = json.loads(p.read_text())
        for e in doc["benchmarks"]:
            if "real_time" in e and not e.get("error_occurred"):
                b = int(e["name"].rsplit(":", 1)[1])
                e["real_time"] *= b  # time ~ batch^2
        p.write_text(json.dumps(doc))
    cases = _cases(folder)
    m = costmodel.model_for("linear", ("cpu", "onednn"), costmodel.points_of(cases, "linear", ("cpu", "onednn"), {}))
    assert m["loco"]["median_rel_error"] > 0.3


def test_one_case_has_no_held_out_check_and_a_wide_margin(exact):
    cases = {k: v for k, v in _cases(exact).items() if k[1] == "square_1024"}
    m = costmodel.model_for("linear", ("cpu", "onednn"), costmodel.points_of(cases, "linear", ("cpu", "onednn"), {}))
    assert m["loco"] is None and m["margin"] == costmodel.MARGIN_UNVALIDATED


def test_held_out_crossings_match_the_true_ones(exact):
    cases = _cases(exact)
    for case, (i, o) in synth.COST_CASES.items():
        pred = costmodel.held_out_predictions(cases, {}, "linear", case)
        x = costmodel.crossing(pred[("cpu", "onednn")], pred[("gpu", "cublas")])
        # the true crossing of the two affine times
        t = lambda line, b: synth.cost_time(line, i, o, b)  # noqa: E731
        a1, b1 = t(("cpu", "onednn"), 1) * 2 - t(("cpu", "onednn"), 2), t(("cpu", "onednn"), 2) - t(("cpu", "onednn"), 1)
        a2, b2 = t(("gpu", "cublas"), 1) * 2 - t(("gpu", "cublas"), 2), t(("gpu", "cublas"), 2) - t(("gpu", "cublas"), 1)
        assert x == pytest.approx((a2 - a1) / (b1 - b2), rel=1e-3)


def test_policy_v2_document_and_the_reader_on_unmeasured_shapes(exact, tmp_path, run):
    out = tmp_path / "policy.json"
    code, text, _ = run("policy", exact, "--out", out)
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "modebench-policy/2"
    # no host_gpus in the synthetic context: the measured device stands for the GPUs
    assert doc["identity"] == {"cpu_model": "Synthetic CPU", "gpus": ["Synthetic GPU"], "gpu_cc": "12.0", "driver": None}
    assert doc["risks"] == {"cpu": 0, "gpu": 2, "ptx-jit": 3, "hybrid": 1}
    assert {(m["mode"], m["impl"]) for m in doc["models"]} == set(synth.COST_LINES)
    assert [(e["op"], e["mode"], e["impl"], e["status"]) for e in doc["excluded"]] == [("linear", "ptx-jit", "cublas", "unavailable")]
    rule = next(r for r in doc["rules"] if r["case"] == "xtts_qkv")
    assert rule["shape"] == {"in_features": 1024, "out_features": 3072}
    p = Policy.load(str(out), host=SYNTH_HOST)
    # 2048 -> 2048 was never measured: the model answers; cpu below the crossing, gpu above.
    small, big = (p.choose("linear", {"in_features": 2048, "out_features": 2048}, b) for b in (1, 256))
    assert (small.mode, small.source, big.mode, big.source) == ("cpu", "model", "gpu", "model")
    assert "held-out error" in big.reason and "ptx-jit/cublas (unavailable: built without PTX)" in big.reason
    measured = p.choose("linear", {"in_features": 1024, "out_features": 3072}, 256)
    assert (measured.mode, measured.source) == ("gpu", "measured")


def test_a_wrong_line_gets_no_model(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert ("hybrid", "cached") not in {(m["mode"], m["impl"]) for m in doc["models"]}
    assert {(e["mode"], e["impl"]): e["status"] for e in doc["excluded"]} == {
        ("hybrid", "cached"): "wrong", ("ptx-jit", "cublas"): "failed", ("gpu", "tf32"): "unavailable"}


def test_case_shapes_agree_with_the_harness_counters():
    """Every shape of cases.py gives the flop and bytes per call the harness itself reported
    (FLOPS and bytes_per_second x time) in real result files: the table cannot drift from
    ops/<op>/case.cpp unnoticed. Every case of those files is in the table, and every case of the
    table in them (conv1d_cpu: a cpu run of every conv1d case, full profile, B = 1 and 2)."""
    from modebench_policy.features import features

    def _work_per_call(s, counter):
        # Every ok record, contended or not (conv1d_cpu was measured on a shared machine): a
        # rate counter times the call's time is the work of one call whatever the contention.
        v = [np.median(np.asarray(r.counters[counter]) * np.asarray(r.times))
             for r in s.records if r.status == "ok" and counter in r.counters]
        return float(np.median(v)) if v else None

    cases = {**_cases(FIXTURES + "/all_ops_cpu"), **_cases(FIXTURES + "/conv1d_cpu")}
    assert set(cases) == set(SHAPES)
    for (op, case), lines in cases.items():
        for line, by_batch in lines.items():
            for b, s in by_batch.items():
                if s.measured_status != "ok":
                    continue
                f = features(op, SHAPES[(op, case)], b)
                if op != "knn":  # knn reports no FLOPS
                    assert _work_per_call(s, "FLOPS") == pytest.approx(f["flop"], rel=1e-6), (op, case, b)
                assert _work_per_call(s, "bytes_per_second") == pytest.approx(f["bytes"], rel=1e-6), (op, case, b)
