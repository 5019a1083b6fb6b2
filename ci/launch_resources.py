#!/usr/bin/env python3
"""Would the GPU refuse any of our launches? Checked from the built binary, without a GPU.

A kernel launch fails with "too many resources requested for launch" when its block needs
more registers or static shared memory than one block may have, or more threads than its
__launch_bounds__ allow. All of it is known at build time: the block sizes we launch with
are in kernels/cuda/launch_table.json, and the registers, shared and local memory of every
kernel x architecture are in the binary (cuobjdump --dump-resource-usage), with each
kernel's __launch_bounds__ and whether it is a kernel at all (cuobjdump -elf: EIATTR_MAX_THREADS,
ENTRY symbols).

    launch_resources.py build/kernels/cuda/libmb_cuda_kernels.a   # runs cuobjdump
    launch_resources.py --resource-usage ru.txt [--elf elf.txt]   # captured cuobjdump output

Prints one line per kernel x architecture with its headroom; exits 1 with one line per
violation, 77 when no cuobjdump is found (ctest: skipped; under CI=true it is an error, 2).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TABLE = ROOT / "kernels" / "cuda" / "launch_table.json"
SKIP = 77  # ctest's SKIP_RETURN_CODE for this test

# Per-block limits, the same for every compute capability 3.5 ... 12.x (CUDA C++ Programming
# Guide, "Technical Specifications per Compute Capability"): 1024 threads, 64 K 32-bit
# registers, 48 KiB of static shared memory (more needs dynamic shared memory and an opt-in).
MAX_THREADS = 1024
REGS_PER_BLOCK = 64 * 1024
MAX_STATIC_SHARED = 48 * 1024
KNOWN_MAJORS = range(3, 13)  # a new major: check that table before adding it here
WARP = 32
# How the hardware counts a block's registers (the toolkit's include/cuda_occupancy.h,
# cudaOccMaxBlocksPerSMRegsLimit): per warp, rounded up to 256 registers, and its per-block
# check rounds the warps up to a multiple of the SM's sub-partitions (4; 2 on sm_60).
REG_ALLOC_UNIT = 256
# From sm_90 on, cuobjdump's SHARED of a kernel that uses shared memory includes the 1 KiB the
# driver reserves per block (CUDA 13.0: a kernel with 32 B of __shared__ shows SHARED:1056 for
# sm_90/100/120, 32 for sm_80, and ptxas -v says 32 B for all; 48 KiB of __shared__ compiles
# and shows 50176). The 48 KiB limit is on the kernel's own part.
RESERVED_SHARED_FROM_CC, RESERVED_SHARED = 90, 1024


def sub_partitions(cc: int) -> int:
    return 2 if cc == 60 else 4


def round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def block_registers(regs: int, threads: int, cc: int) -> int:
    """Registers the launch check counts for one block of `threads` threads."""
    per_warp = round_up(regs * WARP, REG_ALLOC_UNIT)
    warps = -(-threads // WARP)
    return per_warp * round_up(warps, sub_partitions(cc))


def static_shared(shared: int, cc: int) -> int:
    """The kernel's own static shared memory from cuobjdump's SHARED."""
    if cc >= RESERVED_SHARED_FROM_CC and shared >= RESERVED_SHARED:
        return shared - RESERVED_SHARED
    return shared


def max_block(regs: int, cc: int, cap: int = MAX_THREADS) -> int:
    """The most threads (whole warps, at most `cap`) whose registers fit one block."""
    t = cap - cap % WARP
    while t > 0 and block_registers(regs, t, cc) > REGS_PER_BLOCK:
        t -= WARP
    return t


@dataclass
class Usage:
    """One kernel in one architecture's cubin, as cuobjdump reports it."""

    member: str  # object file in an archive ("" for a plain object)
    arch: str  # sm_75, sm_90a, ...
    cc: int  # 75
    mangled: str
    regs: int
    stack: int  # per-thread stack frame: where ptxas spills
    shared: int  # static shared memory per block
    local: int  # per-thread local memory outside the stack
    max_threads: int | None = None  # __launch_bounds__ (None: none, or not read)
    entry: bool = True  # a __global__ function (not a device function with its own section)


# --- cuobjdump output ----------------------------------------------------------------------

_ARCH = re.compile(r"^arch = (sm_(\d+)[a-z]?)\s*$")
_FUNCTION = re.compile(r"^\s*Function (\S+?):\s*$")
_USAGE = re.compile(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)")


def _member(line: str) -> str:
    # "member /path/libx.a:foo.cu.o:" -> "foo.cu.o"
    return line[len("member ") :].rstrip().rstrip(":").rsplit(":", 1)[-1]


