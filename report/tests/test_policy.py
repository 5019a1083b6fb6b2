import json
import os

import synth


def test_policy_ranges_safe_side_and_exclusions(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=8, noise=0.03)
    out = tmp_path / "policy.json"
    code, text, _ = run("policy", tmp_path / "s", "--out", out)
    assert code == 0
    doc = json.load(open(out))
    assert doc["schema"] == "modebench-policy/2"
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
    assert {e["status"] for e in rule["excluded"]} == {"wrong", "failed", "unavailable"}
    assert "cpu/onednn" in text and "cost model linear cpu/onednn: no held-out check (1 case)" in text


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


def busy_set(folder, processes=4, busy_message="busy: CUDA device 0 is in use by another process (compute mode EXCLUSIVE_PROCESS)"):
    """cpu/onednn ok everywhere; gpu/cublas busy in every process; ptx-jit/cublas not run."""
    for p in range(processes):
        bench = []
        for b in (1, 8, 64):
            bench += synth.ok_entry(synth.name("linear", "sq", "cpu", "onednn", b), 1e-4 * b)
            bench += synth.error_entry(synth.name("linear", "sq", "gpu", "cublas", b), busy_message)
            bench += synth.error_entry(synth.name("linear", "sq", "ptx-jit", "cublas", b),
                                       "not_run: the device was lost after linear/sq/mode:gpu/impl:x/batch:8 (failed: timeout: t)")
        synth.write(os.path.join(folder, f"p{p}.json"), bench)


def test_busy_and_not_run_are_not_measured_never_failed(tmp_path, run):
    busy_set(str(tmp_path / "s"))
    code, _, _ = run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    (rule,) = json.load(open(tmp_path / "p.json"))["rules"]
    excluded = {(e["mode"], e["impl"]): e["reason"] for e in rule["excluded"]}
    assert code == 0
    assert excluded[("gpu", "cublas")].startswith("not measured: busy: CUDA device 0 is in use")
    assert excluded[("ptx-jit", "cublas")].startswith("not measured: not_run: the device was lost after")
    assert [(r["mode"], r["impl"]) for r in rule["ranges"]] == [("cpu", "onednn")]


def test_a_busy_process_leaves_the_others_measurements_usable(tmp_path, run):
    # gpu/cublas ran (fast) in three processes and was refused in a fourth: still chosen.
    for p in range(4):
        bench = []
        for b in (1, 8, 64):
            bench += synth.ok_entry(synth.name("linear", "sq", "cpu", "onednn", b), 1e-3 * b)
            gpu = synth.name("linear", "sq", "gpu", "cublas", b)
            bench += synth.error_entry(gpu, "busy: in use") if p == 3 else synth.ok_entry(gpu, 1e-5)
        synth.write(str(tmp_path / "s" / f"p{p}.json"), bench)
    code, _, _ = run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    (rule,) = json.load(open(tmp_path / "p.json"))["rules"]
    assert code == 0 and rule["excluded"] == []
    assert [(r["mode"], r["impl"]) for r in rule["ranges"]] == [("gpu", "cublas")]


def test_one_process_makes_every_range_provisional_with_no_confidence(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=1, noise=0.03)
    code, text, _ = run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    (rule,) = json.load(open(tmp_path / "p.json"))["rules"]
    assert code == 0 and len(rule["ranges"]) == 2
    for r in rule["ranges"]:
        assert r["provisional"] is True and r["processes"] == 1 and r["confidence"] is None
    assert "provisional: not enough runs (n = 1)" in text


def test_enough_processes_give_confidence_and_no_provisional_mark(tmp_path, run):
    synth.multimode_set(str(tmp_path / "s"), processes=3, noise=0.03)
    run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    (rule,) = json.load(open(tmp_path / "p.json"))["rules"]
    assert all(r["provisional"] is False and r["processes"] == 3 and 0 <= r["confidence"] <= 1 for r in rule["ranges"])


def two_impl_set(folder, times_a, times_b, processes=3, spread=0.04):
    """cpu/a and cpu/b of linear/sq at the batches of times_a (seconds per call, medians), each
    process off by -spread, 0, +spread (so the ranges over processes are +-spread wide)."""
    batches = sorted(times_a)
    for p in range(processes):
        f = 1.0 + spread * (p - (processes - 1) / 2) / max((processes - 1) / 2, 1)
        bench = []
        for b in batches:
            bench += synth.ok_entry(synth.name("linear", "sq", "cpu", "a", b), times_a[b] * f)
            bench += synth.ok_entry(synth.name("linear", "sq", "cpu", "b", b), times_b[b] * f)
        synth.write(os.path.join(folder, f"p{p}.json"), bench)


def policy_ranges(tmp_path, run, times_a, times_b, **kw):
    two_impl_set(str(tmp_path / "s"), times_a, times_b, **kw)
    code, _, err = run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    assert code == 0, err
    (rule,) = json.load(open(tmp_path / "p.json"))["rules"]
    return rule["ranges"]


