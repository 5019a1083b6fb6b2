import json
import json
import os
import re

import pytest
import synth
from conftest import FIXTURES

HOSTILE_CASE = "<img src=x onerror=alert(1)>"
HOSTILE_IMPL = "<script>alert(2)<"


def hostile_set(folder):
    bench = []
    for b in (1, 8, 64):
        bench += synth.ok_entry(synth.name("linear", HOSTILE_CASE, "cpu", HOSTILE_IMPL, b), 1e-4 * b, flop=2e6 * b)
        bench += synth.error_entry(synth.name("linear", HOSTILE_CASE, "gpu", "cublas", b),
                                   "failed: other: <b onmouseover=alert(3)>x</b> 'quoted'")
    return synth.write(os.path.join(folder, "h.json"), bench, device_name="<svg onload=alert(4)>")


def test_hostile_names_escaped(tmp_path, run):
    hostile_set(str(tmp_path / "h"))
    code, _, _ = run("render", tmp_path / "h", "--out", tmp_path / "out")
    assert code == 0
    page = open(tmp_path / "out" / "index.html").read()
    for raw in ("<img src=x", "<script", "<b onmouseover", "<svg onload"):
        assert raw not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b onmouseover=alert(3)&gt;" in page and "&#x27;quoted&#x27;" in page
    summary = open(tmp_path / "out" / "summary.md").read()
    assert "<script" not in summary and "<img" not in summary


def test_render_real_and_synthetic_side_by_side(tmp_path, run, aa_sets):
    a, _ = aa_sets
    synth.multimode_set(str(tmp_path / "gpu"), processes=4)
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"peak_gflops": 157, "mem_gbps": 20}))
    out = tmp_path / "out"
    code, _, _ = run("render", a, tmp_path / "gpu", "--out", out, "--limits", limits)
    assert code == 0
    page = open(out / "index.html").read()
    # Self-contained: no external resources, no scripts.
    assert "http://" not in page and "https://" not in page and "<link" not in page and "<script" not in page
    assert page.count("data:image/png;base64,") == 1  # one op/case: linear/square_1024, both sets in it
    assert "AMD EPYC" in page and "Synthetic GPU" in page
    # Compatibility matrix with the message on hover.
    batches = ", ".join(map(str, synth.BATCHES))
    assert f"title='failed: no_kernel_image: CUBLAS_STATUS_ARCH_MISMATCH (square_1024 batch {batches})'" in page
    assert ">wrong [1]</td>" in page and ">unavailable [3]</td>" in page
    # ... and as a numbered footnote under the matrix.
    assert f"<li>linear/cublas in ptx-jit: failed: no_kernel_image: CUBLAS_STATUS_ARCH_MISMATCH (square_1024 batch {batches})</li>" in page
    charts = sorted(os.listdir(out / "charts"))
    assert charts == ["00_linear_square_1024.png", "00_linear_square_1024.svg"]
    svg = open(out / "charts" / charts[1]).read()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "% of peak" in page
    summary = open(out / "summary.md").read()
    assert "## Crossovers" in summary and "gpu/cublas" in summary
    # The synthetic crossing at 16 is found and listed with its CI.
    assert "cpu/onednn vs gpu/cublas" in summary or "gpu/cublas vs cpu/onednn" in summary


def test_render_keeps_nothing_partial_on_bad_limits(tmp_path, run, aa_sets):
    a, _ = aa_sets
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"peak_gflops": float("nan")}))
    code, _, err = run("render", a, "--out", tmp_path / "out", "--limits", limits)
    assert code == 2 and str(limits) in err and not (tmp_path / "out").exists()


def split(cin, comp, cout):
    """The hybrid time split counters (ms per call) and the transfer_fraction they imply."""
    return {"copy_in_ms": cin, "compute_ms": comp, "copy_out_ms": cout,
            "transfer_fraction": (cin + cout) / (cin + comp + cout)}


def hybrid_section(text):
    return text.split("Hybrid: where the time goes", 1)[1].split("First call: module load and JIT", 1)[0]


