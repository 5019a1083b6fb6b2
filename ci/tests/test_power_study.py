"""ci/power_study.py's plumbing on the fake toolchain (fake_toolchain/): it drives the
nightly, injects through MODEBENCH_SLOWDOWN in the second variant only, and counts the
series-comparisons behind each rate. The study itself runs on real builds, by hand."""

import json
import os
import subprocess
import sys

from nightly_helpers import FAKE_TOOLCHAIN, ROOT


def test_tiny_study_counts_false_alarms_and_detections(tmp_path):
    env = dict(os.environ, PATH=f"{FAKE_TOOLCHAIN}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run(
        [sys.executable, str(ROOT / "ci" / "power_study.py"), "--aa-trials", "1", "--inject-trials", "1",
         "--fractions", "0.5", "--inject-share", "0.25", "--processes", "3", "--confirm-budget", "120",
         "--confirm-processes", "6", "--work", str(tmp_path / "study")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "A/A false alarms: 0 of 4 series-comparisons" in r.stdout
    # A 50 % slowdown of one of four series: found once its extra processes ran.
    assert "detected at +50%: 1 of 1 series-comparisons = 100.0%" in r.stdout
    assert "false alarms beside injected series: 0 of 3" in r.stdout
    result = json.loads((tmp_path / "study" / "power-study.json").read_text())
    assert result["rates"]["final:aa"]["comparisons"] == 4 and result["trials"] == 2
    assert result["rates"]["look1:0.5"]["hits"] == 0  # three processes per side alone can never confirm
    assert "process_cv" in result and "load average" in r.stdout
    assert "model" in result  # too few processes here for it to run, and it says so
    assert "model: not run" in r.stdout

    # --analyse: the same counts again from the trial folders alone, without running anything.
    again = subprocess.run([sys.executable, str(ROOT / "ci" / "power_study.py"), "--analyse", str(tmp_path / "study")],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    for line in ("A/A false alarms: 0 of 4 series-comparisons", "detected at +50%: 1 of 1 series-comparisons",
                 "false alarms beside injected series: 0 of 3", "3 processes per side"):
        assert line in again.stdout, again.stdout