def parse_resource_usage(text: str) -> list[Usage]:
    """`cuobjdump --dump-resource-usage` output: one Usage per function per cubin."""
    out: list[Usage] = []
    member, arch, cc, in_elf, fn = "", None, 0, False, None
    for line in text.splitlines():
        if line.startswith("member "):
            member, arch, in_elf = _member(line), None, False
        elif line.startswith("Fatbin "):  # "Fatbin elf code:" / "Fatbin ptx code:"
            in_elf, arch = line.startswith("Fatbin elf"), None
        elif m := _ARCH.match(line):
            arch, cc = m.group(1), int(m.group(2))
        elif m := _FUNCTION.match(line):
            fn = m.group(1)
        elif fn and (m := _USAGE.search(line)):
            if not in_elf or arch is None:
                raise ValueError(f"resource usage of {fn} outside an ELF image's arch section")
            regs, stack, shared, local = map(int, m.groups())
            out.append(Usage(member, arch, cc, fn, regs, stack, shared, local))
            fn = None
    return out


_NV_INFO = re.compile(r"^\.nv\.info\.(\S+)\s*$")
_VALUE = re.compile(r"^\s*Value:\s*(.*)$")


def parse_elf_dump(text: str) -> tuple[dict, set]:
    """`cuobjdump -elf` output: ({(member, arch, fn): launch-bounds threads}, {(member, arch, fn)
    of ENTRY symbols}). Only the per-kernel .nv.info attributes and the symbol table are read."""
    bounds: dict[tuple[str, str, str], int] = {}
    entries: set[tuple[str, str, str]] = set()
    member, arch, info_of, want_value, in_symtab = "", None, None, False, False
    for line in text.splitlines():
        if line.startswith(("member ", "Fatbin ")):  # the next object or cubin
            member = _member(line) if line.startswith("member ") else member
            arch, info_of, in_symtab = None, None, False
        elif m := _ARCH.match(line):
            arch = m.group(1)
        elif line.startswith("."):  # a section starts
            m = _NV_INFO.match(line)
            info_of = m.group(1) if m else None
            in_symtab = line.startswith(".section .symtab")
            want_value = False
        elif in_symtab:
            # Num Value Size Type Bind Vis Other Ndx Name: kernels are FUNC with Other = ENTRY
            f = line.split()
            if len(f) >= 9 and f[3] == "FUNC" and f[6] == "ENTRY":
                entries.add((member, arch, f[-1]))
        elif info_of:
            if "Attribute:" in line:
                want_value = line.split()[-1] == "EIATTR_MAX_THREADS"
            elif want_value and (m := _VALUE.match(line)):
                x, y, z = (int(v, 16) for v in m.group(1).split()[:3])
                bounds[(member, arch, info_of)] = x * y * z
                want_value = False
    return bounds, entries


def apply_elf_dump(usages: list[Usage], elf_text: str) -> None:
    bounds, entries = parse_elf_dump(elf_text)
    if not entries:
        raise ValueError("no ENTRY symbols in the cuobjdump -elf output")
    for u in usages:
        key = (u.member, u.arch, u.mangled)
        u.max_threads = bounds.get(key)
        u.entry = key in entries


def find_cuobjdump(toolkit_bin: str | None) -> str | None:
    """Where the project's C++ tests look too: $CUOBJDUMP, PATH, the toolkit, then PyPI's
    nvidia-cuda-cuobjdump (site-packages/nvidia/cuXX/bin: ci/requirements-test.txt)."""
    if os.environ.get("CUOBJDUMP"):
        return os.environ["CUOBJDUMP"]
    if found := shutil.which("cuobjdump"):
        return found
    dirs = [toolkit_bin] if toolkit_bin else []
    dirs += [os.path.join(os.environ["CUDA_HOME"], "bin")] if os.environ.get("CUDA_HOME") else []
    dirs.append("/usr/local/cuda/bin")
    for d in dirs:
        if os.access(os.path.join(d, "cuobjdump"), os.X_OK):
            return os.path.join(d, "cuobjdump")
    # The pip package may sit under this Python or under the python3 on PATH.
    probe = "import nvidia; print('\\n'.join(nvidia.__path__))"
    roots: list[str] = []
    for py in dict.fromkeys([sys.executable, shutil.which("python3")]):
        if py:
            r = subprocess.run([py, "-c", probe], capture_output=True, text=True)
            roots += r.stdout.split() if r.returncode == 0 else []
    for root in roots:
        for sub in sorted(Path(root).glob("*/bin/cuobjdump")):
            if os.access(sub, os.X_OK):
                return str(sub)
    return None


