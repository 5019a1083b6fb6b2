"""ci/nightly.sh and the history store, with the fake cmake and modebench (fake_toolchain/):
every night's variants are stored; with fewer than 5 earlier runs of a variant the promoted
baseline stays the comparison, once the store holds 5 its earlier runs are."""

import json
import subprocess

from nightly_helpers import ROOT, run_nightly


def nightly(tmp_path, db, name):
    out = tmp_path / name
    r = run_nightly(["--toolkits", "none", "--processes", "3", "--profile", "quick", "--no-report", "--out", out,
                     "--baseline", tmp_path / "baselines"], fake=True, env={"MODEBENCH_HISTORY_DB": str(db)}, timeout=600)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    summary = (out / "summary.md").read_text()
    assert "- cpu-only: stored: " in summary, summary
    return out, summary


def test_each_night_is_stored_and_history_becomes_the_baseline_at_five_runs(tmp_path):
    db = tmp_path / "history.sqlite"
    first, summary = nightly(tmp_path, db, "night-1")
    assert "- cpu-only: history not used (" in summary and "not enough history: 0 earlier run(s)" in summary
    assert not (first / "compare-history-vs-cpu-only.json").exists()
    for night in range(2, 6):  # four more nights of the variant, dated apart
        folder = tmp_path / f"stored-{night}"
        folder.mkdir()
        for f in (first / "cpu-only").glob("process-*.json"):
            doc = json.loads(f.read_text())
            doc["context"]["date"] = f"2026-01-0{night}T00:00:00+00:00"
            (folder / f.name).write_text(json.dumps(doc))
    ingest = subprocess.run([str(ROOT / "report" / "modebench-report"), "ingest", *sorted(tmp_path.glob("stored-*")),
                             "--db", str(db)], capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr
    out, summary = nightly(tmp_path, db, "night-6")
    assert "history-vs-cpu-only" in summary and "could not run" not in summary, summary
    doc = json.loads((out / "compare-history-vs-cpu-only.json").read_text())
    assert doc["view"] == "history" and doc["baseline"]["processes"] == 15 and doc["candidate"]["processes"] == 3
