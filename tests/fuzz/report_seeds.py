"""Seeds for tests/fuzz/report_fuzz.py from real result files: each file as it is when small, else
cut to its context and a few entries of each kind (the first iterations, aggregates, errors), so
that a mutation costs milliseconds, not a 150 KB parse. Usage: report_seeds.py OUT_DIR FILE..."""

import json
import os
import sys

MAX_BYTES = 16 * 1024
PER_KIND = 3


def cut(doc):
    kept, seen = [], {}
    for b in doc.get("benchmarks", []):
        kind = "error" if b.get("error_occurred") else b.get("run_type", "iteration")
        if seen.get(kind, 0) < PER_KIND:
            seen[kind] = seen.get(kind, 0) + 1
            kept.append(b)
    return {**doc, "benchmarks": kept}


def main(out, files):
    os.makedirs(out, exist_ok=True)
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            raw = f.read()
        if len(raw) > MAX_BYTES:
            try:
                raw = json.dumps(cut(json.loads(raw)), indent=1).encode()
            except ValueError:
                continue  # not JSON: not a seed of ours
        with open(os.path.join(out, f"{i:03d}_{os.path.basename(path)}"), "wb") as f:
            f.write(raw)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
