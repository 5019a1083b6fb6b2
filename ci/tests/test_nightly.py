"""Logic of ci/nightly.sh: argument errors, a toolkit that fails to build, a missing
baseline, and a real CPU-only variant run end to end (builds modebench once)."""
import json
import subprocess

import pytest
from nightly_helpers import ROOT
from nightly_helpers import run_nightly as run


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "--toolkits is required"),
        (["--toolkits", "none", "--processes", "0"], "--processes must be a positive integer"),
        (["--toolkits", "none", "--processes", "x"], "--processes must be a positive integer"),
        (["--toolkits", "none", "--profile", "huge"], "--profile must be quick or full"),
        (["--toolkits", "none", "--frobnicate"], "unknown argument '--frobnicate'"),
        (["--toolkits"], "--toolkits needs a value"),
        (["--toolkits", "none", "--confirm-budget", "soon"], "--confirm-budget must be a whole number of seconds"),
        (["--toolkits", "none", "--confirm-processes", "0"], "--confirm-processes must be a positive integer"),
        (["--toolkits", "none", "--candidate-env", "SLOW"], "--candidate-env takes VAR=VALUE words"),
        (["--toolkits", "none", "--fuzz", "soon"], "--fuzz must be a whole number of seconds"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_message(args, message):
    r = run(args)
    assert r.returncode == 2
    assert message in r.stderr


@pytest.fixture(scope="module")
def nightly_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("nightly")
    baselines = tmp_path_factory.mktemp("baselines")
    r = run(
        [
            "--toolkits", "/nonexistent/cuda-99.9 none",
            "--processes", "2",
            "--profile", "quick",
            "--ops", "linear",
            "--modes", "cpu",
            "--run-args", "--cases square_1024 --batches 1,8 --benchmark_min_time=0.01",
            "--out", str(out),
            "--baseline", str(baselines),
        ],
        timeout=1500,
    )
    return r, out, baselines


def test_failed_toolkit_is_reported_and_other_variants_run(nightly_run):
    r, out, _ = nightly_run
    assert r.returncode == 0, r.stdout + r.stderr
    summary = (out / "summary.md").read_text()
    assert "build FAILED" in summary and "/nonexistent/cuda-99.9" in summary
    runs = sorted((out / "cpu-only").glob("process-*.json"))
    assert [p.name for p in runs] == ["process-1.json", "process-2.json"]
    names = {b["name"] for b in json.loads(runs[0].read_text())["benchmarks"]}
    assert "linear/square_1024/mode:cpu/impl:onednn/batch:8" in names


def test_missing_baseline_is_said_and_promotion_creates_it(nightly_run):
    r, out, baselines = nightly_run
    summary = (out / "summary.md").read_text()
    assert "no baseline for host" in summary
    p = subprocess.run(["bash", str(ROOT / "ci" / "promote-baseline.sh"), str(out), "--baseline", str(baselines)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    promoted = list(baselines.glob("*/cpu-only/process-*.json"))
    assert len(promoted) == 2


def test_report_is_rendered(nightly_run):
    _, out, _ = nightly_run
    assert (out / "report").is_dir()
    assert any((out / "report").glob("*.html"))


def test_rerun_arguments_select_exactly_those_series_in_the_real_binary(nightly_run, tmp_path):
    """compare's --suspicious-out format against the real Google Benchmark filter."""
    import sys

    sys.path.insert(0, str(ROOT / "report"))
    from modebench_report.compare import rerun_arguments

    _, out, _ = nightly_run
    (binary,) = out.glob("build-*-cpu-only/modebench")
    names = ["linear/square_1024/mode:cpu/impl:onednn/batch:8", "linear/square_1024/mode:cpu/impl:openblas/batch:1"]
    r = subprocess.run([str(binary), "run", "--profile", "quick", "--ops", "linear", "--modes", "cpu",
                        "--benchmark_min_time=0.01", rerun_arguments(names), "--out", str(tmp_path / "f.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(b["name"] for b in json.loads((tmp_path / "f.json").read_text())["benchmarks"]) == sorted(names)