def test_hybrid_split_rows_are_medians_across_processes(tmp_path, run):
    n = lambda mode, impl, b: synth.name("linear", "sq", mode, impl, b)  # noqa: E731
    # Per process; the medians (copy-in 2, compute 5, copy-out 1) differ from the means.
    cached4 = [(1, 4, 0.5), (9, 6, 3), (2, 5, 1)]
    # The fastest cpu impl at batch 4; the middle process's own median is 4.02 ms (4 and 4.04).
    onednn4 = [3e-3, 20e-3, 4e-3]
    for p in range(3):
        bench = synth.ok_entry(n("hybrid", "cached", 4), 9e-3, counters=split(*cached4[p]))
        bench += synth.ok_entry(n("hybrid", "cached", 8), 9e-3, counters=split(1, 1, 2))
        bench += synth.ok_entry(n("hybrid", "naive", 4), 9e-3, counters=split(1, 3, 0))
        bench += synth.ok_entry(n("hybrid", "naive", 8), 9e-3, counters={"transfer_fraction": 0.3})  # older file: no row
        bench += synth.ok_entry(n("cpu", "onednn", 4), onednn4[p], rep_times=[onednn4[p], onednn4[p] * 1.01])
        bench += synth.ok_entry(n("cpu", "openblas", 4), 10e-3 + p * 1e-3)
        bench += synth.error_entry(n("cpu", "mkl", 4), "failed: other: crashed")  # not ok: never the cpu column
        bench += synth.ok_entry(n("gpu", "cublas", 4), 1e-5)  # faster, but not cpu mode
        synth.write(str(tmp_path / "h" / f"p{p}.json"), bench)
    code, _, _ = run("render", tmp_path / "h", "--out", tmp_path / "out")
    assert code == 0
    summary = hybrid_section(open(tmp_path / "out" / "summary.md").read())
    rows = [ln for ln in summary.splitlines() if ln.startswith("| linear/sq")]
    assert rows == [
        "| linear/sq | cached | 4 | 2 | 5 | 1 | 37.5 | 4.02 |",
        "| linear/sq | cached | 8 | 1 | 1 | 2 | 75.0 | - |",
        "| linear/sq | naive | 4 | 1 | 3 | 0 | 25.0 | 4.02 |",
    ]
    assert "No hybrid results carry the time split" not in summary
    page = hybrid_section(open(tmp_path / "out" / "index.html").read())
    assert "<td>cached</td><td>4</td><td>2</td><td>5</td><td>1</td><td>37.5</td><td>4.02</td>" in page


def test_results_without_split_render_with_a_note(tmp_path, run, aa_sets):
    a, _ = aa_sets
    synth.multimode_set(str(tmp_path / "gpu"), processes=2)  # hybrid records without the split
    code, _, _ = run("render", a, tmp_path / "gpu", "--out", tmp_path / "out")
    assert code == 0
    for doc in ("summary.md", "index.html"):
        text = open(tmp_path / "out" / doc).read()
        assert "Fastest per batch" in text and "linear/square_1024" in text
        section = hybrid_section(text)
        assert "No hybrid results carry the time split" in section and "copy-in (ms)" not in section


def test_hybrid_transfer_share_of_the_call(tmp_path):
    from modebench_report import groups, load, tables

    bench = synth.ok_entry(synth.name("op", "c", "hybrid", "naive", 1), 4e-3, counters=split(1, 2, 1))
    bench += synth.ok_entry(synth.name("op", "c", "hybrid", "naive", 2), 4e-3, counters=split(0.5, 1.5, 2))
    bench += synth.ok_entry(synth.name("op", "c", "hybrid", "naive", 4), 4e-3, counters=split(3, 1, 0))
    path = synth.write(str(tmp_path / "t.json"), bench)
    (g,) = groups.make_groups(load.load_sets([path]))
    assert [(r[2], r[6]) for r in tables.hybrid_rows(g)] == [(1, "50.0"), (2, "62.5"), (4, "75.0")]


def first_call_section(text):
    return text.split("First call: module load and JIT", 1)[1]


def first_call(mode, impl, b, ms, when, seconds=1e-3, setup_ms=None, **kw):
    """A gpu/ptx-jit entry of linear/sq whose first call took `ms`, labelled first_call=`when`."""
    counters = {"first_call_ms": ms} if setup_ms is None else {"first_call_ms": ms, "setup_ms": setup_ms}
    return synth.ok_entry(synth.name("linear", "sq", mode, impl, b), seconds, label=synth.device_label(when),
                          counters=counters, **kw)


