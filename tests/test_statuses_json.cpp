// Every status from run to JSON: run_benchmarks() on the test device with a
// tiny test-only op whose impls can be told to be wrong, then the Google
// Benchmark JSON parsed back and checked against docs/contract.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/context.hpp"
#include "harness/gbench.hpp"
#include "harness/runner.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "harness/validate.hpp"
#include "tests/support/test_device.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

TEST(StatusesJson, DeviceEntriesTimeTheirSetupAndSayWhetherTheFirstCallWasCold) {
  ToyCase toy("small", /*kernel_on_host=*/true);
  auto label_of = [&](Device& dev, Mode mode, int64_t batch) {
    PreparedEntry p(Entry{&toy, mode, mode == Mode::hybrid ? "naive" : "kernel", batch},
                    RunConfig{.seed = 1, .device = &dev, .warmup_calls = 0});
    EXPECT_EQ(p.status(), StatusKind::ok) << p.message();
    if (mode != Mode::hybrid) {
      EXPECT_GE(p.setup_ms(), ToyCase::kKernelSetupMs) << "setup is timed on its own";
    }
    return p.label();
  };
  TestDevice dev, other;
  EXPECT_NE(label_of(dev, Mode::gpu, 4).find("first_call=cold"), std::string::npos);
  EXPECT_NE(label_of(dev, Mode::gpu, 8).find("first_call=warm"), std::string::npos) << "kernels already loaded";
  EXPECT_NE(label_of(dev, Mode::ptx_jit, 4).find("first_call=cold"), std::string::npos) << "another mode";
  EXPECT_NE(label_of(other, Mode::gpu, 4).find("first_call=cold"), std::string::npos) << "another device";
  EXPECT_EQ(label_of(dev, Mode::hybrid, 4).find("first_call="), std::string::npos) << "hybrid has no first_call_ms";
}

// Impls that share a module or library pay its loading (and JIT) once: the entry that
// paid says so, the next one is warm.
TEST(StatusesJson, AColdLabelNamesWhatTheEntryLoadedFirst) {
  ToyCase a("a", /*kernel_on_host=*/true), b("b", /*kernel_on_host=*/true);
  TestDevice dev;
  const RunConfig cfg{.seed = 1, .device = &dev, .warmup_calls = 0};
  PreparedEntry first(Entry{&a, Mode::gpu, "kernel", 4}, cfg);
  PreparedEntry second(Entry{&b, Mode::gpu, "kernel", 4}, cfg);
  EXPECT_NE(first.label().find("first_call=cold;cold_loads=toy_kernels"), std::string::npos) << first.label();
  EXPECT_NE(second.label().find("first_call=warm"), std::string::npos) << second.label();
  EXPECT_GT(first.first_call_wall_ms(), 0.0);
}

