"""Runs of the simulated device (a -DMODEBENCH_CUDA=SIM build: context device=sim, label
device=sim on gpu/ptx-jit/hybrid entries): correctness only. render shows their statuses and no
timing; compare, policy and hostkey refuse them; a set is either real or simulated, never both."""

import os
import re

import pytest
import synth

from modebench_report import load
from modebench_report.render import SIMULATED_BANNER

REFUSED = "simulated device (device=sim): its timings are not GPU timings"


def sim_set(tmp_path, name="sim", processes=2):
    synth.multimode_set(str(tmp_path / name), processes=processes, simulated=True)
    return tmp_path / name


def one_line(err):
    return len(err.strip().splitlines()) == 1


def test_a_run_is_simulated_by_its_context_or_its_labels(tmp_path):
    sim = load.load_set(str(sim_set(tmp_path)))
    assert all(p.simulated for p in sim.processes)
    # A file without the context key but with labelled entries is still simulated.
    f = synth.write(str(tmp_path / "l.json"), synth.ok_entry(synth.name("linear", "c", "gpu", "x", 1), 1e-3,
                                                             label="math=fp32" + synth.SIM))
    assert load.load_process(f).simulated
    synth.multimode_set(str(tmp_path / "real"), processes=1)
    assert not any(p.simulated for p in load.load_set(str(tmp_path / "real")).processes)
    # Another device value (or none) is a real run.
    f = synth.write(str(tmp_path / "o.json"), synth.ok_entry(synth.name("linear", "c", "gpu", "x", 1), 1e-3),
                    device="NVIDIA GeForce RTX 5090")
    assert not load.load_process(f).simulated


@pytest.mark.parametrize("context", [{"device": "sim"}, {}])
def test_a_file_mixing_simulated_and_real_timings_is_bad_input(tmp_path, run, context):
    n = lambda mode, impl: synth.name("linear", "c", mode, impl, 1)  # noqa: E731
    bench = synth.ok_entry(n("gpu", "sim"), 1e-3, label="math=fp32" + synth.SIM)
    bench += synth.ok_entry(n("cpu", "onednn"), 1e-3)  # cpu entries carry no device=sim: fine
    bench += synth.error_entry(n("ptx-jit", "x"), "unavailable: no PTX")  # untimed: fine
    bench += synth.ok_entry(n("hybrid", "real"), 1e-3)  # a real timing in a simulated run
    f = synth.write(str(tmp_path / "m.json"), bench, **context)
    code, _, err = run("render", f, "--out", tmp_path / "out")
    assert code == 2 and one_line(err) and f in err
    assert "mixes simulated-device results (device=sim) with real ones" in err and "impl:real" in err
    assert not (tmp_path / "out").exists()


def test_a_simulated_and_a_real_set_together_are_bad_input(tmp_path, run, aa_sets):
    a, _ = aa_sets
    sim = sim_set(tmp_path)
    code, _, err = run("render", a, sim, "--out", tmp_path / "out")
    assert code == 2 and one_line(err)
    assert str(sim) in err and a in err and "either real or simulated, never both" in err
    assert not (tmp_path / "out").exists()


def test_render_shows_the_banner_and_the_statuses_and_no_timing(tmp_path, run):
    out = tmp_path / "out"
    code, _, _ = run("render", sim_set(tmp_path), "--out", out)
    assert code == 0
    assert sorted(os.listdir(out)) == ["index.html", "summary.md"]  # no charts
    page, summary = (out / "index.html").read_text(), (out / "summary.md").read_text()
    # The banner comes first, before anything the run says.
    assert page.index(SIMULATED_BANNER) < page.index("<h2>")
    assert summary.splitlines()[2] == f"> **{SIMULATED_BANNER}**"
    # The compatibility matrix: which entries are ok, wrong, failed, unavailable.
    assert "<section id='matrix'>" in page
    assert ">wrong [1]</td>" in page and ">failed:no_kernel_image [2]</td>" in page and ">unavailable [3]</td>" in page
    assert "wrong: max_err=0.5 tolerance=0.0001" in page
    # No timing anywhere: no chart, crossover, roofline, time table, verdict or model from the times.
    assert "data:image" not in page and "<img" not in page
    for absent in ("Verdict", "Charts", "Crossovers", "Cost model", "What the policy would do", "Fastest per batch",
                   "Hybrid: where the time goes", "First call", "GFLOP/s", "peak"):
        assert absent not in page and absent not in summary, absent
    for text in (page, summary):
        assert not re.search(r"\d (ms|us)\b", text)


def test_a_real_runs_report_has_no_banner_and_every_section(tmp_path, run):
    synth.multimode_set(str(tmp_path / "real"), processes=2)
    out = tmp_path / "out"
    code, _, _ = run("render", tmp_path / "real", "--out", out)
    assert code == 0
    page = (out / "index.html").read_text()
    assert SIMULATED_BANNER not in page and "device=sim" not in page
    for present in ("Verdict", "Compatibility matrix", "Charts", "Crossovers", "Fastest per batch", "data:image/png"):
        assert present in page, present


@pytest.mark.parametrize("cmd", ["policy", "compare", "toolkit-view", "hostkey"])
def test_what_uses_timings_refuses_a_simulated_run(tmp_path, run, aa_sets, cmd):
    sim = sim_set(tmp_path)
    out = tmp_path / "result.json"
    out.write_text("previous")
    if cmd == "policy":
        code, text, err = run("policy", sim, "--out", out)
    elif cmd == "compare":
        code, text, err = run("compare", aa_sets[0], sim, "--json", out)
    elif cmd == "toolkit-view":
        code, text, err = run("compare", "--toolkit-view", sim, "--json", out)
    else:
        code, text, err = run("hostkey", sim / "p0.json")
    assert code == 2 and one_line(err) and REFUSED in err and str(sim) in err
    assert text == "" and out.read_text() == "previous"


def test_compare_refuses_simulated_runs_on_both_sides(tmp_path, run):
    a, b = sim_set(tmp_path, "a"), sim_set(tmp_path, "b")
    code, _, err = run("compare", a, b, "--md", tmp_path / "c.md")
    assert code == 2 and one_line(err) and REFUSED in err and not (tmp_path / "c.md").exists()