def run_cuobjdump(tool: str, binary: str) -> list[Usage]:
    def dump(flag: str) -> str:
        r = subprocess.run([tool, flag, binary], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{tool} {flag} {binary} failed: {r.stderr.strip() or r.returncode}")
        return r.stdout

    usages = parse_resource_usage(dump("--dump-resource-usage"))
    apply_elf_dump(usages, dump("-elf"))
    return usages


# --- names ---------------------------------------------------------------------------------


def split_mangled(name: str) -> tuple[list[str], str]:
    """(enclosing namespaces, function name) of an Itanium-mangled function, far enough to
    find the source name: `_ZN2mb4cuda39_GLOBAL__N__..._7_ssim_cu_...12ssim_fused_kE...` ->
    (["mb", "cuda", "_GLOBAL__N__..."], "ssim_fused_k"). The anonymous namespace's per-file
    hash makes the full name useless as a key. Unmangled (extern "C") names come back whole."""
    if not name.startswith("_Z"):
        return [], name
    i, parts = (3, []) if name.startswith("_ZN") else (2, [])
    while i < len(name):
        c = name[i]
        if c.isdigit():
            j = i
            while j < len(name) and name[j].isdigit():
                j += 1
            n = int(name[i:j])
            parts.append(name[j : j + n])
            i = j + n
            if not name.startswith("_ZN"):
                break  # _Z<len><name><params>: one component
        elif name.startswith("St", i):
            parts.append("std")
            i += 2
        elif c in "rVK" and not parts:
            i += 1  # cv-qualifiers of a member function
        else:
            break  # E (end of the nested name), I (template arguments), parameters, ...
    if not parts:
        return [], name
    return parts[:-1], parts[-1]


def demangle(names: list[str]) -> dict[str, str]:
    """Readable names for messages (c++filt from binutils; the mangled name where it is missing)."""
    tool = shutil.which("c++filt")
    if not tool or not names:
        return {n: n for n in names}
    r = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True)
    out = r.stdout.splitlines()
    return dict(zip(names, out)) if r.returncode == 0 and len(out) == len(names) else {n: n for n in names}


# --- the check -----------------------------------------------------------------------------


def load_table(path: Path) -> dict:
    table = json.loads(path.read_text())
    for name, k in table.get("kernels", {}).items():
        if not isinstance(k.get("threads"), int) or k["threads"] <= 0:
            raise ValueError(f"{path}: kernel {name} needs a positive integer 'threads'")
        lb = k.get("launch_bounds")
        if lb is not None and (not isinstance(lb, int) or lb <= 0):
            raise ValueError(f"{path}: kernel {name}: 'launch_bounds' must be a positive integer")
    return table


@dataclass
class Report:
    lines: list[str]
    violations: list[str]
    notes: list[str]


