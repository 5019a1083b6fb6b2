import json
import os

import synth

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
    assert "title='square_1024 batch 1: failed: no_kernel_image: CUBLAS_STATUS_ARCH_MISMATCH" in page
    assert ">wrong</td>" in page and ">unavailable</td>" in page
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