def render_first_call(tmp_path, run, processes):
    """Writes one file per process (lists of entries), renders them: (markdown rows, html section)."""
    for p, bench in enumerate(processes):
        synth.write(str(tmp_path / "fc" / f"p{p}.json"), bench)
    code, _, _ = run("render", tmp_path / "fc", "--out", tmp_path / "out")
    assert code == 0
    summary = first_call_section(open(tmp_path / "out" / "summary.md").read())
    page = first_call_section(open(tmp_path / "out" / "index.html").read())
    return [ln for ln in summary.splitlines() if ln.startswith("| linear/")], page


def test_first_call_rows_are_medians_of_cold_records(tmp_path, run):
    # Cold gpu first calls 10, 30 (batch 1) and 14 (batch 2, the third process's first entry):
    # median 14 (mean 18). Warm ones (1000 ms) would move it if they counted.
    procs = [
        first_call("gpu", "cublas", 1, 10, "cold", rep_times=[1e-3, 1.2e-3, 5e-3])
        + first_call("gpu", "cublas", 2, 1000, "warm") + first_call("gpu", "cublas", 4, 1000, "warm")
        + first_call("ptx-jit", "cublas", 1, 200, "cold") + first_call("ptx-jit", "cublas", 2, 5000, "warm"),
        first_call("gpu", "cublas", 1, 30, "cold", seconds=2e-3)
        + first_call("gpu", "cublas", 2, 1000, "warm") + first_call("gpu", "cublas", 4, 1000, "warm")
        + first_call("ptx-jit", "cublas", 1, 150, "cold") + first_call("ptx-jit", "cublas", 2, 5000, "warm"),
        first_call("gpu", "cublas", 2, 14, "cold", seconds=9e-3) + first_call("gpu", "cublas", 4, 1000, "warm")
        + first_call("ptx-jit", "cublas", 1, 400, "cold") + first_call("ptx-jit", "cublas", 2, 5000, "warm"),
    ]
    for bench in procs:  # no first_call_ms or no first_call label: never a row
        bench += synth.ok_entry(synth.name("linear", "sq", "cpu", "onednn", 1), 1e-3)
        bench += synth.ok_entry(synth.name("linear", "sq", "hybrid", "cached", 1), 1e-3)
    rows, page = render_first_call(tmp_path, run, procs)
    # ptx-jit median 200, JIT cost 200 - 14; steady: gpu batch 1, medians 1.2 and 2 ms per process.
    assert rows == ["| linear/sq | cublas | 14 | 200 | 186 | 1.6 |"]
    assert "No gpu or ptx-jit results" not in page
    assert "<td>linear/sq</td><td>cublas</td><td>14</td><td>200</td><td>186</td><td>1.6</td>" in page


def test_cold_start_adds_the_setup(tmp_path, run):
    # cudnnFind compiles kernels during setup under forced JIT: 50 + 10 vs 900 + 100 -> JIT cost 940.
    procs = [
        first_call("gpu", "cudnn", 8, 10, "cold", setup_ms=50) + first_call("ptx-jit", "cudnn", 8, 100, "cold", setup_ms=900)
        for _ in range(3)
    ]
    rows, _ = render_first_call(tmp_path, run, procs)
    assert rows == ["| linear/sq | cudnn | 60 | 1000 | 940 | 1 |"]


def test_first_call_only_ptx_jit(tmp_path, run):
    procs = [
        first_call("ptx-jit", "cudnn", 8, ms, "cold") + first_call("ptx-jit", "cudnn", 16, 900, "warm")
        + synth.error_entry(synth.name("linear", "sq", "gpu", "cudnn", 8), "failed: no_kernel_image: sm_120")
        for ms in (120, 80, 95)
    ]
    rows, _ = render_first_call(tmp_path, run, procs)
    assert rows == ["| linear/sq | cudnn | - | 95 | - | - |"]


