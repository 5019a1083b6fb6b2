"""The simulated device's end-to-end check: `modebench run --modes gpu,ptx-jit,hybrid` at the
smallest batch of every case (knn's smallest cloud is the quick profile's 10 000 points) on a
MODEBENCH_CUDA=SIM build. Every entry of our own impls must be ok (validated
against cpu_ref/ by the harness) and labelled device=sim, the context must say device=sim, and
the torch provider's entries must stay unavailable (the simulation runs our code, not torch's).

usage: sim_sweep.py MODEBENCH OUT_DIR
"""
import json
import pathlib
import subprocess
import sys
import time


def main() -> int:
    modebench, out_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    # One timed iteration: the simulation's times mean nothing, only its results do.
    groups = [("linear,conv2d,conv1d,ssim,model", "1"), ("knn", "10000")]
    start = time.monotonic()
    benchmarks, contexts, exits = [], [], []
    for ops, batch in groups:
        out = out_dir / f"sim_sweep_{ops.split(',')[0]}.json"
        cmd = [modebench, "run", "--ops", ops, "--modes", "gpu,ptx-jit,hybrid", "--batches", batch, "--out", str(out),
               "--benchmark_min_time=0.000001", "--benchmark_repetitions=1"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        (out.with_suffix(".log")).write_text(proc.stdout + proc.stderr)
        exits.append(proc.returncode)
        if not out.exists():
            print(f"sim_sweep: no results for {ops} (exit {proc.returncode}); log in {out.with_suffix('.log')}")
            print(proc.stderr[-4000:])
            return 1
        doc = json.loads(out.read_text())
        benchmarks += doc["benchmarks"]
        contexts.append(doc["context"])
    took = time.monotonic() - start
    problems = []
    for context in contexts:
        if context.get("device") != "sim":
            problems.append(f"context device is {context.get('device')!r}, not 'sim'")
    ours = torch = 0
    for b in benchmarks:
        name, label = b["name"], b.get("label", "")
        is_torch = "/impl:torch" in name
        if b.get("error_occurred"):
            message = b.get("error_message", "")
            if is_torch and message.startswith("unavailable"):
                torch += 1
                continue
            problems.append(f"{name}: {message}")
            continue
        if is_torch:
            problems.append(f"{name}: a torch entry ran on the simulated device")
            continue
        ours += 1
        if "device=sim" not in label.split(";"):
            problems.append(f"{name}: label lacks device=sim ({label})")
    modes = {m: sum(1 for b in benchmarks if f"/mode:{m}/" in b["name"] and not b.get("error_occurred"))
             for m in ("gpu", "ptx-jit", "hybrid")}
    for m, n in modes.items():
        if n == 0:
            problems.append(f"no {m} entry ran ok")
    print(f"sim_sweep: {ours} own entries ok ({', '.join(f'{m} {n}' for m, n in modes.items())}), "
          f"{torch} torch entries unavailable, {took:.0f} s (exits {exits})")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