TEST(StatusesJson, EveryStatusRoundTripsThroughGoogleBenchmarkJson) {
  ToyCase small("small"), big("big");
  TestDevice dev;
  // "big" at batch 2^20 needs 8 MiB of device memory; the limit lets only "small" fit.
  dev.set_memory_limit(1 << 20);
  const std::vector<Entry> entries = {
      {&small, Mode::cpu, "right", 4},    {&small, Mode::cpu, "wrong", 4},     {&small, Mode::gpu, "kernel", 4},
      {&small, Mode::hybrid, "naive", 4}, {&small, Mode::hybrid, "cached", 4}, {&big, Mode::hybrid, "naive", 1 << 20},
  };
  const auto dir = std::filesystem::temp_directory_path() / ("mb_statuses_" + std::to_string(::getpid()));
  const std::string out = (dir / "toy.json").string();
  RunConfig cfg;
  cfg.device = &dev;
  const RunSummary s = run_benchmarks(entries, cfg, {{"profile", "test"}}, out, {"--benchmark_min_time=0.001"});
  EXPECT_EQ(s.count(StatusKind::ok), 3);
  EXPECT_EQ(s.count(StatusKind::wrong), 1);
  EXPECT_EQ(s.count(StatusKind::unavailable), 1);
  EXPECT_EQ(s.count(StatusKind::failed), 1);

  std::ifstream in(out);
  ASSERT_TRUE(in) << out;
  const nlohmann::json j = nlohmann::json::parse(in);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(j["context"]["profile"], "test");
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& b : j["benchmarks"]) by_name[b["name"].get<std::string>()] = b;
  ASSERT_EQ(by_name.size(), entries.size()) << j["benchmarks"].dump(1);

  auto message = [](const nlohmann::json& b) {
    EXPECT_TRUE(b.value("error_occurred", false) || b.value("skipped", false)) << b.dump();
    return b.contains("error_message") ? b["error_message"].get<std::string>() : b.value("skip_message", "");
  };
  const auto& ok = by_name.at("toy/small/mode:cpu/impl:right/batch:4");
  EXPECT_FALSE(ok.value("error_occurred", false));
  EXPECT_EQ(ok["max_err"], 0.0);
  EXPECT_EQ(ok["label"], "toy=right;threads=" + std::to_string(thread_count()) + ";check=full");

  EXPECT_TRUE(message(by_name.at("toy/small/mode:cpu/impl:wrong/batch:4")).starts_with("wrong: max_err=0.5 "));
  EXPECT_TRUE(message(by_name.at("toy/small/mode:gpu/impl:kernel/batch:4")).starts_with("unavailable: "));
  EXPECT_TRUE(message(by_name.at("toy/big/mode:hybrid/impl:naive/batch:1048576"))
                  .starts_with("failed: out_of_memory: test device: cannot allocate"));

  for (const char* impl : {"naive", "cached"}) {
    const auto& h = by_name.at(std::string("toy/small/mode:hybrid/impl:") + impl + "/batch:4");
    EXPECT_FALSE(h.value("error_occurred", false)) << h.dump();
    ASSERT_TRUE(h.contains("transfer_fraction")) << h.dump();
    EXPECT_GT(h["transfer_fraction"].get<double>(), 0.0);
    EXPECT_LE(h["transfer_fraction"].get<double>(), 1.0);
    // The split is per call (ms) and adds up to the call's time (real_time, in the record's unit).
    const double in_ms = h.at("copy_in_ms"), compute = h.at("compute_ms"), out_ms = h.at("copy_out_ms");
    const double unit_ms = h["time_unit"] == "ns" ? 1e-6 : h["time_unit"] == "us" ? 1e-3 : 1.0;
    EXPECT_NEAR(in_ms + compute + out_ms, h["real_time"].get<double>() * unit_ms, 1e-3 * (in_ms + compute + out_ms));
    EXPECT_NEAR(h["transfer_fraction"].get<double>(), (in_ms + out_ms) / (in_ms + compute + out_ms), 1e-9);
    const std::string label = h["label"];
    EXPECT_TRUE(label.starts_with(std::string("hybrid=") + impl + ";cpu_impl=right;")) << label;
    EXPECT_TRUE(label.ends_with(";device=test")) << label;
  }
}

// Two runs in one process (the unit tests make many): each file has its own run's context.
// With the facts given to Google Benchmark 1.7.1 as custom context, the second run wrote into the
// context its Shutdown() had freed and freed it again (a segfault, or the first run's facts).
TEST(StatusesJson, EachRunInAProcessWritesItsOwnContext) {
  ToyCase small("small");
  TestDevice dev;
  RunConfig cfg;
  cfg.device = &dev;
  const auto dir = std::filesystem::path(make_temp_dir("mb_two_runs_"));
  for (const std::string profile : {"first", "second", "third"}) {
    const std::string out = (dir / (profile + ".json")).string();
    run_benchmarks({{&small, Mode::cpu, "right", 4}}, cfg, {{"profile", profile}}, out, {"--benchmark_min_time=0.001"});
    std::ifstream in(out);
    ASSERT_TRUE(in) << out;
    const auto doc = nlohmann::json::parse(in);
    EXPECT_EQ(doc["context"].value("profile", ""), profile) << doc["context"].dump();
    EXPECT_EQ(doc["benchmarks"].size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mb
