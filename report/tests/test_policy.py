import json

import synth


def test_policy_ranges_safe_side_and_exclusions(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=8, noise=0.03)
    out = tmp_path / "policy.json"
    code, text, _ = run("policy", tmp_path / "s", "--out", out)
    assert code == 0
    doc = json.load(open(out))
    assert doc["schema"] == "modebench-policy/1"
    assert doc["host"]["device_name"] == "Synthetic GPU" and doc["host"]["cuda_toolkit"] == "13.0"
    (rule,) = doc["rules"]
    assert (rule["op"], rule["case"]) == ("linear", "square_1024")
    ranges = rule["ranges"]
    assert [(r["mode"], r["impl"]) for r in ranges] == [("cpu", "onednn"), ("gpu", "cublas")]
    # The true crossing is at 16; gpu is the riskier mode, so the switch sits at or above it.
    assert ranges[0]["batch_min"] == 1 and 16 <= ranges[0]["batch_max"] < 32
    assert ranges[1]["batch_min"] == ranges[0]["batch_max"] + 1 and ranges[1]["batch_max"] is None
    assert all(0 <= r["confidence"] <= 1 for r in ranges)
    excluded = {(e["mode"], e["impl"]): e["reason"] for e in rule["excluded"]}
    # hybrid/cached was the fastest everywhere it ran, but wrong once: never chosen.
    assert excluded[("hybrid", "cached")].startswith("wrong")
    assert excluded[("ptx-jit", "cublas")].startswith("failed:no_kernel_image")
    assert excluded[("gpu", "tf32")].startswith("unavailable")
    assert "cpu/onednn" in text


def test_policy_refuses_mixed_hosts(tmp_path, run):
    synth.multimode_set(str(tmp_path / "a"), processes=2, toolkit="12.8")
    synth.multimode_set(str(tmp_path / "b"), processes=2, toolkit="13.0")
    code, _, err = run("policy", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "p.json")
    assert code == 2 and "--host" in err
    host = "Synthetic CPU | OpenBLAS 0.3.21 Zen | Synthetic GPU | 580.65.06 | toolkit 12.8"
    code, _, _ = run("policy", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "p.json", "--host", host)
    assert code == 0 and json.load(open(tmp_path / "p.json"))["host"]["cuda_toolkit"] == "12.8"


def test_policy_on_real_cpu_runs(aa_sets, run, tmp_path):
    a, _ = aa_sets
    code, _, _ = run("policy", a, "--out", tmp_path / "p.json")
    doc = json.load(open(tmp_path / "p.json"))
    assert code == 0
    (rule,) = doc["rules"]
    assert rule["excluded"] == [] and rule["ranges"][0]["batch_min"] == 1
    assert {r["mode"] for r in rule["ranges"]} == {"cpu"}
