"""Contended entries (other processes busy while they were timed) are set aside by every
statistic, named in a banner, and never change a decision."""

import json
import os

import synth

BATCHES = (1, 2, 4, 8, 16)


def impl_times(b):
    """a faster than b by 2x at small batches, slower by 2x from batch 8."""
    return {"a": 1e-4 * b, "b": 2e-4 * b if b < 8 else 0.5e-4 * b}


def contended_set(folder, processes=3, contended=(1,), slowdown=40.0, load=1.4, spread=0.02):
    """cpu/a and cpu/b of linear/sq; in the processes of `contended`, impl a ran `slowdown`x slower
    with `load` other cores recorded (the field report: oneDNN 40-60x under load, im2col 2x)."""
    for p in range(processes):
        f = 1.0 + spread * (p - 1)
        bench = []
        for b in BATCHES:
            for impl, t in impl_times(b).items():
                busy = p in contended
                slow = slowdown if (busy and impl == "a") else (1.1 if busy else 1.0)
                counters = {"other_cores": load if busy else 0.02, "steal_cores": 0.0, "involuntary_switches": 40.0}
                bench += synth.ok_entry(synth.name("linear", "sq", "cpu", impl, b), t * f * slow, counters=counters)
        synth.write(os.path.join(folder, f"p{p}.json"), bench)


def policy_of(tmp_path, run, name, **kw):
    contended_set(str(tmp_path / name), **kw)
    code, _, err = run("policy", tmp_path / name, "--out", tmp_path / f"{name}.json")
    assert code == 0, err
    (rule,) = json.load(open(tmp_path / f"{name}.json"))["rules"]
    return rule


def choices(rule):
    return [(r["batch_min"], r["batch_max"], r["impl"]) for r in rule["ranges"]]


def test_a_contended_process_does_not_change_the_decision(tmp_path, run):
    quiet = policy_of(tmp_path, run, "quiet", processes=4, contended=())
    busy = policy_of(tmp_path, run, "busy", processes=4, contended=(1,))
    assert choices(quiet) == choices(busy) and [c[2] for c in choices(quiet)] == ["a", "b"]
    assert all(r["contended_set_aside"] == 1 for r in busy["ranges"])
    assert all(r["processes"] == 3 and not r["provisional"] for r in busy["ranges"])


def test_with_fewer_than_three_quiet_processes_the_verdict_says_so(tmp_path, run):
    contended_set(str(tmp_path / "s"), processes=3, contended=(1,))
    code, _, err = run("render", tmp_path / "s", "--out", tmp_path / "out")
    assert code == 0, err
    summary = open(tmp_path / "out" / "summary.md").read()
    assert "provisional: not enough quiet runs (n = 2; 1 contended set aside)" in summary
    assert "cpu/a at batch 1–" in summary  # the quiet processes' decision, not the contended one's


def test_the_banner_names_the_contended_process_and_what_it_did(tmp_path, run):
    contended_set(str(tmp_path / "s"), processes=3, contended=(1,))
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    page = open(tmp_path / "out" / "index.html").read()
    assert code == 0 and "id='contended'" in page
    summary = open(tmp_path / "out" / "summary.md").read()
    # p1: all 10 entries contended, others' load 1.4 cores; a's 40x and b's 1.1x -> median ~1.1x..40x
    row = next(line for line in summary.splitlines() if line.startswith("| p1.json |"))
    assert "| 10 of 10 | 1.40 |" in row and "up to 40×" in row
    assert "p0.json" not in [c.strip() for line in summary.splitlines() if line.startswith("| p") for c in line.split("|")[1:2]]


def test_a_quiet_run_has_no_banner(tmp_path, run):
    contended_set(str(tmp_path / "s"), processes=3, contended=())
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    assert code == 0 and "id='contended'" not in open(tmp_path / "out" / "index.html").read()


def test_chart_bands_span_only_the_quiet_processes(tmp_path):
    from modebench_report.groups import Group
    from modebench_report.lines import line_points
    from modebench_report.load import load_set

    contended_set(str(tmp_path / "s"), processes=4, contended=(1,), spread=0.02)
    g = Group("g", load_set(str(tmp_path / "s")).processes)
    for pt in line_points(g.cases[("linear", "sq")][("cpu", "a")]):
        assert pt["processes"] == 3 and pt["hi"] / pt["lo"] < 1.1  # not the 40x contended one


def test_old_files_without_contention_counters_are_quiet():
    from modebench_report.contention import is_contended

    assert not is_contended({}) and is_contended({"other_cores": [0.1, 0.9]})
    assert is_contended({"other_cores": [0.0], "steal_cores": [0.5]})


def test_a_stray_tick_in_a_short_span_is_not_contention():
    from modebench_report.contention import is_contended

    # one 10 ms tick of /proc/stat in a 66 ms span on 2 CPUs reads 0.15 cores: below the 0.3 the
    # span can resolve, so quiet; the same 0.15 over a long span, or 0.5 in the short one, is not
    assert not is_contended({"other_cores": [0.15], "other_cores_resolution": [0.3]})
    assert is_contended({"other_cores": [0.15], "other_cores_resolution": [0.04]})
    assert is_contended({"other_cores": [0.05, 0.5], "other_cores_resolution": [0.3, 0.3]})
    assert is_contended({"other_cores": [0.0], "steal_cores": [0.4], "other_cores_resolution": [0.3]})


def test_the_report_and_the_harness_use_one_threshold():
    import re

    from modebench_report.contention import THRESHOLD_CORES

    header = open(os.path.join(os.path.dirname(__file__), "..", "..", "harness", "contention.hpp")).read()
    (value,) = re.findall(r"kContendedCores = ([0-9.]+);", header)
    assert float(value) == THRESHOLD_CORES


def test_the_verdict_says_where_a_choice_holds_only_on_a_quiet_machine(tmp_path, run):
    # a is 2x faster quiet at small batches, but 40x slower under load: b is the choice there.
    contended_set(str(tmp_path / "s"), processes=4, contended=(1,))
    code, _, err = run("render", tmp_path / "s", "--out", tmp_path / "out")
    assert code == 0, err
    summary = open(tmp_path / "out" / "summary.md").read()
    line = next(x for x in summary.splitlines() if x.startswith("- sq: use cpu/a at batch 1–"))
    assert "but under load cpu/b was " in line and "this choice holds on a quiet machine" in line
    # where b is chosen anyway (batch 8 and up), nothing to say
    assert line.split("; cpu/b at batch")[1].count("under load") == 0


def test_a_run_where_every_process_was_contended_still_renders(tmp_path, run):
    """Every process of every line contended (a busy box with no re-run budget left): the report
    says so instead of failing on a line with no quiet measurement (an IndexError before)."""
    contended_set(str(tmp_path / "s"), processes=3, contended=(0, 1, 2))
    code, _, err = run("render", tmp_path / "s", "--out", tmp_path / "out")
    assert code == 0, err
    summary = open(tmp_path / "out" / "summary.md").read()
    assert "| p0.json | 10 of 10 |" in summary and "| p2.json | 10 of 10 |" in summary
    assert "- sq: not enough quiet runs (n = 0): every process was contended (set aside)." in summary
    assert "linear/sq" not in [line.split("|")[1].strip() for line in summary.splitlines() if line.count("|") >= 8]
