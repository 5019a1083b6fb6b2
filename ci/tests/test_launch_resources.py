"""ci/launch_resources.py: cuobjdump's output parsed, and every kernel x architecture checked
against the block size it is launched with. The captured text (launch_resources/) is
cuobjdump 13.5's output for ssim.cu.o of libmb_cuda_kernels.a built with CUDA 13.0, cut to
sm_75 and sm_90 (the -elf dump to its symbol table and launch bounds); the violations are
synthetic."""

import json
import sys

import pytest

from nightly_helpers import ROOT

sys.path.insert(0, str(ROOT / "ci"))
import launch_resources as lr  # noqa: E402

DATA = ROOT / "ci" / "tests" / "launch_resources"
RESOURCE_USAGE = (DATA / "ssim.resource-usage.txt").read_text()
ELF = (DATA / "ssim.elf.txt").read_text()
SSIM_TABLE = {
    "kernels": {
        "multiply_k": {"threads": 256},
        "ssim_fused_k": {"threads": 256, "launch_bounds": 256},
        "ssim_map_k": {"threads": 256, "launch_bounds": 256},
        "ssim_mean_k": {"threads": 1024, "launch_bounds": 1024},
    },
    "library_kernels": {"cub": "CUB picks the block size"},
}
ANON = "_ZN2mb4cuda39_GLOBAL__N__f3fd50ca_7_ssim_cu_9b2f2745"


def captured():
    usages = lr.parse_resource_usage(RESOURCE_USAGE)
    lr.apply_elf_dump(usages, ELF)
    return usages


def usage(name="big_k", regs=32, shared=0, arch="sm_80", max_threads=None, stack=0, local=0):
    mangled = f"{ANON}{len(name)}{name}EPf"
    return lr.Usage("x.cu.o", arch, int(arch[3:]), mangled, regs, stack, shared, local, max_threads)


def table(**kernels):
    return {"kernels": kernels, "library_kernels": {"cub": "CUB picks the block size"}}


def test_resource_usage_is_read_per_object_arch_and_kernel():
    u = lr.parse_resource_usage(RESOURCE_USAGE)
    assert [(x.arch, lr.split_mangled(x.mangled)[1]) for x in u] == [
        (arch, k) for arch in ("sm_75", "sm_90") for k in ("ssim_mean_k", "ssim_map_k", "multiply_k", "ssim_fused_k")]
    fused75 = u[3]
    assert (fused75.member, fused75.cc, fused75.regs, fused75.stack, fused75.shared, fused75.local) == (
        "ssim.cu.o", 75, 64, 8, 13968, 0)
    assert (u[5].regs, u[5].shared) == (40, 1056)  # sm_90 ssim_map_k: 32 B of its own + the driver's 1 KiB


def test_the_elf_dump_gives_launch_bounds_and_kernels_not_device_functions():
    bounds, entries = lr.parse_elf_dump(ELF)
    mean, multiply = f"{ANON}11ssim_mean_kEPKfllPf", f"{ANON}10multiply_kEPKfS3_Pfl"
    assert bounds[("ssim.cu.o", "sm_75", mean)] == 1024
    assert ("ssim.cu.o", "sm_75", multiply) not in bounds  # no __launch_bounds__ (its MAXREG_COUNT 0xff is not one)
    assert ("ssim.cu.o", "sm_90", multiply) in entries
    assert not any(name.startswith("$__internal") for _, _, name in entries)
    u = captured()
    assert [x.max_threads for x in u if x.arch == "sm_75"] == [1024, 256, None, 256]
    assert all(x.entry for x in u)


@pytest.mark.parametrize("mangled,expected,name", [
    (f"{ANON}12ssim_fused_kEPKfS3_PfS4_lll", ["mb", "cuda", "_GLOBAL__N__f3fd50ca_7_ssim_cu_9b2f2745"], "ssim_fused_k"),
    # the per-file hash of the anonymous namespace ends in a digit, right before the name's length
    ("_ZN2mb4cuda38_GLOBAL__N__62b6aebd_6_knn_cu_79c33d3718knn_chunk_finish_kEPKNS_5Top3TIfEElPf",
     ["mb", "cuda", "_GLOBAL__N__62b6aebd_6_knn_cu_79c33d37"], "knn_chunk_finish_k"),
    ("_ZN3cub40CUB_300001_SM_750_800_900_1000_1100_12006detail11EmptyKernelIvEEvv",
     ["cub", "CUB_300001_SM_750_800_900_1000_1100_1200", "detail"], "EmptyKernel"),
    ("_Z8global_kPfi", [], "global_k"),
    ("_Z10template_kIiEvPT_", [], "template_k"),
    ("plain_c_kernel", [], "plain_c_kernel"),
])
def test_the_source_name_is_found_in_the_mangled_name(mangled, expected, name):
    assert lr.split_mangled(mangled) == (expected, name)


