"""ci/nightly.sh --torch: torch builds as the variants, with the fake toolchain (the script's own
logic; the real two-environment run is a development-time run, README). One environment twice
(an A/A, as the same toolkit twice is), one that is no Python environment."""

import json
import os
import stat

from nightly_helpers import run_nightly


def fake_env(tmp_path, version):
    """A Python environment whose python3 says it has torch `version`."""
    env = tmp_path / f"venv-{version}"
    (env / "bin").mkdir(parents=True)
    py = env / "bin" / "python3"
    py.write_text(f"#!/bin/sh\necho {version}\n")
    py.chmod(py.stat().st_mode | stat.S_IEXEC)
    return env


def test_torch_needs_a_value_and_one_of_the_variant_kinds():
    assert "--torch needs a value" in run_nightly(["--torch"]).stderr
    r = run_nightly(["--processes", "2"])
    assert r.returncode == 2 and "or --torch" in r.stderr


def test_torch_builds_are_the_variants_and_only_the_torch_impls_run(tmp_path):
    env = fake_env(tmp_path, "2.99.0+cu999")
    out = tmp_path / "out"
    r = run_nightly(["--torch", f"{env} {env} {tmp_path / 'no-such-env'}", "--processes", "2", "--out", out,
                     "--baseline", tmp_path / "baselines", "--no-report"],
                    fake=True, env={"FAKE_MODEBENCH_TORCH": "1"}, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = (out / "summary.md").read_text()
    assert "Torch builds on modebench built with default-toolkit" in summary
    assert "- torch-2.99.0+cu999: built" in summary and "- torch-2.99.0+cu999.2: built" in summary
    assert "torch-unknown-no-such-env: build FAILED" in summary
    assert "Torch impls run: torch" in summary
    # modebench once; each variant's folder holds a copy of it beside its own modebench-torch build.
    base = (out / "build-base-default-toolkit" / "modebench").read_bytes()
    for folder in ("build-1-torch-2.99.0+cu999", "build-2-torch-2.99.0+cu999.2"):
        assert (out / folder / "modebench").read_bytes() == base
        assert os.access(out / folder / "modebench", os.X_OK)
    for variant in ("torch-2.99.0+cu999", "torch-2.99.0+cu999.2"):
        runs = sorted((out / variant).glob("process-*.json"))
        assert [p.name for p in runs] == ["process-1.json", "process-2.json"]
        names = {b["name"] for b in json.loads(runs[0].read_text())["benchmarks"]}
        assert names == {"linear/sq/mode:cpu/impl:torch/batch:1", "linear/sq/mode:cpu/impl:torch/batch:8"}
    assert "torch-2.99.0+cu999-vs-torch-2.99.0+cu999.2: no regression" in summary


def test_a_selection_without_torch_impls_has_nothing_to_compare(tmp_path):
    env = fake_env(tmp_path, "2.99.0")
    out = tmp_path / "out"
    r = run_nightly(["--torch", str(env), "--processes", "1", "--out", out, "--no-report"], fake=True, timeout=600)
    assert r.returncode == 1
    assert "The selection has no torch impl" in (out / "summary.md").read_text()
