"""Synthetic Google Benchmark JSON for what this GPU-less machine cannot produce
(gpu / hybrid / ptx-jit records, failed / wrong statuses, known crossings)."""

import json
import os

import numpy as np

CONTEXT = {
    "date": "2026-01-01T00:00:00+00:00",
    "host_name": "synthetic",
    "executable": "modebench",
    "num_cpus": 2,
    "library_build_type": "release",
    "blas": "OpenBLAS 0.3.21 Zen",
    "cpu_model": "Synthetic CPU",
    "cuda_driver": "580.65.06",
    "cuda_toolkit": "13.0",
    "device_name": "Synthetic GPU",
    "device_cc": "12.0",
    "git_sha": "abc123",
    "profile": "quick",
    "seed": "42",
}


def ok_entry(name, seconds, flop=None, label="math=fp32;threads=2;check=full", reps=1, rep_times=None, counters=None):
    """`counters`: extra user counters (e.g. the hybrid time split), the same on every repetition."""
    out = []
    times = rep_times if rep_times is not None else [seconds] * reps
    for i, t in enumerate(times):
        e = {
            "name": name,
            "run_name": name,
            "run_type": "iteration",
            "repetitions": len(times),
            "repetition_index": i,
            "threads": 1,
            "iterations": 10,
            "real_time": t * 1e6,
            "cpu_time": t * 1e6,
            "time_unit": "us",
            "max_err": 1e-7,
            "tolerance": 1e-4,
            "label": label,
        }
        if flop is not None:
            e["FLOPS"] = flop / t
            e["bytes_per_second"] = flop / 10 / t
        e.update(counters or {})
        out.append(e)
    return out


def device_label(first_call=None):
    """Label of a gpu/ptx-jit entry; first_call "cold" or "warm", None as in files older than it."""
    return "math=fp32;image=sass:120" + (f";first_call={first_call}" if first_call else "")


def error_entry(name, message):
    return [
        {
            "name": name,
            "run_name": name,
            "run_type": "iteration",
            "repetitions": 1,
            "repetition_index": 0,
            "threads": 1,
            "iterations": 0,
            "real_time": 0.0,
            "cpu_time": 0.0,
            "time_unit": "us",
            "error_occurred": True,
            "error_message": message,
        }
    ]


def write(path, benchmarks, **context):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"context": {**CONTEXT, **context}, "benchmarks": benchmarks}, f, indent=1)
    return path


def name(op, case, mode, impl, batch):
    return f"{op}/{case}/mode:{mode}/impl:{impl}/batch:{batch}"


BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def cpu_time(b):
    """Power law, linear in log-log: crosses gpu_time exactly at b = 16."""
    return 1e-4 * b


def gpu_time(b):
    return 4e-4 * b**0.5


SIM = ";device=sim"  # the label fact of every gpu/ptx-jit/hybrid entry of the simulated device


def multimode_set(folder, processes=8, noise=0.03, seed=1, toolkit="13.0", git_sha="abc123", statuses=True,
                  simulated=False):
    """cpu/onednn vs gpu/cublas crossing at 16, a wrong hybrid, a failed ptx-jit, an unavailable impl.
    simulated: as the simulated device writes it (context device=sim, device=sim on device-mode labels)."""
    rng = np.random.default_rng(seed)
    sim = SIM if simulated else ""
    paths = []
    for p in range(processes):
        bench = []
        for b in BATCHES:
            flop = 2.0 * b * 1024 * 1024
            bench += ok_entry(name("linear", "square_1024", "cpu", "onednn", b), cpu_time(b) * rng.lognormal(0, noise), flop)
            bench += ok_entry(
                name("linear", "square_1024", "gpu", "cublas", b),
                gpu_time(b) * rng.lognormal(0, noise),
                flop,
                label="math=fp32;image=sass:120" + sim,
            )
            if statuses:
                hybrid = name("linear", "square_1024", "hybrid", "cached", b)
                if b == 64:
                    bench += error_entry(hybrid, "wrong: max_err=0.5 tolerance=0.0001")
                else:
                    # Faster than everything: it must still never be chosen, it was wrong once.
                    bench += ok_entry(hybrid, 1e-6 * rng.lognormal(0, noise), flop,
                                      label="math=fp32;threads=2;check=full" + sim)
                bench += error_entry(
                    name("linear", "square_1024", "ptx-jit", "cublas", b),
                    "failed: no_kernel_image: CUBLAS_STATUS_ARCH_MISMATCH",
                )
                bench += error_entry(
                    name("linear", "square_1024", "gpu", "tf32", b), "unavailable: built without CUDA"
                )
        context = {"device": "sim"} if simulated else {}
        paths.append(write(os.path.join(folder, f"p{p}.json"), bench, cuda_toolkit=toolkit, git_sha=git_sha, **context))
    return paths


