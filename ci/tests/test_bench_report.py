"""The main job's last step (bench/bench_test.cmake ACTION=report, what `bench_report` runs):
the report and the fallback policy beside it, with both paths printed."""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "report", "tests", "fixtures", "all_ops_cpu")


def test_the_report_step_writes_the_policy_beside_the_report(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "run-1")
    (tmp_path / ".current-run").write_text("run-1")
    cmd = ["cmake", f"-DRESULTS={tmp_path}", "-DACTION=report", f"-DPYTHON={sys.executable}",
           f"-DREPORT={os.path.join(ROOT, 'report', 'modebench-report')}", "-P", os.path.join(ROOT, "bench", "bench_test.cmake")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = tmp_path / "run-1" / "report"
    assert (report / "index.html").stat().st_size > 0
    policy = json.load(open(report / "policy.json"))
    assert policy["schema"] == "modebench-policy/2" and policy["rules"]
    assert f"policy: {report / 'policy.json'}" in done.stdout + done.stderr
