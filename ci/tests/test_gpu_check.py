"""ci/gpu-check.sh's own logic, on this machine without a GPU: the distinct exit without a
driver, bad arguments, the bundle packer (the packed modebench runs with only its own
libraries and CUDA's), and the verdict of ci/gpu_check_summary.py on synthetic results."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "ci", "gpu-check.sh")
sys.path.insert(0, os.path.join(ROOT, "ci"))
import gpu_check_summary as summary  # noqa: E402

HAS_DRIVER = os.path.exists("/proc/driver/nvidia/version")


def run(*args, env=None):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT)


@pytest.mark.skipif(HAS_DRIVER, reason="this machine has an NVIDIA driver")
def test_without_a_driver_it_says_so_in_one_line_and_exits_3():
    r = run()
    assert r.returncode == 3
    assert r.stdout.strip().count("\n") == 0
    assert "no NVIDIA driver" in r.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["--arch"], ["--prepare", "--arch", "sm90"], ["--pack", "/no/such"]])
def test_bad_arguments_exit_2(args):
    assert run(*args).returncode == 2


def test_the_bundle_runs_with_only_its_own_libraries_and_cuda(tmp_path):
    binary = os.path.join(ROOT, "build", "modebench")
    if not os.path.exists(binary):
        pytest.skip("build/modebench is not built (ci/test.sh builds it first)")
    env = dict(os.environ, MODEBENCH_GPU_BUNDLE=str(tmp_path))
    r = run("--pack", binary, env=env)
    assert r.returncode == 0, r.stderr
    bundle = tmp_path / "modebench-bundle.tar.gz"
    assert bundle.stat().st_size < 48 << 20
    listed = subprocess.run(["tar", "-tzf", str(bundle)], capture_output=True, text=True).stdout.split()
    assert "bin/modebench" in listed
    assert any(n.startswith("lib/libdnnl") for n in listed) and any(n.startswith("lib/libopenblas") for n in listed)
    assert not any(n.startswith(("lib/libc.so", "lib/libcudart", "lib/libcublas")) for n in listed)


def bench(name, message=None, label="", real_time=10.0):
    b = {"name": name, "run_name": name, "run_type": "iteration", "real_time": real_time, "time_unit": "us",
         "label": label}
    if message:
        b.update(error_occurred=True, error_message=message)
    return b


def write(path, benches):
    path.write_text(json.dumps({"context": {}, "benchmarks": benches}))
    return str(path)


OK_GPU = "linear/sq/mode:gpu/impl:cublas/batch:1"
CAPPED = "knn/uniform/mode:gpu/impl:chunked/batch:2000000"


def verdict(tmp_path, sweep, capped=None, *extra):
    s = write(tmp_path / "sweep.json", sweep)
    c = write(tmp_path / "capped.json", capped if capped is not None else [bench(CAPPED)])
    return summary.main([s, c, *extra])


def test_all_ok_passes_and_the_table_names_the_image_and_math(tmp_path, capsys):
    label = "math=tf32-allowed;image_own=sass:90"
    assert verdict(tmp_path, [bench(OK_GPU, label=label)], None, "--gpu-present") == 0
    out = capsys.readouterr().out
    assert "sass:90" in out and "tf32-allowed" in out and "gpu-check: passed" in out


@pytest.mark.parametrize(
    "message, gpu_present, expected",
    [
        ("wrong: max_err=0.5 tolerance=0.0001", False, 1),
        ("unavailable: no CUDA driver (libcuda not loadable)", True, 1),
        ("unavailable: no CUDA driver (libcuda not loadable)", False, 0),
        ("failed: no_kernel_image: x", True, 0),  # a compatibility finding, not a check failure
        ("not_run: the device was lost after x", True, 0),
        # a bundle carries no libtorch: the torch provider's rows ran nowhere, which is said, not failed
        ("unavailable: built without the torch provider (modebench-torch not found next to modebench: x)", True, 0),
    ],
)
def test_what_fails_the_check(tmp_path, capsys, message, gpu_present, expected):
    sweep = [bench(OK_GPU), bench("linear/sq/mode:gpu/impl:cublas/batch:8", message)]
    args = ["--gpu-present"] if gpu_present else []
    assert verdict(tmp_path, sweep, None, *args) == expected
    assert message in capsys.readouterr().out  # every entry without a timing is listed with its message


def test_harness_errors_and_a_failed_capped_check_fail(tmp_path):
    assert verdict(tmp_path, [bench(OK_GPU)], None, "--harness-errors", "1") == 1
    assert verdict(tmp_path, [bench(OK_GPU)], [bench(CAPPED, "failed: out_of_memory: budget")]) == 1
    assert verdict(tmp_path, [bench(OK_GPU)], []) == 1


def test_a_forced_cudnn_algorithm_that_is_wrong_fails_one_not_offered_does_not(tmp_path):
    s = write(tmp_path / "sweep.json", [bench(OK_GPU)])
    c = write(tmp_path / "capped.json", [bench(CAPPED)])
    conv = "conv2d/resnet_3x3/mode:gpu/impl:cudnn/batch:1"
    offered_not = write(tmp_path / "conv_fft.json", [bench(conv, "unavailable: cuDNN has no usable fft algorithm")])
    assert summary.main([s, c, "--gpu-present", "--forced-algorithms", offered_not]) == 0
    wrong = write(tmp_path / "conv_winograd.json", [bench(conv, "wrong: max_err=0.001 tolerance=1.67e-05")])
    assert summary.main([s, c, "--gpu-present", "--forced-algorithms", offered_not, wrong]) == 1