def test_results_without_first_call_label_render_with_a_note(tmp_path, run, aa_sets):
    a, _ = aa_sets
    # Older gpu/ptx-jit files: first_call_ms, but no first_call= in the label.
    bench = synth.ok_entry(synth.name("linear", "sq", "gpu", "cublas", 1), 1e-3, label=synth.device_label(),
                           counters={"first_call_ms": 12.0})
    bench += synth.ok_entry(synth.name("linear", "sq", "ptx-jit", "cublas", 1), 1e-3, label=synth.device_label(),
                            counters={"first_call_ms": 300.0})
    synth.write(str(tmp_path / "old" / "p0.json"), bench)
    code, _, _ = run("render", a, tmp_path / "old", "--out", tmp_path / "out")
    assert code == 0
    for doc in ("summary.md", "index.html"):
        section = first_call_section(open(tmp_path / "out" / doc).read())
        assert "No gpu or ptx-jit results with a cold first call (first_call=cold in the label)." in section
        assert "JIT cost (ms)" not in section and "cublas" not in section


def test_matrix_hover_names_our_kernels_image_old_and_new_label_key(tmp_path, run):
    bench = synth.ok_entry(synth.name("linear", "sq", "gpu", "cublas", 1), 1e-3, label="image_own=sass:120;math=tf32-allowed")
    bench += synth.ok_entry(synth.name("conv2d", "c", "gpu", "cudnn", 1), 1e-3, label="image=ptx:75;math=fp32")
    bench += synth.error_entry(synth.name("linear", "sq", "gpu", "fused", 1), "busy: CUDA device 0 is in use")
    synth.write(str(tmp_path / "s" / "p0.json"), bench)
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    page = open(tmp_path / "out" / "index.html").read()
    assert code == 0
    assert "our kernels: sass:120; math: tf32-allowed" in page and "our kernels: ptx:75; math: fp32" in page
    assert "busy: CUDA device 0 is in use" in page


def run_folder(folder, processes, statuses=False):
    """The main job's layout: results/<run-id>/<op>.<mode>.p<k>.json, one file per op x mode x process."""
    import collections

    synth.multimode_set(str(folder / "tmp"), processes=processes, statuses=statuses)
    for k, path in enumerate(sorted((folder / "tmp").iterdir()), start=1):
        doc = json.load(open(path))
        by_mode = collections.defaultdict(list)
        for b in doc["benchmarks"]:
            by_mode[b["name"].split("/mode:")[1].split("/")[0]].append(b)
        for mode, entries in by_mode.items():
            synth.write(str(folder / f"linear.{mode}.p{k}.json"), entries)
        path.unlink()
    (folder / "tmp").rmdir()
    return folder


def test_run_folder_files_of_one_op_mode_are_processes_of_one_sample_set(tmp_path, run):
    folder = run_folder(tmp_path / "run", processes=3)
    assert sorted(p.name for p in folder.iterdir())[:2] == ["linear.cpu.p1.json", "linear.cpu.p2.json"]
    code, _, _ = run("render", folder, "--out", tmp_path / "out")
    summary = open(tmp_path / "out" / "summary.md").read()
    assert code == 0
    (row,) = [ln for ln in summary.splitlines() if "cpu/onednn vs gpu/cublas" in ln]
    assert "(n = 3)" in row and "not enough runs" not in row
    assert "range over processes, n = 3" in summary


def test_one_process_says_not_enough_runs_in_tables_and_on_the_chart(tmp_path, run):
    folder = run_folder(tmp_path / "run", processes=1)
    code, _, _ = run("render", folder, "--out", tmp_path / "out")
    summary = open(tmp_path / "out" / "summary.md").read()
    (row,) = [ln for ln in summary.splitlines() if "cpu/onednn vs gpu/cublas" in ln]
    assert code == 0 and "not enough runs (n = 1)" in row and "agree" not in row
    svg = open(tmp_path / "out" / "charts" / "00_linear_square_1024.svg").read()
    assert "not enough runs (n = 1)" in svg


