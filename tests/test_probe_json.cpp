// `modebench probe` end to end through the built executable (its rows run in
// child processes of it, so it cannot run inside unit_tests). On a machine
// without a driver (CI, this box): CPU rows ok, device rows unavailable, advice says so.
// The harness's own rows: a provider's (torch) are tested with it (tests/test_torch_run.cpp).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/subprocess.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/own_impls.hpp"

namespace mb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ProbeJson : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(modebench_path())) << modebench_path() << " is not built (build the modebench target)";
    tmp_ = make_temp_dir("modebench-test-probe-");
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  std::string tmp_;
};

TEST_F(ProbeJson, ReportsCpuRowsAndNoDriver) {
  const std::string path = tmp_ + "/probe.json";
  const CmdResult r =
      run_modebench("probe --no-bandwidth --impls " + own_impls_flag(registry()) + " --json '" + path + "'", tmp_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "no JSON written";
  const json j = json::parse(in);

  EXPECT_EQ(j.at("schema"), "modebench-probe/1");
  for (const char* k :
       {"host", "context", "cpu", "cuda", "binary", "libraries", "devices", "matrix", "advice", "summary"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k :
       {"blas", "openblas_coretype_env", "blas_core_overridden", "onednn_version", "onednn_isa", "threads"})
    EXPECT_TRUE(j.at("cpu").contains(k)) << k;
  EXPECT_EQ(j.at("cpu").at("blas").get<std::string>().rfind("OpenBLAS", 0), 0u);
  EXPECT_GT(j.at("cpu").at("threads").get<int>(), 0);
  for (const char* k : {"built_toolkit", "runtime", "driver", "driver_present", "device_modes"})
    EXPECT_TRUE(j.at("cuda").contains(k)) << k;
  for (const char* k : {"cuda_archs", "sass", "ptx", "source", "cuobjdump"})
    EXPECT_TRUE(j.at("binary").contains(k)) << k;
  for (const char* k : {"cublas", "cudnn", "cudnn_max_device_version"}) EXPECT_TRUE(j.at("libraries").contains(k)) << k;

  // Quick matrix: every registered op appears, each in every mode, one case each.
  std::set<std::string> ops, modes, cases;
  int cpu_rows = 0;
  for (const auto& row : j.at("matrix")) {
    for (const char* k : {"op", "case", "mode", "impl", "batch", "status", "message", "ran_in"})
      ASSERT_TRUE(row.contains(k)) << k << " in " << row.dump();
    ops.insert(row["op"]);
    modes.insert(row["mode"]);
    cases.insert(row["op"].get<std::string>() + "/" + row["case"].get<std::string>());
    if (row["mode"] == "cpu") {
      ++cpu_rows;
      EXPECT_EQ(row["status"], "ok") << row.dump();
      EXPECT_EQ(row["ran_in"], "child") << row.dump();
      EXPECT_GT(row.at("first_call_ms").get<double>(), 0.0) << row.dump();
      EXPECT_LE(row.at("max_err").get<double>(), row.at("tolerance").get<double>()) << row.dump();
    }
  }
  EXPECT_GE(cpu_rows, 1);
  EXPECT_TRUE(ops.count("linear"));
  EXPECT_EQ(cases.size(), ops.size()) << "one case per op in the quick matrix";
  EXPECT_EQ(modes, (std::set<std::string>{"cpu", "gpu", "ptx-jit", "hybrid"}));

  bool cpu_works = false;
  for (const auto& a : j.at("advice")) cpu_works |= a.at("id") == "cpu_works";
  EXPECT_TRUE(cpu_works) << j.at("advice").dump(2);

  if (j.at("cuda").at("driver_present").get<bool>())
    GTEST_SKIP() << "a driver is installed here; no-driver checks skipped";
  for (const auto& row : j.at("matrix"))
    if (row["mode"] != "cpu") {
      EXPECT_EQ(row["status"], "unavailable") << row.dump();
      EXPECT_EQ(row["message"].get<std::string>().rfind("unavailable: ", 0), 0u) << row.dump();
    }
  EXPECT_TRUE(j.at("devices").empty());
  bool no_driver = false;
  for (const auto& a : j.at("advice"))
    if (a.at("id") == "no_driver") {
      no_driver = true;
      EXPECT_NE(a.at("text").get<std::string>().find("No NVIDIA driver"), std::string::npos);
      EXPECT_NE(a.at("text").get<std::string>().find("cpu mode works"), std::string::npos);
    }
  EXPECT_TRUE(no_driver) << j.at("advice").dump(2);
  // The human text says the same, plainly.
  EXPECT_NE(r.out.find("No NVIDIA driver"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu mode works"), std::string::npos) << r.out;
}

TEST_F(ProbeJson, CasesSelectsRowsAndBatch) {
  const std::string path = tmp_ + "/probe.json";
  const CmdResult r = run_modebench(
      "probe --no-bandwidth --ops linear --modes cpu --impls openblas,onednn --cases xtts_qkv --batch 3 --json '" +
          path + "'",
      tmp_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(path);
  const json j = json::parse(in);
  ASSERT_EQ(j.at("matrix").size(), 2u) << j.at("matrix").dump(2);  // openblas, onednn
  for (const auto& row : j.at("matrix")) {
    EXPECT_EQ(row["case"], "xtts_qkv");
    EXPECT_EQ(row["batch"], 3);
    EXPECT_EQ(row["status"], "ok") << row.dump();
  }
}

// A hung or crashing row becomes that row's status; the probe still reports.
// MODEBENCH_PROBE_TEST_ROW makes every row's child hang or die of SIGSEGV.
json probe_with_bad_rows(const std::string& how, const std::string& tmp, double timeout_s) {
  const std::string path = tmp + "/probe.json";
  const CmdResult r = run_modebench("probe --no-bandwidth --ops linear --modes cpu --impls openblas --row-timeout " +
                                        std::to_string(timeout_s) + " --json '" + path + "'",
                                    tmp, "MODEBENCH_TEST_CRASH_AT='linear/*=" + how + "'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(path);
  return in.good() ? json::parse(in) : json();
}

// --row-timeout -1 was accepted (every row then timed out at once).
TEST_F(ProbeJson, ARowTimeoutOutsideZeroToADayIsRefused) {
  for (const std::string t : {"-1", "0", "nan", "1e300"}) {
    const CmdResult r = run_modebench("probe --no-bandwidth --ops linear --modes cpu --impls openblas --row-timeout " +
                                          t + " --json '" + tmp_ + "/probe.json'",
                                      tmp_);
    EXPECT_EQ(r.exit_code, 2) << t << ": " << r.err;
    EXPECT_TRUE(
        r.err.starts_with("modebench: error: --row-timeout must be more than 0 and at most 86400 seconds, got "))
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(tmp_ + "/probe.json"));
  }
}

bool has_advice(const json& j, const char* id) {
  for (const auto& a : j.at("advice"))
    if (a.at("id") == id) return true;
  return false;
}

TEST_F(ProbeJson, HungRowBecomesTimeoutStatus) {
  const json j = probe_with_bad_rows("hang", tmp_, 1.0);
  ASSERT_EQ(j.at("matrix").size(), 1u);
  EXPECT_EQ(j["matrix"][0]["status"], "failed");
  EXPECT_EQ(j["matrix"][0]["error_class"], "timeout");
  EXPECT_TRUE(has_advice(j, "rows_failed")) << j.at("advice").dump(2);
}

TEST_F(ProbeJson, CrashedRowBecomesFailedStatus) {
  const json j = probe_with_bad_rows("segv", tmp_, 60.0);
  ASSERT_EQ(j.at("matrix").size(), 1u);
  EXPECT_EQ(j["matrix"][0]["status"], "failed");
  EXPECT_EQ(j["matrix"][0]["error_class"], "other");  // a cpu row; device rows say launch_failure
  EXPECT_NE(j["matrix"][0]["message"].get<std::string>().find("signal 11"), std::string::npos);
}

TEST_F(ProbeJson, ChildRowPrintsOneJsonLine) {
  const CmdResult r = run_modebench(
      "probe --row --ops linear --cases linear/square_1024 --modes cpu --impls openblas --batches 2", tmp_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json row = json::parse(r.out);
  EXPECT_EQ(row.at("name"), "linear/square_1024/mode:cpu/impl:openblas/batch:2");
  EXPECT_EQ(row.at("status"), "ok");
  EXPECT_LE(row.at("max_err").get<double>(), row.at("tolerance").get<double>());
}

TEST_F(ProbeJson, BadSelectionExitsTwoBeforeWork) {
  const std::string path = tmp_ + "/probe.json";
  EXPECT_EQ(run_modebench("probe --ops nope --json '" + path + "'", tmp_).exit_code, 2);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(run_modebench("probe --batch -1 --json '" + path + "'", tmp_).exit_code, 2);
}

TEST_F(ProbeJson, MalformedKnnBudgetExitsTwoBeforeWorkAndKeepsTheOldFile) {
  const std::string path = tmp_ + "/run.json";
  std::ofstream(path) << "earlier results";
  const CmdResult r =
      run_modebench("run --ops knn --modes cpu --batches 5000 --out '" + path + "'", tmp_, "MODEBENCH_KNN_BUDGET=12x");
  EXPECT_EQ(r.exit_code, 2);
  std::ifstream err(tmp_ + "/stderr.txt"), kept(path);
  std::stringstream e, k;
  e << err.rdbuf();
  k << kept.rdbuf();
  EXPECT_NE(e.str().find("MODEBENCH_KNN_BUDGET"), std::string::npos) << e.str();
  EXPECT_EQ(k.str(), "earlier results");
}

}  // namespace
}  // namespace mb
