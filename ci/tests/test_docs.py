"""docs/ is the authority: every status, error class, exit code and command-line flag the code
defines is in docs/contract.md, and everything docs/contract.md lists of them exists in the code.
The README and docs/ name no path outside the repository.

Where the code says it: statuses and error classes in tests/vectors/status_text.json and
harness/status.hpp; flags in the CLI11 declarations of the C++ executables, the report's argparse
parser, the scripts' `case` labels; exit codes in harness/run.hpp's constants, the probe's
returns, the report's EXIT_* and the scripts' `exit N`. With MODEBENCH_BUILD_DIR set (a build
folder), the built executables' --help must list nothing this test's reading of the sources
missed. Where docs/contract.md says it: the first cell of its tables, under the heading that
names the executable and subcommand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "contract.md"

# Every C++ file that declares a command line, and the executable it is (a new one fails
# test_every_cli_is_known until it is added here and to docs/contract.md).
CPP_EXECUTABLES = {
    "bench/main.cpp": "modebench",
    "bench/torch/main.cpp": "modebench-torch",
    "bench/overhead/model_convs.cpp": "model_convs",
    "bench/torch/overhead.cpp": "torch_overhead",
    "bench/torch/model_layers.cpp": "torch_model_layers",
}
SCRIPTS = {"ci/nightly.sh": "ci/nightly.sh", "ci/gpu-check.sh": "ci/gpu-check.sh",
           "ci/promote-baseline.sh": "ci/promote-baseline.sh", "ci/fuzz.sh": "ci/fuzz.sh"}
PASSTHROUGH = "--benchmark_*"  # Google Benchmark's flags, passed on unchanged


# ---------------------------------------------------------------- docs/contract.md
def headings(text: str):
    """[(level, title, body)]: each heading's own text, up to the next heading of any level."""
    out, current = [], None
    for line in text.splitlines():
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            current = [len(m.group(1)), m.group(2).strip(), []]
            out.append(current)
        elif current:
            current[2].append(line)
    return [(lvl, title, "\n".join(body)) for lvl, title, body in out]


def tables(body: str):
    """Each table as (header cells, [first cells of the rows])."""
    found, header, rows = [], None, []
    for line in body.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if header is None:
                header = cells
            elif not re.fullmatch(r"[-: ]+", "".join(cells)):
                rows.append(cells[0])
        elif header is not None:
            found.append((header, rows))
            header, rows = None, []
    return found


def code_spans(cell: str):
    return re.findall(r"`([^`]+)`", cell)


def flags_in(body: str) -> set:
    """Flags in the first column of the section's flag tables (header `flag`)."""
    out = set()
    for header, rows in tables(body):
        if header and header[0] == "flag":
            for cell in rows:
                out |= {s for s in code_spans(cell) if s.startswith("--")}
    return out


def codes_in(body: str) -> set:
    out = set()
    for header, rows in tables(body):
        if header and header[0] == "code":
            out |= {int(c) for c in rows}
    return out


def command_sections(text: str):
    """{command: (level, own body)} for headings that are one backticked command, e.g.
    `modebench`, `modebench run`, `ci/nightly.sh`, `report/modebench-report`."""
    out = {}
    for lvl, title, body in headings(text):
        m = re.fullmatch(r"`([^`]+)`", title)
        if m:
            out[m.group(1).replace("report/modebench-report", "modebench-report")] = (lvl, body)
    return out


def documented():
    """{executable: {"shared": flags, "subs": {sub: flags}, "codes": codes}}"""
    secs = command_sections(CONTRACT.read_text())
    doc: dict = {}
    for name, (_, body) in secs.items():
        exe, _, sub = name.partition(" ")
        d = doc.setdefault(exe, {"shared": set(), "subs": {}, "codes": set()})
        if sub:
            d["subs"][sub] = flags_in(body)
        else:
            d["shared"] = flags_in(body)
        d["codes"] |= codes_in(body)
    return doc


# ---------------------------------------------------------------- the code
def cli11_flags(path: Path) -> dict:
    """{subcommand or "": flags} of a C++ file's CLI11 declarations."""
    src = path.read_text()
    selection = set(re.findall(r'cmd\.add_option\("(--[\w-]+)"', (ROOT / "bench/selection_flags.hpp").read_text()))
    var_to_sub = {"app": ""}
    var_to_sub.update(dict(re.findall(r'CLI::App\*\s+(\w+)\s*=\s*app\.add_subcommand\("([\w-]+)"', src)))
    out = {sub: set() for sub in var_to_sub.values()}
    for var, names in re.findall(r'\b(\w+)(?:->|\.)add_(?:option|flag)\(\s*"([^"]+)"', src):
        if var in var_to_sub:
            out[var_to_sub[var]] |= {n.lstrip("!") for n in names.split(",") if n.lstrip("!").startswith("--")}
    for var in re.findall(r"add_selection_flags\(\*(\w+)", src):
        out[var_to_sub[var]] |= selection
    if '"--benchmark_"' in src:  # the run subcommand passes them on
        out["run"].add(PASSTHROUGH)
    if "" in out and not out[""] and len(out) > 1:
        del out[""]  # no options of the executable's own beside its subcommands
    return out