def test_page_reads_top_down_verdict_then_matrix_by_mode_columns(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    page = open(tmp_path / "out" / "index.html").read()
    summary = open(tmp_path / "out" / "summary.md").read()
    assert code == 0
    assert page.index("id='verdict'") < page.index("id='matrix'") < page.index("<h2>Charts</h2>")
    (use,) = [ln for ln in summary.splitlines() if ln.startswith("- square_1024: use ")]
    assert use.startswith("- square_1024: use cpu/onednn at batch 1–") and "gpu/cublas at batch" in use
    assert "over 3 processes" in use and "provisional" not in use
    assert "- hybrid/cached: do not use: gave wrong results (wrong on linear/square_1024 batch 64" in summary
    assert "- ptx-jit/cublas: do not use: fails here (failed:no_kernel_image" in summary
    assert "- gpu/tf32: not available here (unavailable: built without CUDA)." in summary

    # Rows op x impl, columns the modes in the mode table's order.
    assert "| op | impl | cpu | gpu | ptx-jit | hybrid |" in summary
    assert "| linear | cublas | - | ok | failed:no_kernel_image [2] | - |" in summary


def test_verdict_says_not_measured_for_a_busy_device(tmp_path, run):
    from test_policy import busy_set

    busy_set(str(tmp_path / "s"), processes=1)
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    summary = open(tmp_path / "out" / "summary.md").read()
    assert code == 0
    assert "- gpu/cublas: not measured: the device was busy (another process held it) (not measured: busy: CUDA" in summary
    assert "- sq: use cpu/onednn at every batch: 0.1–6.4 ms (provisional: not enough runs (n = 1))." in summary


def test_one_colour_per_mode_impl_across_every_chart():
    from modebench_report.charts import line_styles

    class G:  # only the series keys matter
        def __init__(self, keys):
            self.series = dict.fromkeys(keys)

    g1 = G([("linear", "a", "cpu", "onednn", 1), ("linear", "a", "gpu", "cublas", 1)])
    g2 = G([("ssim", "b", "cpu", "onednn", 1), ("ssim", "b", "cpu", "fused", 1), ("ssim", "b", "hybrid", "naive", 1)])
    styles = line_styles([g1, g2])
    assert len(set(styles.values())) == len(styles) == 4
    assert line_styles([g2, g1]) == styles  # not the order of the groups or charts
    colours = {k: v[0] for k, v in styles.items()}
    assert colours[("cpu", "onednn")] != colours[("cpu", "fused")]


PERCENT_OF_PEAK = re.compile(r"\(\d+% of peak\)")  # a table cell that used the peak


def render_with_limits(tmp_path, run, **extra):
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"peak_gflops": 157, "mem_gbps": 20, **extra}))
    code, _, err = run("render", tmp_path / "s", "--out", tmp_path / "out", "--limits", limits)
    page = open(tmp_path / "out" / "index.html").read() if code == 0 else ""
    return code, page, err


def test_limits_measured_under_load_are_refused(tmp_path, run):
    code, page, _ = render_with_limits(tmp_path, run, quiet=False, load_avg_1m=1.7, cpus=2)
    assert code == 0
    assert "measured under load (load average 1.7 on 2 CPUs): not used in any figure" in page
    assert "no (refused)" in page and not PERCENT_OF_PEAK.search(page)


def test_limits_of_a_quiet_machine_are_used_and_say_so(tmp_path, run):
    code, page, _ = render_with_limits(tmp_path, run, quiet=True, load_avg_1m=0.1, cpus=2)
    assert code == 0 and "measured on a quiet machine (load average 0.1 on 2 CPUs)" in page and PERCENT_OF_PEAK.search(page)


def test_limits_without_quiet_are_marked_not_known(tmp_path, run):
    code, page, _ = render_with_limits(tmp_path, run)
    assert code == 0 and "not known whether the machine was quiet" in page and PERCENT_OF_PEAK.search(page)


def test_limits_with_a_bad_quiet_field_are_bad_input(tmp_path, run):
    code, _, err = render_with_limits(tmp_path, run, quiet="yes")
    assert code == 2 and "limits.json" in err and "'quiet'" in err


# ---------------------------------------------------------------- render --probe and the policy sections
PROBE = os.path.join(FIXTURES, "probe_binary.json")


