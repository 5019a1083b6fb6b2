"""ci/nightly.sh's own logic with a fake cmake and modebench (fake_toolchain/): an A/A of
one toolkit twice, sequential confirmation of a slowdown that the first look cannot
confirm, and the confirmation budget. The real build is exercised by test_nightly.py."""

import json
import subprocess

from nightly_helpers import ROOT, run_nightly

SLOW = "linear/sq/mode:cpu/impl:a/batch:8"


def nightly(tmp_path, *args, env=None):
    out = tmp_path / "out"
    r = run_nightly(["--toolkits", "none none", "--profile", "quick", "--out", out, "--baseline", tmp_path / "baselines",
                     *args], fake=True, env=env, timeout=600)
    return r, out


def final_verdicts(out):
    doc = json.loads((out / "compare-cpu-only-vs-cpu-only.2.json").read_text())
    return doc, {r["series"]: r for g in doc["groups"] for r in g["series"]}


def test_aa_of_one_toolkit_twice_builds_and_runs_apart(tmp_path):
    r, out = nightly(tmp_path, "--processes", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "build-1-cpu-only" / "modebench").exists() and (out / "build-2-cpu-only.2" / "modebench").exists()
    assert sorted(p.name for p in (out / "cpu-only").iterdir()) == ["process-1.json", "process-2.json"]
    assert sorted(p.name for p in (out / "cpu-only.2").iterdir()) == ["process-1.json", "process-2.json"]
    doc, rows = final_verdicts(out)
    assert len(rows) == 4 and doc["looks"] == 1
    summary = (out / "summary.md").read_text()
    assert "cpu-only-vs-cpu-only.2: no regression" in summary and "Sequential confirmation" not in summary


def test_every_process_gets_an_environment_pad_of_its_own_length(tmp_path):
    """Layout luck from the environment's size must not be a bias of one variant."""
    r, out = nightly(tmp_path, "--processes", "4", "--candidate-env", f"MODEBENCH_SLOWDOWN={SLOW}=0.5")
    assert r.returncode == 0, r.stdout + r.stderr
    lengths = {side: [json.loads((out / side / f"process-{k}.json").read_text())["context"]["env_pad_length"]
                      for k in range(1, 5)] for side in ("cpu-only", "cpu-only.2")}
    every = lengths["cpu-only"] + lengths["cpu-only.2"]
    assert all(0 <= n < 4096 for n in every), lengths
    assert len(set(every)) > 1, lengths  # random per process (8 equal draws of 4096: never in practice)


def test_builds_folder_is_reused(tmp_path):
    builds = tmp_path / "builds"
    for _ in range(2):
        r, _ = nightly(tmp_path, "--processes", "1", "--builds", builds)
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in builds.iterdir()) == ["build-1-cpu-only", "build-2-cpu-only.2"]


def test_confirmation_reruns_the_suspicious_series_and_confirms_it(tmp_path):
    # Three processes per side can never confirm (min p = 0.1); six more of just that series can.
    r, out = nightly(tmp_path, "--processes", "3", "--confirm-budget", "300", "--confirm-processes", "6",
                     "--candidate-env", f"MODEBENCH_SLOWDOWN={SLOW}=0.5")
    assert r.returncode == 1, r.stdout + r.stderr
    look1 = json.loads((out / "compare-cpu-only-vs-cpu-only.2.look1.json").read_text())
    # Noise may make another series suspicious too (screening costs time, never an alert).
    assert look1["alerts"] == 0 and SLOW in look1["suspicious"] and look1["alpha_look"] == 0.005
    extra = json.loads((out / "cpu-only" / "process-c6.json").read_text())
    assert sorted(b["name"] for b in extra["benchmarks"]) == look1["suspicious"]  # only those ran again
    doc, rows = final_verdicts(out)
    assert doc["look"] == 2 and [s for s, row in rows.items() if row["alert"]] == [SLOW]
    assert rows[SLOW]["alerted_at_look"] == 2 and rows[SLOW]["n_candidate"] == 9
    summary = (out / "summary.md").read_text()
    assert f"{len(look1['suspicious'])} suspicious series re-run as 6 extra process(es) per variant" in summary
    assert "**cpu-only-vs-cpu-only.2: REGRESSION**" in summary


def test_without_a_budget_the_first_look_decides_alone(tmp_path):
    r, out = nightly(tmp_path, "--processes", "3", "--candidate-env", f"MODEBENCH_SLOWDOWN={SLOW}=0.5")
    assert r.returncode == 0, r.stdout + r.stderr
    doc, rows = final_verdicts(out)
    assert doc["looks"] == 1 and rows[SLOW]["verdict"] == "ambiguous" and rows[SLOW].get("suspicious")
    assert not list((out / "cpu-only").glob("process-c*.json"))


def test_confirmation_stops_at_its_budget(tmp_path):
    # Each run sleeps 1 s, a round (two variants) 2 s: a 1 s budget allows the first round only.
    r, out = nightly(tmp_path, "--processes", "3", "--confirm-budget", "1", "--candidate-env",
                     f"MODEBENCH_SLOWDOWN={SLOW}=0.5", env={"FAKE_MODEBENCH_SLEEP": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in (out / "cpu-only.2").glob("process-c*.json")) == ["process-c1.json"]
    assert "re-run as 1 extra process(es) per variant" in (out / "summary.md").read_text()


def test_results_of_the_simulated_device_are_never_compared(tmp_path):
    """A simulated device's timings are not GPU timings: exit 2, one line, no comparison made."""
    r, out = nightly(tmp_path, "--processes", "1", env={"FAKE_MODEBENCH_SIM": "1"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "nightly: error: cpu-only: results of the simulated device (device=sim): its timings are not GPU timings; "
        "nothing compared"
    ]
    assert not list(out.glob("compare-*.json")) and not (out / "report").exists()
    assert "(device=sim): its timings are not GPU timings" in (out / "summary.md").read_text()
    # Nor does it become a baseline.
    baselines = tmp_path / "baselines"
    p = subprocess.run(["bash", str(ROOT / "ci" / "promote-baseline.sh"), str(out), "--baseline", str(baselines)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "simulated device (device=sim)" in p.stderr and len(p.stderr.splitlines()) == 1
    assert not baselines.exists() or not any(baselines.iterdir())
