"""The failure paths of the device modes, run through the real CudaDevice on the simulated device
with injected faults and simulated devices (MODEBENCH_SIM_FAULT, MODEBENCH_SIM_DEVICE). Each
scenario runs `modebench run` and checks every entry ends in the status the README documents:
a caught error is not blamed on the next entry; a sticky error leaves later device entries
not_run naming it while host entries still run; a busy device is busy; no device is
unavailable; a device the binary has no image for is no_kernel_image, under forced JIT too; and
knn in too little memory fails its resident impl with out_of_memory while the chunked impl fits.

usage: sim_faults.py MODEBENCH OUT_DIR
"""
import json
import os
import pathlib
import subprocess
import sys

LINEAR = ["--ops", "linear", "--cases", "square_1024", "--modes", "cpu,gpu,ptx-jit", "--impls", "openblas,cublas",
          "--batches", "1,8"]
KNN = ["--ops", "knn", "--cases", "uniform", "--modes", "gpu", "--impls", "exact,chunked", "--batches", "100000"]

# name, environment, selection, expected message prefix per entry-name fragment (in order of the entries)
SCENARIOS = [
    ("caught_error_not_blamed_on_next", {"MODEBENCH_SIM_FAULT": "cudaMemsetAsync:1:cudaErrorInvalidValue"}, LINEAR,
     {"cpu/impl:openblas/batch:1": "ok", "cpu/impl:openblas/batch:8": "ok",
      "gpu/impl:cublas/batch:1": "failed: other: cudaMemsetAsync", "gpu/impl:cublas/batch:8": "ok",
      "ptx-jit/impl:cublas/batch:1": "failed: other: cudaMemsetAsync", "ptx-jit/impl:cublas/batch:8": "ok"}),
    ("sticky_error_loses_the_device", {"MODEBENCH_SIM_FAULT": "launch:fill_rows_with_bias_k:1:cudaErrorIllegalAddress"},
     LINEAR,
     {"cpu/impl:openblas/batch:1": "ok", "cpu/impl:openblas/batch:8": "ok",
      "gpu/impl:cublas/batch:1": "failed: launch_failure:",
      "gpu/impl:cublas/batch:8": "not_run: the device was lost after linear/square_1024/mode:gpu/impl:cublas/batch:1",
      "ptx-jit/impl:cublas/batch:1": "failed: launch_failure:",
      "ptx-jit/impl:cublas/batch:8":
          "not_run: the device was lost after linear/square_1024/mode:ptx-jit/impl:cublas/batch:1"}),
    ("busy_device", {"MODEBENCH_SIM_DEVICE": "busy=1"}, LINEAR,
     {"cpu/impl:openblas/batch:1": "ok", "gpu/impl:cublas/batch:1": "busy:", "ptx-jit/impl:cublas/batch:8": "busy:"}),
    ("no_device", {"MODEBENCH_SIM_DEVICE": "count=0"}, LINEAR,
     {"cpu/impl:openblas/batch:8": "ok", "gpu/impl:cublas/batch:1": "unavailable: no CUDA device",
      "ptx-jit/impl:cublas/batch:1": "unavailable: no CUDA device"}),
    ("no_kernel_image", {"MODEBENCH_SIM_DEVICE": "name=sm_70 part,cc=7.0"}, LINEAR,
     {"cpu/impl:openblas/batch:1": "ok", "gpu/impl:cublas/batch:1": "failed: no_kernel_image:",
      "ptx-jit/impl:cublas/batch:8": "failed: no_kernel_image:"}),
    ("knn_out_of_memory_chunks", {"MODEBENCH_SIM_DEVICE": "memory=3M"}, KNN,
     {"gpu/impl:exact/batch:100000": "failed: out_of_memory: cudaMalloc", "gpu/impl:chunked/batch:100000": "ok"}),
]


def run(modebench: str, out_dir: pathlib.Path, name: str, env: dict, selection: list) -> list:
    out = out_dir / f"{name}.json"
    cmd = [modebench, "run", *selection, "--out", str(out), "--benchmark_min_time=0.000001",
           "--benchmark_repetitions=1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    (out_dir / f"{name}.log").write_text(proc.stdout + proc.stderr)
    if not out.exists():
        raise RuntimeError(f"{name}: no results (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(out.read_text())["benchmarks"]


def main() -> int:
    modebench, out_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, env, selection, expected in SCENARIOS:
        entries = run(modebench, out_dir, name, env, selection)
        by_name = {b["name"]: b.get("error_message", "ok") if b.get("error_occurred") else "ok" for b in entries}
        for fragment, want in expected.items():
            found = [(n, msg) for n, msg in by_name.items() if f"/mode:{fragment}" in n]
            if len(found) != 1:
                problems.append(f"{name}: {len(found)} entries match {fragment}")
            elif not found[0][1].startswith(want):
                problems.append(f"{name}: {found[0][0]}: {found[0][1]!r} does not start with {want!r}")
        print(f"sim_faults: {name}: {len(expected)} statuses checked")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
