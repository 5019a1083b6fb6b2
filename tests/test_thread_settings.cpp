// No entry leaves the process's thread settings changed: every entry runs, and is labelled,
// at the thread count the run set (OpenMP's, which oneDNN's OpenMP runtime and OpenBLAS's
// OpenMP build follow; OpenBLAS's own count only ever follows it).
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "harness/runner.hpp"
#include "harness/subprocess.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

int team_size() {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}

// Every host impl of each op, in one process, after a count OpenBLAS does not hold: an
// entry that copies OpenBLAS's count into OpenMP (im2col's serial-BLAS guard did) shows.
// im2col comes before any BLAS call outside a parallel region (which would bring
// OpenBLAS's count to OpenMP's).
TEST(ThreadSettings, NoEntryChangesTheThreadSettingsOfTheNext) {
  const int target = std::max(openblas_get_num_threads(), omp_get_max_threads()) + 1;
  ScopedOmpThreads run_at(target);
  const int dynamic = omp_get_dynamic();
  int blas = openblas_get_num_threads();
  int seen = 0;
  for (auto [id, batch] : {std::pair<const char*, int64_t>{"conv2d/mbv2_pointwise", 1},
                           {"conv2d/mbv2_stem", 1},
                           {"conv2d/mbv2_depthwise", 1},
                           {"conv1d/xtts_hifigan_pre", 1},
                           {"conv1d/xtts_hifigan_s3_k3_d3", 1},
                           {"linear/mobilenetv2_head", 1},
                           {"ssim/nerf_800", 1},
                           {"knn/uniform", 10'000}}) {
    const OpCase& c = registered_case(id);
    for (const std::string& impl : own_impl_names(c, Placement::host)) {
      const std::string at = std::string(id) + " " + impl;
      PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{});
      ASSERT_TRUE(e.status().is_ok()) << at << ": " << e.message();
      for (int i = 0; i < 2; ++i) EXPECT_GE(e.timed_call_ms(), 0.0) << at;
      EXPECT_TRUE(e.check_last_call()) << at << ": " << e.message();
      EXPECT_EQ(omp_get_max_threads(), target) << at;
      EXPECT_EQ(team_size(), target) << at;
      EXPECT_EQ(omp_get_dynamic(), dynamic) << at;
      EXPECT_NE(e.label().find("threads=" + std::to_string(target) + ";"), std::string::npos) << at << e.label();
      const int now = openblas_get_num_threads();
      EXPECT_TRUE(now == blas || now == target) << at << ": OpenBLAS's count " << blas << " -> " << now;
      blas = now;
      ++seen;
    }
  }
  EXPECT_EQ(seen, 18);
}

// The same through `modebench run` at OMP_NUM_THREADS above the core count (OpenBLAS caps
// its own count at the cores, so a leak is a different count): every entry of the run,
// im2col and those after it included, is labelled with it.
TEST(ThreadSettings, EveryEntryOfARunIsLabelledWithTheThreadCountTheRunSet) {
  const int threads = static_cast<int>(std::thread::hardware_concurrency()) + 1;
  const std::string tmp = make_temp_dir("modebench-test-threads-");
  const std::string out = tmp + "/run.json";
  const CmdResult r = run_modebench(
      "run --ops conv2d,conv1d --modes cpu --cases mbv2_pointwise,mbv2_stem,xtts_hifigan_pre "
      "--impls onednn,onednn_nchw,im2col "
      "--batches 1 --benchmark_min_time=0.001 --out '" +
          out + "'",
      tmp, "OMP_NUM_THREADS=" + std::to_string(threads));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  ASSERT_TRUE(in) << r.err;
  const nlohmann::json j = nlohmann::json::parse(in);
  std::filesystem::remove_all(tmp);
  int entries = 0;
  for (const auto& b : j["benchmarks"]) {
    const std::string name = b["name"], label = b.value("label", "");
    EXPECT_NE(label.find("threads=" + std::to_string(threads) + ";"), std::string::npos) << name << ": " << label;
    ++entries;
  }
  EXPECT_EQ(entries, 8);
}

}  // namespace
}  // namespace mb
