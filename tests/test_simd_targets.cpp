// The host kernels' SIMD dispatch (docs/ops.md, "SIMD targets"): every target this CPU has can be
// forced, forcing one changes what runs, and the label of each entry of our dispatched kernels
// names the target that ran (isa=).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "harness/runner.hpp"
#include "harness/subprocess.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/knn.hpp"
#include "kernels/cpu/simd.hpp"
#include "kernels/cpu/ssim.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

// The portable target is compiled on every architecture (HWY_COMPILE_ALL_ATTAINABLE), last:
// it is what a CPU without any of the vector targets runs, and what the tests force last.
TEST(SimdTargets, BestFirstAndThePortableOneLast) {
  const std::vector<int64_t> targets = cpu::simd_targets();
  ASSERT_FALSE(targets.empty());
  // EMU128, or with GCC before 12.3 (Debian 12's 12.2), where Highway 1.0.3 takes EMU128 for broken,
  // its one-lane HWY_SCALAR.
  const std::string last = cpu::isa_name(targets.back());
  EXPECT_TRUE(last == "emu128" || last == "scalar") << last;
  std::set<std::string> names;
  for (size_t i = 0; i < targets.size(); ++i) {
    names.insert(cpu::isa_name(targets[i]));
    if (i > 0) {
      EXPECT_LT(targets[i - 1], targets[i]) << "Highway's order: a lower bit is a better target";
    }
  }
  EXPECT_EQ(names.size(), targets.size());
  EXPECT_EQ(names.count("other"), 0u);
}

// Each dispatched kernel's entry, run as modebench runs it (validated against cpu_ref), on each
// target in turn: right every time, and its label's isa= is the forced target, so it changes from
// one target to the next. Also fails when forcing stops reaching a kernel's dispatch.
TEST(SimdTargets, ForcingEachTargetChangesWhatRunsAndTheLabelSaysIt) {
  struct Kernel {
    const char* validation_shape;
    const char* impl;
    int64_t batch;
    std::string (*isa)();
  };
  const Kernel kernels[] = {{"ssim/v_7x13", "fused", 3, &cpu::SsimFused::isa},
                            {"knn/v_uniform", "grid", 70, &cpu::KnnGrid::isa},
                            {"conv2d/v_dw_3x3_9x29", "depthwise", 3, &cpu::conv2d_depthwise_isa}};
  std::set<std::string> seen;
  at_each_simd_target([&](const std::string& isa) {
    seen.insert(isa);
    for (const Kernel& k : kernels) {
      const PreparedEntry e(Entry{&validation_case(k.validation_shape), Mode::cpu, k.impl, k.batch},
                            RunConfig{.warmup_calls = 0});
      EXPECT_TRUE(e.status().is_ok()) << k.validation_shape << ": " << e.message();
      EXPECT_EQ(label_value(e.label(), "isa"), isa) << k.validation_shape << ": " << e.label();
      EXPECT_EQ(k.isa(), isa) << k.validation_shape;
    }
  });
  EXPECT_EQ(seen.size(), cpu::simd_targets().size());
  // Back to the CPU's best after the scope.
  EXPECT_EQ(cpu::SsimFused::isa(), cpu::isa_name(cpu::simd_targets().front()));
}

// End to end: MODEBENCH_SIMD names the target the cpu entries run (in modebench's worker child),
// and a name that is none of this CPU's targets is bad input, before any work.
TEST(SimdTargets, ModebenchSimdPicksTheTargetOfARunAndRejectsOthers) {
  const std::string tmp = make_temp_dir("modebench-test-simd-");
  const std::string portable = cpu::isa_name(cpu::simd_targets().back());
  const std::string out = tmp + "/run.json";
  const CmdResult r = run_modebench(
      "run --ops ssim --cases nerf_800 --modes cpu --impls fused --batches 1 "
      "--benchmark_min_time=0.001 --out '" +
          out + "'",
      tmp, "MODEBENCH_SIMD=" + portable);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  ASSERT_TRUE(in) << r.err;
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["benchmarks"].size(), 1u);
  EXPECT_EQ(label_value(j["benchmarks"][0].value("label", ""), "isa"), portable) << j["benchmarks"][0].dump();

  const CmdResult bad = run_modebench("list --ops ssim", tmp, "MODEBENCH_SIMD=avx1024");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("MODEBENCH_SIMD must be one of this CPU's SIMD targets"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace mb
