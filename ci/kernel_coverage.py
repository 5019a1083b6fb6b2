#!/usr/bin/env python3
"""Coverage of kernels/cpu/ by the validation shapes (docs/ops.md, "Validation shapes"): the
table's figures, measured again.

    python3 ci/kernel_coverage.py [--build-dir build-cov] [--no-build] [--detail]

1. A CPU-only build with -DMODEBENCH_COVERAGE_KERNELS=ON (kernels/cpu at --coverage -O0) of
   unit_tests alone (-DMODEBENCH_UNIT_TESTS=test_validation_shapes), one job at a time.
2. `unit_tests --gtest_filter='ValidationShapes.*'`, which runs the SIMD kernels on each target.
3. gcov skips functions marked artificial, OpenMP's outlined parallel bodies among them, so the
   flag is cleared in copies of the notes files (GCC 12's layout: name length, name and NUL,
   then the artificial word) before `gcov -b -c --json-format` runs on them.
4. Per file: a line or branch counts once any SIMD target or template instantiation ran it,
   branches matched by their place on the line; the exception edges of calls are left out.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_and_run(build_dir):
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DMODEBENCH_CUDA=OFF",
                    "-DMODEBENCH_TORCH=OFF", "-DMODEBENCH_COVERAGE_KERNELS=ON",
                    "-DMODEBENCH_UNIT_TESTS=test_validation_shapes"], check=True)
    subprocess.run(["cmake", "--build", build_dir, "--target", "unit_tests", "--parallel", "1"], check=True)
    for stale in glob.glob(os.path.join(build_dir, "kernels", "cpu", "**", "*.gcda"), recursive=True):
        os.remove(stale)  # counts of this run only
    subprocess.run([os.path.join(build_dir, "tests", "unit_tests"), "--gtest_filter=ValidationShapes.*"], check=True)


def clear_artificial(gcno_path):
    """Clears the artificial flag of OpenMP's outlined bodies (<fn>._omp_fn.<n>); returns how many."""
    data = bytearray(open(gcno_path, "rb").read())
    cleared = 0
    for m in re.finditer(rb"[A-Za-z0-9_.]+\._omp_fn\.[0-9]+\x00", bytes(data)):
        if m.start() < 4 or struct.unpack_from("<I", data, m.start() - 4)[0] != m.end() - m.start():
            continue  # not a name record
        if m.end() + 4 <= len(data) and struct.unpack_from("<I", data, m.end())[0] == 1:
            struct.pack_into("<I", data, m.end(), 0)
            cleared += 1
    open(gcno_path, "wb").write(data)
    return cleared


def gcov_json(build_dir, work):
    """gcov's JSON of every kernels/cpu object, from patched copies of its notes files."""
    objdir = os.path.join(build_dir, "kernels", "cpu", "CMakeFiles", "mb_cpu_kernels.dir")
    counts = sorted(glob.glob(os.path.join(objdir, "*.gcda")))
    if not counts:
        sys.exit(f"kernel_coverage.py: no .gcda in {objdir}: run without --no-build first")
    for gcda in counts:
        gcno = gcda[:-len(".gcda")] + ".gcno"
        for src in (gcda, gcno):
            shutil.copy(src, work)
        clear_artificial(os.path.join(work, os.path.basename(gcno)))
        obj = os.path.join(work, os.path.basename(gcda)[:-len(".gcda")] + ".o")
        subprocess.run(["gcov", "-b", "-c", "--json-format", "-o", work, obj], cwd=work, check=True,
                       capture_output=True)
    files = collections.defaultdict(list)
    for path in glob.glob(os.path.join(work, "*.gcov.json.gz")):
        for f in json.load(gzip.open(path))["files"]:
            if "kernels/cpu/" in f["file"]:
                files[os.path.basename(f["file"])].append(f)
    return files


def merged(entries):
    """(lines run, lines, branches taken, branches, lines not run, branches not taken)."""
    by_line = collections.defaultdict(list)
    for f in entries:
        for line in f["lines"]:
            by_line[line["line_number"]].append(line)
    run = taken = total = 0
    lines_missed, branches_missed = [], []
    for number, copies in sorted(by_line.items()):
        if any(c["count"] > 0 for c in copies):
            run += 1
        else:
            lines_missed.append(number)
        for j in range(max(len(c["branches"]) for c in copies)):
            same = [c["branches"][j] for c in copies if len(c["branches"]) > j]
            if any(b.get("throw") for b in same):
                continue  # an exception edge
            total += 1
            if any(b["count"] > 0 for b in same):
                taken += 1
            else:
                branches_missed.append((number, j))
    return run, len(by_line), taken, total, lines_missed, branches_missed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-cov"))
    ap.add_argument("--no-build", action="store_true", help="use the counts already in --build-dir")
    ap.add_argument("--detail", action="store_true", help="also list the lines not run and branches not taken")
    a = ap.parse_args()
    if not a.no_build:
        build_and_run(a.build_dir)
    with tempfile.TemporaryDirectory(prefix="kernel-coverage-") as work:
        files = gcov_json(os.path.abspath(a.build_dir), work)
    print("| file | lines | branches |\n|---|---|---|")
    for name, entries in sorted(files.items()):
        run, lines, taken, branches, lines_missed, branches_missed = merged(entries)
        pct = lambda x, n: f"{x}/{n} ({100.0 * x / n:.1f} %)" if n else "0/0"
        print(f"| `{name}` | {pct(run, lines)} | {pct(taken, branches)} |")
        if a.detail:
            print(f"  lines not run: {lines_missed}\n  branches not taken (line, index): {branches_missed}")


if __name__ == "__main__":
    main()