def test_impls_within_noise_do_not_make_the_policy_flip(tmp_path, run):
    # a and b alternate as the faster by 2 %, inside each other's +-4 % process range: a tie
    # everywhere, so one choice for every batch (not four ranges).
    batches = (1, 2, 4, 8, 16)
    a = {b: 1e-4 * b * (1.0 if i % 2 else 1.02) for i, b in enumerate(batches)}
    b_ = {b: 1e-4 * b * (1.02 if i % 2 else 1.0) for i, b in enumerate(batches)}
    ranges = policy_ranges(tmp_path, run, a, b_)
    assert len(ranges) == 1 and ranges[0]["batch_min"] == 1 and ranges[0]["batch_max"] is None
    assert min(u["speedup"] for u in ranges[0]["runner_up"]) < 1.0  # slower than the other somewhere, within noise
    assert ranges[0]["confidence"] is not None and ranges[0]["confidence"] > 0.5


def test_a_clear_lead_is_never_a_tie_and_the_ranges_say_by_how_much(tmp_path, run):
    # b 1.6x faster at small batches, a 1.6x faster at large ones: two ranges, each with its
    # time and its lead over the other.
    batches = (1, 2, 4, 8, 16, 32)
    a = {b: 1e-4 * b for b in batches}
    b_ = {b: 1e-4 * b * (1 / 1.6 if b <= 4 else 1.6) for b in batches}
    ranges = policy_ranges(tmp_path, run, a, b_)
    assert [r["impl"] for r in ranges] == ["b", "a"]
    assert {u["impl"] for u in ranges[0]["runner_up"]} == {"a"} and {u["impl"] for u in ranges[1]["runner_up"]} == {"b"}
    assert all(abs(u["speedup"] - 1.6) < 0.01 for r in ranges for u in r["runner_up"])
    assert abs(ranges[0]["median_ms"]["1"] - 0.1 / 1.6) < 1e-6 and abs(ranges[1]["median_ms"]["32"] - 3.2) < 1e-6


def test_a_lead_larger_than_the_tie_ratio_is_not_a_tie_even_with_wide_ranges(tmp_path, run):
    # +-30 % process ranges overlap, but a 1.25x lead is more than noise may hide.
    batches = (1, 2, 4, 8)
    a = {b: 1e-4 * b for b in batches}
    b_ = {b: 1e-4 * b * (1.25 if i % 2 else 1 / 1.25) for i, b in enumerate(batches)}
    ranges = policy_ranges(tmp_path, run, a, b_, spread=0.3)
    assert [r["impl"] for r in ranges] == ["b", "a", "b", "a"]


def test_the_verdict_gives_the_time_and_the_margin(tmp_path, run):
    batches = (1, 2, 4, 8, 16, 32)
    a = {b: 1e-4 * b for b in batches}
    b_ = {b: 1e-4 * b * (1 / 1.6 if b <= 4 else 1.6) for b in batches}
    two_impl_set(str(tmp_path / "s"), a, b_)
    code, _, err = run("render", tmp_path / "s", "--out", tmp_path / "out")
    assert code == 0, err
    summary = open(tmp_path / "out" / "summary.md").read()
    assert "cpu/b at batch 1–" in summary and ": 0.0625–0.25 ms, 1.6× faster than cpu/a (confidence " in summary


def test_an_adhoc_shape_is_a_measured_rule_the_readers_find_by_shape(tmp_path, run):
    """A case of `modebench run --shape` is named by its shape (harness/registry.cpp): the policy
    stores that shape, so a reader asked for it answers `measured`, not the cost model."""
    from modebench_report import cases, costmodel  # noqa: F401 (puts this checkout's reader first)
    from modebench_policy import Policy

    case = "in_features=777,out_features=333"
    for p in range(3):
        bench = []
        for b in (1, 8):
            bench += synth.ok_entry(synth.name("linear", case, "cpu", "onednn", b), 1e-4 * b)
            bench += synth.ok_entry(synth.name("linear", case, "cpu", "openblas", b), 2e-4 * b)
            bench += synth.ok_entry(synth.name("linear", "square_1024", "cpu", "onednn", b), 3e-4 * b)
        synth.write(os.path.join(tmp_path, "s", f"p{p}.json"), bench)
    code, _, err = run("policy", tmp_path / "s", "--out", tmp_path / "p.json")
    assert code == 0, err
    rule = next(r for r in json.load(open(tmp_path / "p.json"))["rules"] if r["case"] == case)
    assert rule["shape"] == {"in_features": 777, "out_features": 333}
    d = Policy.load(str(tmp_path / "p.json"), allow_other_host=True).choose(
        "linear", {"out_features": 333, "in_features": 777}, 8)
    assert (d.source, d.mode, d.impl) == ("measured", "cpu", "onednn"), d.reason
    # Written any other way, the name is no shape: found by name only, as before.
    assert cases.adhoc_shape("linear", "in_features=777") is None
    assert cases.adhoc_shape("linear", "in_features=7x7,out_features=3") is None
    assert cases.adhoc_shape("knn", "uniform") is None
    assert cases.shape_of("conv2d", "in_channels=8,out_channels=8,height=12,width=12,kernel_h=3,kernel_w=3") == {
        "in_channels": 8, "out_channels": 8, "height": 12, "width": 12, "kernel_h": 3, "kernel_w": 3}
