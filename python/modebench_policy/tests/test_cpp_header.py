"""include/modebench/policy.hpp is C++17 and warnings-clean: an application built with
-std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Werror includes it (syntax and template
checks only; tests/test_policy_reader.cpp runs it in the C++20 unit tests)."""

import os
import shutil
import subprocess

import pytest

HEADER_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "include"))
APP = """#include "modebench/policy.hpp"
int main() {
  auto p = modebench::Policy::load_or_default("policy.json");
  auto d = p.choose("linear", {{"in_features", 8}, {"out_features", 8}}, 4);
  return d.mode == "cpu" ? 0 : 1;
}
"""


@pytest.mark.skipif(not shutil.which("g++"), reason="no g++")
def test_header_compiles_as_cpp17_without_warnings(tmp_path):
    src = tmp_path / "app.cpp"
    src.write_text(APP)
    cmd = ["g++", "-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Werror", "-fsyntax-only",
           f"-I{HEADER_DIR}", str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
