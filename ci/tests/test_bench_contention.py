"""The main job's contention handling (bench/bench_test.cmake ACTION=run with a budget): a
process that ran while other processes kept the machine busy is re-run, the contended file is
kept out of the report's way, and the sweep's budget goes down; `run --quiet-wait` waits at
most what it was given and says what it found."""

import json
import multiprocessing
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MODEBENCH_BUILD_DIR") or os.path.join(ROOT, "build")
MODEBENCH = os.path.join(BUILD, "modebench")
SELECTION = "--cases square_1024 --impls openblas --batches 1 --benchmark_min_time=0.05"


@pytest.fixture(scope="module")
def modebench():
    if not os.path.exists(MODEBENCH):
        if os.environ.get("CI"):
            pytest.fail(f"{MODEBENCH} is not built (ci/test.sh builds it first)")
        pytest.skip(f"{MODEBENCH} is not built")
    return MODEBENCH


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def busy_loops(n, seconds):
    procs = [multiprocessing.Process(target=_spin, args=(seconds,)) for _ in range(n)]
    for p in procs:
        p.start()
    return procs


def bench_run(tmp_path, modebench, quiet_wait=0, mode="cpu", args=SELECTION):
    cmd = ["cmake", f"-DRESULTS={tmp_path}", "-DACTION=run", f"-DMODEBENCH={modebench}", "-DOP=linear", f"-DMODE={mode}",
           "-DPROCESS=1", "-DPROFILE=quick", f"-DARGS={args}", f"-DQUIET_WAIT={quiet_wait}",
           "-P", os.path.join(ROOT, "bench", "bench_test.cmake")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def new_run_folder(tmp_path, budget):
    (tmp_path / "r" / "limits").mkdir(parents=True)
    (tmp_path / ".current-run").write_text("r")
    (tmp_path / "r" / "limits" / "quiet-budget").write_text(budget)


def test_a_contended_process_is_rerun_within_the_budget(tmp_path, modebench):
    new_run_folder(tmp_path, "5;1")
    loops = busy_loops(2 * os.cpu_count(), 30)
    try:
        done = bench_run(tmp_path, modebench, quiet_wait=1)
    finally:
        for p in loops:
            p.terminate()
    assert done.returncode == 0, done.stderr
    kept = os.listdir(tmp_path / "r" / "contended")
    assert len(kept) == 1 and kept[0].startswith("linear.cpu.p1.")  # the first try, set aside
    assert "entries contended; re-running (0 re-runs left)" in done.stdout
    doc = json.load(open(tmp_path / "r" / "linear.cpu.p1.json"))  # the re-run (still contended: the loops ran on)
    assert int(doc["context"]["contended_entries"]) >= 1
    wait_left, reruns_left = (tmp_path / "r" / "limits" / "quiet-budget").read_text().split(";")
    assert reruns_left == "0" and 0 <= int(wait_left) <= 4  # both tries waited ~1 s of the 5


def test_quiet_wait_waits_at_most_what_it_was_given_and_says_what_it_found(tmp_path, modebench):
    loops = busy_loops(2 * os.cpu_count(), 30)
    try:
        t0 = time.monotonic()
        r = subprocess.run([modebench, "run", *SELECTION.split(), "--modes", "cpu", "--quiet-wait", "1.5",
                            "--out", str(tmp_path / "o.json")], capture_output=True, text=True, timeout=300)
        took = time.monotonic() - t0
    finally:
        for p in loops:
            p.terminate()
    assert r.returncode == 0, r.stderr
    fact = json.load(open(tmp_path / "o.json"))["context"]["quiet_wait"]
    assert fact.endswith("still busy") and "--quiet-wait: still busy after" in r.stderr
    waited = float(fact.split(" s,")[0])
    assert 1.5 <= waited < 2.6 and took >= waited


def test_a_process_with_nothing_to_time_here_spends_none_of_the_budget(tmp_path, modebench):
    """A CPU-only box's gpu process runs nothing: under load it used to wait its QUIET_WAIT
    anyway, and the sweep's budget was gone before the cpu processes that needed it."""
    new_run_folder(tmp_path, "5;1")
    loops = busy_loops(2 * os.cpu_count(), 30)
    try:
        done = bench_run(tmp_path, modebench, quiet_wait=3, mode="gpu", args=SELECTION.replace("openblas", "cublas"))
    finally:
        for p in loops:
            p.terminate()
    assert done.returncode == 0, done.stderr
    doc = json.load(open(tmp_path / "r" / "linear.gpu.p1.json"))
    if any("error_message" not in b for b in doc["benchmarks"]):
        pytest.skip("this box has a device: its gpu process is timed")
    assert doc["context"]["quiet_wait"] == "none: no device here for the selected modes"
    assert (tmp_path / "r" / "limits" / "quiet-budget").read_text() == "5;1"


def test_quiet_wait_refuses_a_negative_time(modebench):
    r = subprocess.run([modebench, "run", "--quiet-wait", "-1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