def report_flags() -> dict:
    sys.path.insert(0, str(ROOT / "report"))
    from modebench_report import cli

    out = {}
    sub_action = next(a for a in cli.parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub_action.choices.items():
        out[name] = {o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    return out


def script_flags(path: Path) -> set:
    """Long options of a script: its `case` labels (`--out)`, `-h|--help)`) and `[ "$1" = --x ]` tests."""
    src = path.read_text()
    out = set()
    for label in re.findall(r"^\s*([-\w|]+)\)", src, re.M):
        out |= {x for x in label.split("|") if x.startswith("--")}
    out |= set(re.findall(r'\[ "\$\{1-\}" = (--[\w-]+) \]', src))
    return out


def function_body(src: str, signature: str) -> str:
    start = src.index(signature)
    end = src.index("\n}\n", start)
    return src[start:end]


def exit_constants() -> dict:
    src = (ROOT / "harness/run.hpp").read_text()
    return {k: int(v) for k, v in re.findall(r"constexpr int (kExit\w+) = (\d+);", src)}


def code_exit_codes() -> dict:
    consts = exit_constants()

    def used(path):
        return {consts[k] for k in re.findall(r"mb::(kExit\w+)", (ROOT / path).read_text())}

    # The probe's own returns (it exits 0 whenever it could report).
    probe = set()
    for path, sig in (("probe/probe.cpp", "int probe_main("), ("probe/binary/binary_probe.cpp", "int probe_binary_main(")):
        probe |= {int(c) for c in re.findall(r"return (\d+);", function_body((ROOT / path).read_text(), sig))}
    sys.path.insert(0, str(ROOT / "report"))
    from modebench_report import cli

    out = {
        "modebench": used("bench/main.cpp") | set(consts.values()) | probe,
        "modebench-torch": used("bench/torch/main.cpp"),
        # argparse's own usage errors exit 2 too
        "modebench-report": {cli.EXIT_OK, cli.EXIT_ALERT, cli.EXIT_BAD, 2},
    }
    for path, name in SCRIPTS.items():
        out[name] = {0} | {int(c) for c in re.findall(r"\bexit (\d+)\b", (ROOT / path).read_text())}
    return out


def code_flags() -> dict:
    out = {exe: cli11_flags(ROOT / path) for path, exe in CPP_EXECUTABLES.items()}
    out["modebench-report"] = report_flags()
    for path, name in SCRIPTS.items():
        out[name] = {"": script_flags(ROOT / path)}
    return out


# ---------------------------------------------------------------- checks
def flag_differences(code: dict, doc: dict) -> list:
    problems = []
    for exe, subs in sorted(code.items()):
        d = doc.get(exe)
        if d is None:
            problems.append(f"{exe}: no section `{exe}` in docs/contract.md")
            continue
        for sub, flags in sorted(subs.items()):
            name = f"{exe} {sub}".strip()
            if sub and sub not in d["subs"]:
                problems.append(f"{name}: no section `{name}` in docs/contract.md")
                continue
            own = d["subs"].get(sub, set()) if sub else d["shared"]
            for f in sorted(flags - own - d["shared"]):
                problems.append(f"{name}: flag {f} is in the code but not in docs/contract.md")
            for f in sorted(own - flags):
                problems.append(f"{name}: docs/contract.md lists flag {f}, the code has none")
        for sub in sorted(set(d["subs"]) - set(subs)):
            problems.append(f"{exe} {sub}: docs/contract.md has a section, the code no such subcommand")
        everywhere = set().union(*subs.values())
        for f in sorted(d["shared"] - everywhere):
            problems.append(f"{exe}: docs/contract.md lists flag {f}, no subcommand of the code has it")
    return problems


def test_every_flag_is_documented_and_every_documented_flag_exists():
    problems = flag_differences(code_flags(), documented())
    assert not problems, "\n".join(problems)


def test_every_cli_is_known():
    """A new executable with a command line must join CPP_EXECUTABLES (and the contract)."""
    declaring = {
        str(p.relative_to(ROOT))
        for d in ("bench", "probe", "harness", "ops", "providers")
        for p in (ROOT / d).rglob("*.cpp")
        if "CLI::App app" in p.read_text()
    }
    assert declaring == set(CPP_EXECUTABLES)


def differences(what: str, in_code: set, in_docs: set) -> list:
    return [f"{what} {x} is in the code, not in docs/contract.md" for x in sorted(in_code - in_docs)] + [
        f"docs/contract.md lists {what} {x}, the code has none" for x in sorted(in_docs - in_code)
    ]


def test_every_exit_code_is_documented_and_every_documented_code_exists():
    doc = documented()
    problems = []
    for exe, codes in sorted(code_exit_codes().items()):
        problems += differences(f"{exe}: exit code", codes, doc.get(exe, {}).get("codes", set()))
    assert not problems, "\n".join(problems)


def status_tables():
    statuses, classes = set(), set()
    for _, title, body in headings(CONTRACT.read_text()):
        if title != "Statuses":
            continue
        for header, rows in tables(body):
            spans = [code_spans(c)[0] for c in rows if code_spans(c)]
            if header[0] == "status":
                statuses |= {s.split(":")[0] for s in spans}
            if header[0] == "class":
                classes |= set(spans)
    return statuses, classes


def test_every_status_and_error_class_is_documented_and_exists():
    vectors = json.loads((ROOT / "tests/vectors/status_text.json").read_text())
    header = (ROOT / "harness/status.hpp").read_text()

    def enum(name):
        return set(re.findall(r"\w+", re.search(r"enum class " + name + r" \{([^}]*)\}", header).group(1)))

    # The vectors and the C++ enums agree (the C++ tests check their texts).
    assert set(vectors["statuses"]) == enum("StatusKind") and set(vectors["error_classes"]) == enum("ErrorClass")
    statuses, classes = status_tables()
    problems = differences("status", set(vectors["statuses"]), statuses)
    problems += differences("error class", set(vectors["error_classes"]), classes)
    assert not problems, "\n".join(problems)


def test_no_path_outside_the_repository():
    """README and docs/ link only to files of the repository, and name no `../` or absolute path of a machine."""
    problems = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = md.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (md.parent / target).resolve()
            if (ROOT not in resolved.parents and resolved != ROOT) or not resolved.exists():
                problems.append(f"{md.name}: link to {target}")
        for m in re.finditer(r"\.\./shared|(?<![\w.])/(?:work|home|root|tmp)/", text):
            problems.append(f"{md.name}: {text[max(0, m.start() - 30):m.end() + 30]!r}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- against a build
BUILD = os.environ.get("MODEBENCH_BUILD_DIR")


def help_flags(exe: Path, *args) -> set:
    out = subprocess.run([str(exe), *args, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"^\s+(?:-\w,)?(--[\w-]+)", out, re.M)) - {"--help"}


@pytest.mark.skipif(not BUILD, reason="MODEBENCH_BUILD_DIR is not set")
def test_built_help_lists_no_flag_the_sources_missed():
    code = code_flags()
    for exe in ("modebench", "modebench-torch"):
        binary = Path(BUILD) / exe
        if not binary.exists():
            continue
        for sub, flags in code[exe].items():
            assert help_flags(binary, sub) <= flags, f"{exe} {sub}"


# ---------------------------------------------------------------- README "Adding an op"
def test_adding_an_op_names_the_files_that_list_every_op():
    """Items 5 and 6 of README's "Adding an op" name the files that keep a table per op (the policy
    readers, the fuzz targets, the report): each must name every op of MODEBENCH_OPS that has a
    reference in cpu_ref/ (model has none), so an op added by the list is in all of them."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Adding an op", 1)[1].split("\n### ", 1)[0]
    items = re.split(r"\n(?=\d+\. )", section)
    listed = [i for i in items if i.startswith(("5. ", "6. "))]
    assert len(listed) == 2, "README's Adding an op lost its items 5 and 6"
    paths = sorted({p for i in listed for p in re.findall(r"`([\w./-]+\.(?:hpp|py|cpp|dict))`", i)})
    assert len(paths) >= 8, paths
    lists = (ROOT / "cmake" / "ModebenchLists.cmake").read_text()
    ops = re.search(r"set\(MODEBENCH_OPS ([^)]*)\)", lists).group(1).split()
    with_reference = [op for op in ops if (ROOT / "cpu_ref" / f"{op}.hpp").exists()]
    assert "conv1d" in with_reference and "model" not in with_reference
    quoted = {op: re.compile(r"""["']""" + op + r"""\\?["']""") for op in with_reference}  # "op", 'op', "\"op\""
    missing = [f"{path}: {op}" for path in paths for op in with_reference
               if not quoted[op].search((ROOT / path).read_text())]
    assert not missing, "files of README's Adding an op that do not name an op: " + ", ".join(missing)