# Known affine costs per line (seconds; terms as report/modebench_report/costmodel.py):
# the cost model must find them back, and predict held-out cases from the others.
COST_LINES = {
    ("cpu", "onednn"): {"call": 2e-5, "flop": 1e-10},
    ("gpu", "cublas"): {"call": 1e-3, "flop": 1e-13, "bytes": 1e-11},
    ("hybrid", "naive"): {"call": 1e-4, "flop": 1e-10, "copied": 1e-9},
    ("hybrid", "cached"): {"call": 1e-4, "flop": 1e-10, "copied": 1e-9},
}
COST_CASES = {"square_1024": (1024, 1024), "mobilenetv2_head": (1280, 1000), "xtts_qkv": (1024, 3072),
              "xtts_mlp_down": (4096, 1024)}


def cost_time(line, in_f, out_f, b):
    weights = 4.0 * (in_f * out_f + out_f)
    acts = 4.0 * b * (in_f + out_f)
    x = {"call": 1.0, "flop": 2.0 * b * in_f * out_f, "bytes": weights + acts,
         "copied": weights + acts if line[1] == "naive" else acts}
    return sum(c * x[t] for t, c in COST_LINES[line].items())


def costmodel_set(folder, processes=3, noise=0.02, seed=3, batches=(1, 4, 16, 64, 256), lines=None):
    """Linear cases of the harness's shapes timed by COST_LINES (lognormal noise), plus an
    unavailable ptx-jit line."""
    rng = np.random.default_rng(seed)
    for p in range(processes):
        bench = []
        for case, (i, o) in COST_CASES.items():
            for line in lines or COST_LINES:
                for b in batches:
                    t = cost_time(line, i, o, b) * rng.lognormal(0, noise)
                    bench += ok_entry(name("linear", case, line[0], line[1], b), t, 2.0 * b * i * o)
            for b in batches:
                bench += error_entry(name("linear", case, "ptx-jit", "cublas", b), "unavailable: built without PTX")
        write(os.path.join(folder, f"p{p}.json"), bench)


def profile_doc(model="xtts_like", batches=(1, 8)):
    """A modebench-profile/1 document as modebench_policy.profile() writes it on a box without a
    device: two linear layers measured in cpu (torch and onednn), hybrid unavailable, one conv1d
    layer this build cannot measure."""
    unavailable = "unavailable: no CUDA device (cudaErrorNoDevice)"
    layers = [
        {"index": 0, "name": "blocks.0.qkv", "op": "linear", "shape": {"in_features": 1024, "out_features": 3072},
         "rows": 32, "why": None},
        {"index": 1, "name": "blocks.0.up", "op": "linear", "shape": {"in_features": 1024, "out_features": 4096},
         "rows": 32, "why": None},
        {"index": 2, "name": "vocoder.conv", "op": "conv1d", "shape": {"in_channels": 512, "out_channels": 256},
         "rows": 1, "why": "not measurable by this build (--shape 'conv1d:…': unknown op 'conv1d')"},
    ]
    out = []
    for b in batches:
        rows = []
        for i, base in ((0, 1.5), (1, 2.0)):
            t = base * b
            rows.append({"index": i, "batch": 32 * b, "placement": "cpu", "impl": "torch",
                         "modes": {"cpu": {"ms": {"torch": t, "onednn": 0.8 * t}, "status": {}, "best": "onednn"},
                                   "hybrid": {"ms": {}, "status": {"torch_cached": unavailable}}}})
        predicted = 1.0 + 3.5 * b
        out.append({"batch": b, "rest_ms": 1.0, "layers": rows,
                    "plan": {"modes": ["cpu", "cpu"], "impls": ["torch", "torch"], "layers_ms": 3.5 * b,
                             "transfers_ms": 0.0, "predicted_ms": predicted},
                    "single_mode": {"cpu": {"predicted_ms": predicted, "transfers_ms": 0.0}},
                    "unpatched_ms": predicted * 1.05, "measured_ms": predicted * 1.1, "error": 1 / 1.1 - 1})
    return {"schema": "modebench-profile/1", "model": model, "modes": ["cpu", "hybrid"], "bandwidth_gbps": None,
            "layers": layers, "batches": out,
            "notes": ["no device mode ran here (hybrid unavailable): the plan is cpu only"]}