def check(usages: list[Usage], table: dict, bounds_known: bool) -> Report:
    """Every kernel x architecture against its launch shape. bounds_known: the usages carry
    __launch_bounds__ and ENTRY flags (cuobjdump -elf was read)."""
    kernels: dict = table.get("kernels", {})
    library: dict = table.get("library_kernels", {})
    lines, violations, notes = [], [], []
    unknown: dict[tuple[str, str], list[str]] = {}  # (mangled, member) -> archs: one line per kernel
    seen: dict[str, set[str]] = {}  # arch -> table kernels found in it
    for u in sorted(usages, key=lambda u: (u.cc, u.arch, split_mangled(u.mangled)[1], u.member)):
        if not u.entry:
            continue  # a device function's registers are counted in its callers'
        scopes, name = split_mangled(u.mangled)
        seen.setdefault(u.arch, set()).update({name} & set(kernels))
        where = f"{u.arch} {name}" + (f" ({u.member})" if u.member else "")
        if u.cc // 10 not in KNOWN_MAJORS:
            violations.append(f"{where}: no per-block limits known for {u.arch}; check the CUDA "
                              f"programming guide's technical specifications and add it to KNOWN_MAJORS")
            continue
        if name in kernels:
            spec = kernels[name]
            threads, lb = spec["threads"], spec.get("launch_bounds")
            if bounds_known and u.max_threads != lb:
                violations.append(f"{where}: launch_table.json says __launch_bounds__ {lb}, the binary has "
                                  f"{u.max_threads} (update the table)")
            if lb is not None and threads > lb:
                violations.append(f"{where}: launched with {threads} threads, more than its __launch_bounds__({lb})")
        elif scopes and scopes[0] in library:
            # Launched by the library at its own per-arch block size; its __launch_bounds__ are the
            # most it launches with, and ptxas fits the registers to them.
            threads, lb = u.max_threads, u.max_threads
        else:
            unknown.setdefault((u.mangled, u.member), []).append(u.arch)
            continue
        if u.stack or u.local:
            notes.append(f"{where}: {u.stack} B stack frame + {u.local} B local memory per thread "
                         "(spills or local arrays)")
        own_shared = static_shared(u.shared, u.cc)
        memory = f"SHARED {own_shared:>5}/{MAX_STATIC_SHARED} B  STACK {u.stack} B" + (
            f"  LOCAL {u.local} B" if u.local else "")
        if own_shared > MAX_STATIC_SHARED:
            violations.append(f"{where}: {own_shared} B of static shared memory, more than the "
                              f"{MAX_STATIC_SHARED} B a block may have")
        if threads is None:
            # No __launch_bounds__ (or not read): only what fits the largest block can be said.
            fits = max_block(u.regs, u.cc)
            lines.append(f"{where:<40} threads  any  REG {u.regs:>3}, fits {fits:>4} threads{'':>21}{memory}")
            if fits < MAX_THREADS:
                notes.append(f"{where}: a library kernel without __launch_bounds__"
                             f"{'' if bounds_known else ' read'}: its {u.regs} registers fit up to {fits} "
                             "threads; the block size the library picks is not checked")
            continue
        if threads > MAX_THREADS:
            violations.append(f"{where}: launched with {threads} threads, more than {MAX_THREADS} per block")
        used = block_registers(u.regs, threads, u.cc)
        fits = max_block(u.regs, u.cc, min(MAX_THREADS, lb or MAX_THREADS))
        free = f"{100 * (REGS_PER_BLOCK - used) // REGS_PER_BLOCK:>3}% free" if used <= REGS_PER_BLOCK else "TOO MANY"
        lines.append(f"{where:<40} threads {threads:>4}  REG {u.regs:>3} -> {used:>5}/{REGS_PER_BLOCK} "
                     f"({free}, fits {fits:>4})  {memory}")
        if used > REGS_PER_BLOCK:
            violations.append(f"{where}: {u.regs} registers x {threads} threads need {used} registers "
                              f"(allocated per warp in units of {REG_ALLOC_UNIT}), more than the "
                              f"{REGS_PER_BLOCK} a block may have; at most {fits} threads fit")
    pretty = demangle(sorted({m for m, _ in unknown}))
    for (mangled, member), archs in unknown.items():
        violations.append(f"{split_mangled(mangled)[1]}" + (f" ({member})" if member else "") +
                          f" in {', '.join(archs)}: kernel not in kernels/cuda/launch_table.json, add the block "
                          f"size it is launched with: {pretty[mangled]}")
    for name in sorted(kernels):
        if missing := [arch for arch, found in seen.items() if name not in found]:
            violations.append(f"{name} is in launch_table.json but not in {', '.join(missing)} of the binary "
                              "(stale entry?)")
    if not seen:
        violations.append("no kernels found in the binary")
    return Report(lines, violations, notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?", help="static library, object or executable with CUDA kernels")
    ap.add_argument("--table", default=str(DEFAULT_TABLE), help="launch shapes (default: %(default)s)")
    ap.add_argument("--resource-usage", metavar="FILE", help="captured `cuobjdump --dump-resource-usage` output")
    ap.add_argument("--elf", metavar="FILE", help="captured `cuobjdump -elf` output of the same binary")
    ap.add_argument("--cuobjdump", help="the tool (default: $CUOBJDUMP, PATH, the toolkit, PyPI's)")
    ap.add_argument("--toolkit-bin", help="the CUDA toolkit's bin directory, searched for cuobjdump")
    args = ap.parse_args(argv)
    if bool(args.binary) == bool(args.resource_usage):
        ap.error("give a binary or --resource-usage FILE")
    try:
        table = load_table(Path(args.table))
        if args.binary:
            tool = args.cuobjdump or find_cuobjdump(args.toolkit_bin)
            if not tool:
                why = "cuobjdump not found (python3 -m pip install nvidia-cuda-cuobjdump, or set CUOBJDUMP)"
                if os.environ.get("CI"):
                    print(f"launch_resources: error: {why}; CI must install it", file=sys.stderr)
                    return 2
                print(f"launch_resources: skipped: {why}")
                return SKIP
            usages = run_cuobjdump(tool, args.binary)
        else:
            usages = parse_resource_usage(Path(args.resource_usage).read_text())
            if args.elf:
                apply_elf_dump(usages, Path(args.elf).read_text())
    except (OSError, ValueError, RuntimeError) as e:
        print(f"launch_resources: error: {e}", file=sys.stderr)
        return 2
    report = check(usages, table, bounds_known=bool(args.binary or args.elf))
    print("\n".join(report.lines))
    for n in report.notes:
        print(f"note: {n}")
    if not (args.binary or args.elf):
        print("note: no cuobjdump -elf output: __launch_bounds__ not compared with the table, "
              "every function taken for a kernel")
    for v in report.violations:
        print(f"launch_resources: error: {v}", file=sys.stderr)
    if report.violations:
        return 1
    print(f"launch_resources: OK, {len(report.lines)} kernel x architecture launches fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