def test_render_shows_the_binary_verdict_table(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    code, _, _ = run("render", tmp_path / "s", "--probe", PROBE, "--out", tmp_path / "out")
    assert code == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    page = (tmp_path / "out" / "index.html").read_text()
    assert "## Will these binaries run? (modebench probe --binary)" in summary
    assert "| file | SASS | PTX | sm_86 | sm_120 | sm_86, CUDA_FORCE_PTX_JIT=1 | sm_120, CUDA_FORCE_PTX_JIT=1 |" in summary
    assert "| libcublas.so | sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 | compute_120 (ISA 9.0) | native sm_86 * |" in summary
    assert "weakest on sm_86 under CUDA_FORCE_PTX_JIT=1: libcublas.so: no image" in summary
    assert "<table class='binaries'>" in page and "title='neither SASS nor PTX" in page


def test_render_says_where_an_arch_list_and_the_binaries_disagree(tmp_path, run):
    doc = json.load(open(PROBE))
    doc["arch_list"] = "sm_86 sm_120"
    text = "sm_120: the arch list says native sm_120, the binaries say no image: the binaries win"
    for w in doc["paths"][0]["weakest"]:
        agree = w["device"] != "sm_120"
        w["arch_list"] = {
            "normal": {"claimed": "native " + w["device"], "agree": agree, "text": None if agree else text},
            "force_ptx_jit": {"claimed": "no image", "agree": True, "text": None},
        }
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps(doc))
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    assert run("render", tmp_path / "s", "--probe", probe, "--out", tmp_path / "out")[0] == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.count("disagrees with the binaries") == 1
    assert f"arch list 'sm_86 sm_120' disagrees with the binaries – {text}" in summary


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "not JSON"),
        ('{"schema": "modebench-probe/1"}', "not a modebench-probe-binary/1 document (schema 'modebench-probe/1'"),
        ('{"schema": "modebench-probe-binary/1", "devices": [], "paths": [{"path": "x"}]}', "paths[0].kind is not a string"),
        ("[1]", "not a modebench-probe-binary/1 document"),
    ],
)
def test_render_refuses_a_bad_probe_file_before_writing(tmp_path, run, text, why):
    synth.multimode_set(str(tmp_path / "s"), processes=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("earlier report")
    bad = tmp_path / "probe.json"
    bad.write_text(text)
    code, _, err = run("render", tmp_path / "s", "--probe", bad, "--out", out)
    assert code == 2 and err.count("\n") == 1 and str(bad) in err and why in err
    assert (out / "index.html").read_text() == "earlier report"
    code, _, err = run("render", tmp_path / "s", "--probe", tmp_path / "missing.json", "--out", out)
    assert code == 2 and "cannot read" in err


def test_render_shows_the_cost_model_and_what_the_policy_would_do(tmp_path, run):
    synth.costmodel_set(str(tmp_path / "s"), processes=3, noise=0.0)
    code, _, _ = run("render", tmp_path / "s", "--out", tmp_path / "out")
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert code == 0
    assert "| linear | gpu | cublas | 4 | 0% | 0% | mobilenetv2_head 0%, square_1024 0%, xtts_mlp_down 0%, xtts_qkv 0% | 0% |" in summary
    # held-out crossover of cpu and gpu on square_1024 (true: ~4.7), next to the measured one
    row = next(line for line in summary.splitlines() if line.startswith("| linear/square_1024 | cpu/onednn vs gpu/cublas |"))
    assert "| 4.7" in row or "| 4.6" in row or "| 4.8" in row
    assert "| linear | BERT-base 768→768 | not measured | 1 | cpu/onednn | cost model (held-out error 0%) |" in summary
    assert "| linear | BERT-base 768→768 | not measured | 64 | gpu/cublas | cost model (held-out error 0%) |" in summary
    assert "| linear | MobileNetV2 head 1280→1000 | mobilenetv2_head: 1..4 cpu/onednn; 5..inf gpu/cublas | 64 | gpu/cublas | measured (confidence 1.00) |" in summary


def test_impls_excluded_for_one_reason_share_a_sentence():
    from modebench_report.verdict import exclusion_sentences

    no_driver = "unavailable: no CUDA driver (libcuda not loadable)"
    excluded = [{"mode": m, "impl": i, "status": "unavailable", "reason": no_driver}
                for m, i in (("gpu", "cublas"), ("ptx-jit", "cublas"), ("hybrid", "cached"))]
    excluded.append({"mode": "gpu", "impl": "cublas_tf32", "status": "failed", "reason": "failed: no_kernel_image: x"})
    sentences = exclusion_sentences([{"excluded": excluded}])
    assert sentences == [
        "gpu/cublas_tf32: do not use: fails here (failed: no_kernel_image: x).",
        f"hybrid/cached, gpu/cublas, ptx-jit/cublas: not available here ({no_driver}).",
    ], sentences


def test_limits_show_the_isa_and_the_theoretical_peak_beside_the_measured_one(tmp_path, run):
    parts = dict(isa="avx512", theoretical_peak_gflops=160, cores=2, fma_pipes=2, lanes=16, clock_ghz=1.25)
    code, page, _ = render_with_limits(tmp_path, run, quiet=True, **parts)
    assert code == 0
    assert "157 (avx512; theoretical 160 GFLOP/s = 2 cores x 2 FMA pipes x 16 lanes x 2 flops x 1.25 GHz; " in page
    assert "measured 98 % of it)" in page
    # where the ISA's clock was measured beside the scalar one, both are said
    code, page, _ = render_with_limits(tmp_path, run, quiet=True, scalar_clock_ghz=1.4, **parts)
    assert code == 0 and "x 1.25 GHz (the clock while its FMAs run; scalar work 1.40 GHz); measured 98 % " in page
    code, _, err = render_with_limits(tmp_path, run, scalar_clock_ghz=0, **parts)
    assert code == 2 and "'scalar_clock_ghz'" in err


def test_limits_with_a_bad_theoretical_peak_or_isa_are_bad_input(tmp_path, run):
    code, _, err = render_with_limits(tmp_path, run, theoretical_peak_gflops=-1)
    assert code == 2 and "'theoretical_peak_gflops'" in err
    code, _, err = render_with_limits(tmp_path, run, isa="<script>")
    assert code == 2 and "'isa'" in err


# ---------------------------------------------------------------- render --profile
def test_render_shows_a_models_layer_table_and_predicted_against_measured(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=3)
    prof = tmp_path / "xtts.profile.json"
    prof.write_text(json.dumps(synth.profile_doc()))
    assert run("render", tmp_path / "s", "--profile", prof, "--out", tmp_path / "out")[0] == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Models: a placement plan per layer (modebench_policy.profile)" in summary
    assert "| batch | plan predicted (ms) | all cpu predicted (ms) | measured, patched (ms) | unpatched (ms) | " \
           "predicted vs measured |" in summary
    assert "| 8 | 29 (rest 1) | 29 | 31.9 | 30.5 | -9 % |" in summary
    assert "#### xtts_like, batch 8: layers" in summary
    # per mode, the impls fastest first; hybrid's status where it did not run; the placement
    assert ("| 0 | blocks.0.qkv | linear | in_features=1024,out_features=3072 | 256 | onednn 9.6, torch 12 | "
            "unavailable | cpu/torch |") in summary
    assert "| 2 | vocoder.conv | conv1d | in_channels=512,out_channels=256 |  | – | – | in the rest: not measurable " \
           "by this build" in summary
    assert "- no device mode ran here (hybrid unavailable): the plan is cpu only" in summary


@pytest.mark.parametrize(
    "change,why",
    [
        (lambda d: d.update(schema="modebench-profile/0"), "not a modebench-profile/1 document (schema"),
        (lambda d: d["batches"][0].pop("rest_ms"), "batches[0].rest_ms is missing or of the wrong type"),
        (lambda d: d["batches"][1]["layers"][0].update(index=7), "batches[1].layers[0].index = 7 names no layer"),
        (lambda d: d["layers"][0].pop("shape"), "layers[0].shape is missing"),
    ],
)
def test_render_refuses_a_bad_profile_file_before_writing(tmp_path, run, change, why):
    synth.multimode_set(str(tmp_path / "s"), processes=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("earlier report")
    doc = synth.profile_doc()
    change(doc)
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(doc))
    code, _, err = run("render", tmp_path / "s", "--profile", bad, "--out", out)
    assert code == 2 and why in err and err.count("\n") == 1, err
    assert (out / "index.html").read_text() == "earlier report"
