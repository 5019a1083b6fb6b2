"""The report's mode table and the project's one list of modes (cmake/ModebenchLists.cmake)."""

import pathlib
import re

from modebench_report import modes

LISTS = pathlib.Path(__file__).resolve().parents[2] / "cmake" / "ModebenchLists.cmake"


def cmake_list(name):
    """The values of set(NAME a b c) in ModebenchLists.cmake."""
    text = LISTS.read_text()
    m = re.search(rf"^\s*set\(\s*{name}\s+([^)]*)\)", text, re.M)
    assert m, f"{LISTS}: no set({name} ...)"
    return m.group(1).split()


def test_mode_names_and_order_equal_the_cmake_list():
    assert list(modes.NAMES) == cmake_list("MODEBENCH_MODES")


def test_host_modes_equal_the_cmake_list():
    assert [m.name for m in modes.MODES if modes.host_only(m.name)] == cmake_list("MODEBENCH_HOST_MODES")


def test_risk_order_is_a_strict_order_with_the_host_mode_safest():
    risks = [m.risk for m in modes.MODES]
    assert len(set(risks)) == len(risks)
    assert min(modes.MODES, key=lambda m: m.risk).name == "cpu"
    assert modes.risk("a-mode-from-the-future") > max(risks)


def test_placement_answers():
    assert modes.computes_on_device("gpu") and modes.computes_on_device("ptx-jit")
    assert not modes.computes_on_device("hybrid") and not modes.computes_on_device("unknown")
    assert modes.moves_data_to_host("hybrid") and not modes.moves_data_to_host("cpu")
    assert [m for m in modes.NAMES if modes.uses_device(m)] == ["gpu", "ptx-jit", "hybrid"]
    assert not modes.uses_device("unknown")
    assert modes.device_modes_by_loading() == ("gpu", "ptx-jit")
    assert modes.ordered(["zeta", "hybrid", "cpu"]) == ["cpu", "hybrid", "zeta"]
