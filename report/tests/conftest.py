import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
FIXTURES = os.path.join(HERE, "fixtures")
AA = os.path.join(FIXTURES, "linear_cpu_aa")


@pytest.fixture
def aa_sets(tmp_path):
    """Copies of the real A/A sets (8 modebench processes each, linear cpu)."""
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(os.path.join(AA, "A"), a)
    shutil.copytree(os.path.join(AA, "B"), b)
    return str(a), str(b)


@pytest.fixture
def run(capsys):
    """Runs the CLI in-process: (exit code, stdout, stderr)."""
    from modebench_report.cli import main

    def _run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