def test_registers_are_counted_per_warp_as_the_hardware_does():
    # cuda_occupancy.h: regs x 32 rounded up to 256 per warp, warps rounded up to 4 sub-partitions
    assert lr.block_registers(64, 1024, 80) == 65536
    assert lr.block_registers(65, 1024, 80) == 73728  # 65 x 32 = 2080 -> 2304 per warp
    assert lr.block_registers(255, 32, 90) == 4 * 8192  # one warp takes a whole warp per sub-partition
    assert lr.block_registers(255, 32, 60) == 2 * 8192  # sm_60: 2 sub-partitions
    assert lr.max_block(64, 80) == 1024
    assert lr.max_block(65, 80) == 896
    assert lr.max_block(128, 80) == 512
    assert lr.max_block(65, 80, cap=256) == 256


def test_the_captured_ssim_kernels_fit():
    r = lr.check(captured(), SSIM_TABLE, bounds_known=True)
    assert r.violations == []
    assert len(r.lines) == 8
    mean75 = next(line for line in r.lines if line.startswith("sm_75 ssim_mean_k"))
    assert "threads 1024" in mean75 and "REG  34 -> 40960/65536" in mean75 and "SHARED  8192/49152" in mean75
    # the driver's 1 KiB in cuobjdump's sm_90 SHARED is not the kernel's
    assert "SHARED    32/49152" in next(line for line in r.lines if line.startswith("sm_90 ssim_map_k"))
    assert any("sm_75 ssim_fused_k" in n and "8 B stack frame" in n for n in r.notes)


def test_128_registers_times_1024_threads_is_refused():
    r = lr.check([usage(regs=128, max_threads=1024)], table(big_k={"threads": 1024, "launch_bounds": 1024}), True)
    assert r.violations == [
        "sm_80 big_k (x.cu.o): 128 registers x 1024 threads need 131072 registers (allocated per warp in units "
        "of 256), more than the 65536 a block may have; at most 512 threads fit"]


def test_one_register_too_many_is_caught_by_the_per_warp_rounding():
    ok = lr.check([usage(regs=64)], table(big_k={"threads": 1024}), True)
    bad = lr.check([usage(regs=65)], table(big_k={"threads": 1024}), True)
    assert ok.violations == []
    assert len(bad.violations) == 1 and "73728 registers" in bad.violations[0]


def test_blocks_over_1024_threads_and_over_the_launch_bounds_are_refused():
    r = lr.check([usage(regs=16, max_threads=256)], table(big_k={"threads": 2048, "launch_bounds": 256}), True)
    assert any("2048 threads, more than its __launch_bounds__(256)" in v for v in r.violations)
    assert any("2048 threads, more than 1024 per block" in v for v in r.violations)


def test_the_table_launch_bounds_must_match_the_binary():
    stale = lr.check([usage(max_threads=128)], table(big_k={"threads": 128, "launch_bounds": 256}), True)
    assert stale.violations == ["sm_80 big_k (x.cu.o): launch_table.json says __launch_bounds__ 256, "
                                "the binary has 128 (update the table)"]
    missing = lr.check([usage(max_threads=256)], table(big_k={"threads": 256}), True)
    assert "says __launch_bounds__ None, the binary has 256" in missing.violations[0]
    # without the -elf dump there is nothing to compare with
    assert lr.check([usage()], table(big_k={"threads": 256, "launch_bounds": 256}), False).violations == []


