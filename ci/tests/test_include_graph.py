"""ci/include_graph.py: every #include arrow of the tree points down its layers, and the script
sees an arrow that does not."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ci"))
import include_graph as graph  # noqa: E402


def test_no_arrow_points_up_or_sideways():
    bad = graph.violations()
    assert not bad, "\n".join(f"{src}:{line}: {inc} ({a} -> {b}, {d})" for src, line, inc, a, b, d in bad)


def test_the_allow_list_holds_only_arrows_that_exist():
    """An arrow fixed is taken off the list, so the list never hides a new one."""
    present = {(src, inc) for src, _, inc, *_ in graph.violations(allow=set())}
    assert graph.ALLOWED <= present, sorted(graph.ALLOWED - present)


def test_every_source_folder_has_a_place():
    """A new folder of C++ sources must be put in the order (or outside it) on purpose."""
    assert [f for f in graph.source_files(ROOT) if graph.folder_of(f) is None] == []


def write(root: Path, path: str, text: str = "") -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


def test_it_sees_up_sideways_and_forbidden_arrows(tmp_path):
    write(tmp_path, "kernels/common/c.hpp")
    write(tmp_path, "kernels/cpu/k.hpp", '#include "kernels/common/c.hpp"\n')  # down
    write(tmp_path, "cpu_ref/r.cpp", '#include <vector>\n#include "kernels/cpu/k.hpp"\n')  # sideways
    write(tmp_path, "probe/p.hpp")
    write(tmp_path, "harness/h.cpp", '#include "h.hpp"\n  #  include "probe/p.hpp"\n')  # local; up
    write(tmp_path, "harness/h.hpp")
    write(tmp_path, "kernels/cuda/launch.cuh", '#include "sim/simt.hpp"\n')  # the platform: ok
    write(tmp_path, "sim/simt.hpp")
    write(tmp_path, "ops/o.cpp", '#include "sim/simt.hpp"\n#include "tests/t.hpp"\n')  # both forbidden
    write(tmp_path, "tests/t.hpp", '#include "bench/main.hpp"\n')  # tests may include anything
    found = sorted((src, line, inc, d) for src, line, inc, _, _, d in graph.violations(tmp_path, allow=set()))
    assert found == [
        ("cpu_ref/r.cpp", 2, "kernels/cpu/k.hpp", "sideways"),
        ("harness/h.cpp", 2, "probe/p.hpp", "up"),
        ("ops/o.cpp", 1, "sim/simt.hpp", "forbidden"),
        ("ops/o.cpp", 2, "tests/t.hpp", "forbidden"),
    ]


def test_the_command_exits_1_on_an_arrow_up(tmp_path, monkeypatch, capsys):
    write(tmp_path, "probe/p.hpp")
    write(tmp_path, "harness/h.cpp", '#include "probe/p.hpp"\n')
    monkeypatch.setattr(graph, "ALLOWED", set())
    assert graph.main([], root=tmp_path) == 1
    assert "harness/h.cpp:1: #include \"probe/p.hpp\": harness -> probe (up)" in capsys.readouterr().out
    os.remove(tmp_path / "harness/h.cpp")
    assert graph.main([], root=tmp_path) == 0
