#!/usr/bin/env python3
"""The include graph of the C++ tree, by layer: every arrow must point down.

A file belongs to the deepest folder of LAYERS its path starts with. An `#include "a/b.hpp"`
from a file of layer X to a file of layer Y is fine when Y is X itself or lies lower; an
arrow to a higher layer ("up") or to another folder of the same rank ("sideways": those
folders are meant to know nothing of each other, e.g. cpu_ref/ and kernels/) is listed.

Outside the order:
- tests/ may include anything; nothing includes tests/.
- sim/ is the simulated CUDA platform (runtime, cuBLAS, cuDNN, the SIMT executor), a stand-in
  for the vendor's libraries beneath our code: only kernels/cuda/ includes it (its launch site,
  kernels/cuda/launch.cuh, under MODEBENCH_SIM), and it includes only kernels/cuda/ (the
  contracts it implements, e.g. radix_sort.hpp) and itself.

    python3 ci/include_graph.py           # the arrows that do not point down; exit 1 if any
    python3 ci/include_graph.py --graph   # every arrow between folders, with its direction
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first; folders on one line share a rank and must not include each other.
LAYERS = [
    ["kernels/common", "include"],  # math shared by host and device code; the policy reader for applications
    ["cpu_ref", "kernels/cpu", "kernels/cuda", "cuda_rules"],  # the oracle; the kernels; the pure CUDA rules
    ["harness"],  # the framework: names no op
    ["providers"],  # frameworks of the impls run in executables of their own (torch)
    ["ops"],  # one folder per op
    ["probe"],  # modebench probe
    ["bench"],  # the executables
]
TESTS, SIM = "tests", "sim"
# Which folders sim/ may exchange includes with (see the module's docstring).
SIM_PARTNERS = {"kernels/cuda"}
# Arrows known to point the wrong way, each with why it is tolerated: (from file, included path).
# (The cpu_ref/ <-> kernels/ links are already gone from this tree: nothing to allow for them.)
ALLOWED: set[tuple[str, str]] = set()

SOURCE = re.compile(r"\.(c|cc|cpp|h|hpp|cu|cuh|inc)(\.in)?$")
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)
RANK = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}
FOLDERS = sorted([*RANK, TESTS, SIM], key=len, reverse=True)


def folder_of(path: str) -> str | None:
    for f in FOLDERS:
        if path == f or path.startswith(f + "/"):
            return f
    return None


def source_files(root: Path) -> list[str]:
    """Tracked and new (not ignored) C/C++ sources, repository-relative."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file but the build folders
        out = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
        out = [f for f in out if not f.split("/")[0].startswith(("build", ".", "results"))]
    return sorted(f for f in out if SOURCE.search(f) and (root / f).is_file())


def target_of(root: Path, src: str, included: str) -> str:
    """The repository path an include names: from the root (how the build's include path is
    set), else next to the including file; a generated header keeps the path it is named by."""
    if "/" in included and folder_of(included):
        return included
    beside = (Path(src).parent / included).as_posix()
    return beside if (root / beside).exists() or (root / (beside + ".in")).exists() else included


def arrows(root: Path | None = None):
    """[(from file, line, included path, from folder, to folder)] for includes between folders."""
    root = root or ROOT
    out = []
    for src in source_files(root):
        a = folder_of(src)
        if a is None:
            continue
        text = (root / src).read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            target = target_of(root, src, m.group(1))
            b = folder_of(target)
            if b is None or b == a:
                continue
            out.append((src, text.count("\n", 0, m.start()) + 1, m.group(1), a, b))
    return out


def direction(a: str, b: str) -> str:
    """down, up, sideways, or for tests/sim: ok / forbidden."""
    if a == TESTS:
        return "ok"
    if b == TESTS:
        return "forbidden"
    if SIM in (a, b):
        return "ok" if (b if a == SIM else a) in SIM_PARTNERS else "forbidden"
    ra, rb = RANK[a], RANK[b]
    return "down" if rb < ra else "up" if rb > ra else "sideways"


def violations(root: Path | None = None, allow: set | None = None):
    """Arrows that do not point down, but for those in `allow` (default ALLOWED)."""
    allow = ALLOWED if allow is None else allow
    return [
        (src, line, inc, a, b, d)
        for src, line, inc, a, b in arrows(root)
        if (d := direction(a, b)) not in ("down", "ok") and (src, inc) not in allow
    ]


def main(argv=None, root: Path | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", action="store_true", help="print every arrow between folders with its direction")
    a = ap.parse_args(argv)
    print("layers, lowest first: " + " < ".join(", ".join(f) for f in LAYERS) + f"; outside: {TESTS}, {SIM}")
    if a.graph:
        counts = Counter((x, y) for _, _, _, x, y in arrows(root))
        for (x, y), n in sorted(counts.items()):
            print(f"  {x} -> {y}: {n} include(s), {direction(x, y)}")
    bad = violations(root)
    for src, line, inc, x, y, d in bad:
        print(f"{src}:{line}: #include \"{inc}\": {x} -> {y} ({d})")
    allowed = [v for v in violations(root, allow=set()) if v not in bad]
    for src, line, inc, x, y, d in allowed:
        print(f"{src}:{line}: #include \"{inc}\": {x} -> {y} ({d}; allowed for now)")
    print(f"{len(bad)} arrow(s) not pointing down" + (f", {len(allowed)} allowed for now" if allowed else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