def test_static_shared_memory_over_48_kib_is_refused_after_the_reserved_kib():
    t = table(big_k={"threads": 256})
    assert lr.check([usage(shared=49152, arch="sm_80")], t, True).violations == []
    assert lr.check([usage(shared=49152 + 1024, arch="sm_90")], t, True).violations == []
    for u in (usage(shared=49153, arch="sm_80"), usage(shared=49153 + 1024, arch="sm_120")):
        (v,) = lr.check([u], t, True).violations
        assert "49153 B of static shared memory, more than the 49152 B" in v


def test_every_kernel_must_be_in_the_table_and_every_table_kernel_in_the_binary():
    r = lr.check([usage("new_k"), usage("new_k", arch="sm_90"), usage("old_k", arch="sm_90")],
                 table(old_k={"threads": 256}), True)
    assert len(r.violations) == 2  # one line per kernel, naming its architectures
    assert r.violations[0].startswith("new_k (x.cu.o) in sm_80, sm_90: kernel not in kernels/cuda/launch_table.json")
    assert r.violations[1] == "old_k is in launch_table.json but not in sm_80 of the binary (stale entry?)"


def test_device_functions_are_not_kernels():
    u = usage("helper", regs=255)
    u.entry = False
    r = lr.check([u, usage()], table(big_k={"threads": 256}), True)
    assert r.violations == [] and len(r.lines) == 1


def test_library_kernels_are_checked_against_their_own_launch_bounds():
    cub = "_ZN3cub40CUB_300001_SM_750_800_900_1000_1100_12006detail10radix_sort29DeviceRadixSortOnesweepKernelIvEEvv"
    fits = lr.Usage("knn.cu.o", "sm_75", 75, cub, 162, 0, 48128, 0, max_threads=256)
    assert lr.check([fits], table(), True).violations == []
    too_many = lr.Usage("knn.cu.o", "sm_75", 75, cub, 162, 0, 0, 0, max_threads=512)
    assert "162 registers x 512 threads" in lr.check([too_many], table(), True).violations[0]
    unbounded = lr.Usage("knn.cu.o", "sm_75", 75, cub, 80, 0, 0, 0)
    r = lr.check([unbounded], table(), True)
    assert r.violations == [] and "fit up to 768 threads" in r.notes[0]


def test_an_architecture_without_known_limits_is_an_error():
    (v,) = lr.check([usage(arch="sm_130")], table(big_k={"threads": 256}), True).violations
    assert "no per-block limits known for sm_130" in v


def test_the_command_line_on_captured_output(tmp_path, capsys):
    (tmp_path / "ru.txt").write_text(RESOURCE_USAGE)
    (tmp_path / "elf.txt").write_text(ELF)
    (tmp_path / "table.json").write_text(json.dumps(SSIM_TABLE))
    args = ["--resource-usage", str(tmp_path / "ru.txt"), "--elf", str(tmp_path / "elf.txt"),
            "--table", str(tmp_path / "table.json")]
    assert lr.main(args) == 0
    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if line.startswith("sm_")]) == 8
    assert "launch_resources: OK, 8 kernel x architecture launches fit" in out

    shrunk = dict(SSIM_TABLE, kernels=dict(SSIM_TABLE["kernels"], ssim_mean_k={"threads": 1024, "launch_bounds": 512}))
    (tmp_path / "table.json").write_text(json.dumps(shrunk))
    assert lr.main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4  # two architectures x (table bounds != binary, threads > bounds): one line each
    assert all(line.startswith("launch_resources: error: sm_") for line in err)


def test_without_cuobjdump_the_check_is_skipped_except_in_ci(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(lr, "find_cuobjdump", lambda _: None)
    monkeypatch.delenv("CI", raising=False)
    assert lr.main([str(tmp_path / "lib.a")]) == lr.SKIP
    monkeypatch.setenv("CI", "true")
    assert lr.main([str(tmp_path / "lib.a")]) == 2
    assert "CI must install it" in capsys.readouterr().err


def test_the_repository_table_names_every_kernel_of_the_sources():
    # The binary check finds a kernel the table misses only in CUDA builds; this runs everywhere.
    import re
    names = set()
    for cu in (ROOT / "kernels" / "cuda").glob("*.cu"):
        names |= set(re.findall(r"__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(", cu.read_text()))
    table_kernels = lr.load_table(lr.DEFAULT_TABLE)["kernels"]
    assert names and names == set(table_kernels)
