// A mode that needs its own process (ptx-jit) runs in a child that hands back each entry
// as it completes (harness/child_log.hpp): a crash costs only the entry that was running,
// which is named; entries it never started are not_run, not failures of their impls.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/child_log.hpp"
#include "harness/mode.hpp"
#include "harness/provider.hpp"
#include "harness/registry.hpp"
#include "harness/run.hpp"
#include "harness/runner.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

using nlohmann::json;

TEST(ChildLog, ReadsWhatWasWrittenAndIgnoresATruncatedLastLine) {
  const std::string dir = make_temp_dir("modebench-test-childlog-");
  const std::string path = dir + "/log";
  {
    EntryLog log(path);
    log.context({{"mode_env", "X=1"}});
    log.started("a");
    log.records(json::array({{{"name", "a"}, {"run_name", "a"}}}));
    log.started("b");
  }
  std::ofstream(path, std::ios::app) << R"({"records": [{"name": "b")";  // died while writing
  const ChildLog log = read_child_log(path);
  EXPECT_EQ(log.context["mode_env"], "X=1");
  EXPECT_EQ(log.started, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(log.records.size(), 1u);
  EXPECT_EQ(log.records[0]["name"], "a");
  std::filesystem::remove_all(dir);
}

TEST(ChildLog, MissingEntriesAreTheCrashedOneOrNotRun) {
  ToyCase toy("t");
  const Entry done{&toy, Mode::ptx_jit, "kernel", 1}, crashed{&toy, Mode::ptx_jit, "kernel", 2},
      never{&toy, Mode::ptx_jit, "kernel", 3};
  ChildLog log;
  log.started = {done.name(), crashed.name()};
  log.records = {json{{"run_name", done.name()}}};
  EXPECT_EQ(running_when_ended(log), crashed.name());
  ChildResult killed;
  killed.signal = 11;
  const std::vector<ChildAttempt> attempts = {{killed, running_when_ended(log)}};
  const Status c = missing_entry_status(crashed, attempts, Side::device, "the child");
  EXPECT_EQ(c.kind(), StatusKind::failed);
  EXPECT_EQ(c.error_class(), ErrorClass::launch_failure);
  const Status n = missing_entry_status(never, attempts, Side::device, "the child");
  EXPECT_EQ(n.kind(), StatusKind::not_run);
  EXPECT_NE(n.detail().find(crashed.name()), std::string::npos) << n.text();
}

// A child started again after a crash and then a hang: each attempt's entry has its own
// ending (a host entry's crash is `other`, never launch_failure); one never started is not_run.
TEST(ChildLog, EachAttemptsEntryTakesThatAttemptsEnding) {
  ToyCase toy("t");
  const Entry crashed{&toy, Mode::cpu, "right", 1}, hung{&toy, Mode::cpu, "right", 2},
      never{&toy, Mode::cpu, "right", 3};
  ChildResult killed, timed_out;
  killed.signal = 6;
  timed_out.timed_out = true;
  timed_out.timeout_s = 5;
  const std::vector<ChildAttempt> attempts = {{killed, crashed.name()}, {timed_out, hung.name()}};
  EXPECT_EQ(missing_entry_status(crashed, attempts, Side::host, "the cpu child process").text(),
            "failed: other: the cpu child process (while running this entry) was killed by signal 6 (Aborted)");
  EXPECT_EQ(missing_entry_status(hung, attempts, Side::host, "the cpu child process").text(),
            "failed: timeout: the cpu child process (while running this entry) timed out after 5 s");
  EXPECT_EQ(missing_entry_status(never, attempts, Side::host, "the cpu child process").text(),
            "not_run: the cpu child process timed out while running " + hung.name());
}

// A line that cannot be written (a full disk) is an error, not an entry the parent silently
// never hears of (the writes were unchecked).
TEST(ChildLog, AWriteThatFailsThrows) {
  EntryLog log("/dev/full");
  EXPECT_THROW(log.started("a"), EntryLogError);
  EXPECT_THROW(log.records(json::array()), EntryLogError);
}

// A restarted child runs only what the log has not seen started: each entry is tried once.
TEST(ChildLog, ARestartedChildRunsOnlyTheEntriesNotStarted) {
  ToyCase toy("t");
  const std::vector<Entry> all = {
      {&toy, Mode::cpu, "right", 1}, {&toy, Mode::cpu, "right", 2}, {&toy, Mode::cpu, "right", 3}};
  const std::string dir = make_temp_dir("modebench-test-restart-");
  EXPECT_EQ(entries_not_started(all, dir + "/log").size(), 3u) << "no log yet: everything";
  {
    EntryLog log(dir + "/log");
    log.started(all[0].name());
    log.records(json::array({{{"name", all[0].name()}}}));
    log.started(all[1].name());  // crashed
  }
  const std::vector<Entry> left = entries_not_started(all, dir + "/log");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name(), all[2].name());
  std::filesystem::remove_all(dir);
}

// The one forced-JIT environment (run's child and the probe's rows): lazy loading pinned so
// each kernel's JIT lands in the entry that first launches it, inherited JIT switches removed,
// and the context told what of the parent's own environment was overridden.
TEST(ChildEnvironment, ForcedJitPinsLazyLoadingAndSaysWhatItOverrode) {
  ASSERT_EQ(setenv("CUDA_MODULE_LOADING", "EAGER", 1), 0);
  ASSERT_EQ(setenv("CUDA_DISABLE_PTX_JIT", "1", 1), 0);
  const ChildEnvironment env = spec_of(Mode::ptx_jit).child_environment("/tmp/cache");
  const std::string overridden = env.overridden_here();
  unsetenv("CUDA_MODULE_LOADING");
  unsetenv("CUDA_DISABLE_PTX_JIT");
  const auto has = [&](const char* k, const char* v) {
    return std::find(env.set.begin(), env.set.end(), std::make_pair(std::string(k), std::string(v))) != env.set.end();
  };
  EXPECT_TRUE(has("CUDA_FORCE_PTX_JIT", "1"));
  EXPECT_TRUE(has("CUDA_CACHE_PATH", "/tmp/cache"));
  EXPECT_TRUE(has("CUDA_MODULE_LOADING", "LAZY"));
  EXPECT_NE(std::find(env.unset.begin(), env.unset.end(), "CUDA_DISABLE_PTX_JIT"), env.unset.end());
  EXPECT_EQ(overridden, "CUDA_MODULE_LOADING=EAGER CUDA_DISABLE_PTX_JIT=1");
  EXPECT_EQ(env.overridden_here(), "none");
  EXPECT_EQ(spec_of(Mode::gpu).child_environment, nullptr) << "gpu runs in the parent";
}

// A provider's impls are rows of the op's table: listed in their modes, run by the
// provider's executable (which installs the factory), unavailable where it was not built.
TEST(Providers, RowsAreListedAndRunOnlyWhereTheProviderInstalledAFactory) {
  auto toy = std::make_unique<ToyCase>("prov");
  toy->add_toy_provider_impls();
  EXPECT_EQ(spec_of(Mode::cpu).impl_names(*toy),
            (std::vector<std::string>{"right", "wrong", "wrong_small", "sleepy", "provided"}));
  EXPECT_EQ(spec_of(Mode::hybrid).impl_names(*toy), (std::vector<std::string>{"naive", "cached", "provided_hybrid"}));
  PreparedEntry here(Entry{toy.get(), Mode::cpu, "provided", 4}, RunConfig{.seed = 1, .warmup_calls = 0});
  EXPECT_EQ(here.status(), StatusKind::unavailable) << here.message();
  EXPECT_NE(here.message().find("built without the toyprovider provider"), std::string::npos) << here.message();
  // ci/gpu_check_summary.py recognises a provider missing from a bundle by these words.
  EXPECT_NE(here.message().find(" provider (modebench-"), std::string::npos) << here.message();

  install_provider_factory("toy", "provided", Placement::host, [](Problem& p, Device*, RowRange) {
    return make_cpu_instance(*std::make_unique<ToyCase>("x"), "right", p);
  });
  PreparedEntry in_provider(Entry{toy.get(), Mode::cpu, "provided", 4}, RunConfig{.seed = 1, .warmup_calls = 0});
  EXPECT_TRUE(in_provider.status().is_ok()) << in_provider.message();
}

// In modebench, a provider's entries go to its executable; one that was not built makes them
// unavailable in the JSON, and the harness's own entries still run.
TEST(Providers, EntriesOfAProviderThatWasNotBuiltAreUnavailableInTheJson) {
  Registry reg;
  auto toy = std::make_unique<ToyCase>("routed");
  toy->add_toy_provider_impls();
  reg.add(std::move(toy));
  const std::string tmp = make_temp_dir("modebench-test-provider-");
  const std::string out = tmp + "/run.json";
  Selection sel;
  sel.modes = {"cpu", "hybrid"};
  sel.impls = {"right", "provided", "provided_hybrid"};
  EXPECT_EQ(run_selection(reg, sel, out, {"--benchmark_min_time=0.001"}, {}), kExitOk);
  std::ifstream in(out);
  const json j = json::parse(in);
  std::map<std::string, std::string> message;
  for (const auto& b : j["benchmarks"]) message[b["name"]] = b.value("error_message", "ok");
  EXPECT_EQ(message["toy/routed/mode:cpu/impl:right/batch:4"], "ok");
  for (const char* name :
       {"toy/routed/mode:cpu/impl:provided/batch:4", "toy/routed/mode:hybrid/impl:provided_hybrid/batch:4"})
    EXPECT_TRUE(message[name].starts_with("unavailable: built without the toyprovider provider"))
        << name << ": " << message[name];
  std::filesystem::remove_all(tmp);
}

// End to end through the executable: the ptx-jit child crashes at its second entry.
TEST(ChildRuns, ACrashCostsOnlyTheEntryThatWasRunning) {
  const std::string tmp = make_temp_dir("modebench-test-child-");
  const std::string out = tmp + "/run.json";
  const std::string base = "linear/square_1024/mode:ptx-jit/impl:";
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu,ptx-jit --impls openblas,cublas,cublas_tf32 "
      "--batches 1,8 --benchmark_min_time=0.001 --out '" +
          out + "'",
      tmp, "MODEBENCH_TEST_CRASH_AT='" + base + "cublas/batch:8'");
  EXPECT_EQ(r.exit_code, 1) << "a child that crashed is a harness error: " << r.err;
  std::ifstream in(out);
  ASSERT_TRUE(in) << r.err;
  const json j = json::parse(in);
  std::map<std::string, std::string> message;
  for (const auto& b : j["benchmarks"])
    message[b["name"].get<std::string>()] = b.value("error_message", b.value("skip_message", "ok"));
  EXPECT_EQ(message.size(), 6u);
  EXPECT_EQ(message["linear/square_1024/mode:cpu/impl:openblas/batch:1"], "ok");
  EXPECT_TRUE(message[base + "cublas/batch:1"].starts_with("unavailable: ")) << message[base + "cublas/batch:1"];
  const std::string crashed = message[base + "cublas/batch:8"];
  EXPECT_TRUE(
      crashed.starts_with("failed: launch_failure: the ptx-jit child process (while running this entry) was "
                          "killed by signal 11"))
      << crashed;
  // The child was started again for the entries it had not started: they ran (here without
  // a device: unavailable), neither failed nor not_run.
  for (const char* b : {"1", "8"}) {
    const std::string m = message[base + "cublas_tf32/batch:" + b];
    EXPECT_FALSE(m.starts_with("not_run") || m.starts_with("failed")) << m;
  }
  EXPECT_NE(r.err.find("modebench: the ptx-jit child process ended with killed by signal 11 (Segmentation fault) "
                       "while running " +
                       base + "cublas/batch:8; starting it again for the entries it had not started\n"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(j["context"].contains("mode_env_ptx-jit")) << j["context"].dump();
  std::filesystem::remove_all(tmp);
}

// Host entries run in a worker child (issue 23, finding 6: they ran in the parent, where one
// crash lost the whole run and a hang had only ctest's 900 s): a crash, an abort and a hang
// cost those entries only, each with its status; the others ran and are written; exit 1.
TEST(ChildRuns, ACrashAbortOrHangInAHostEntryCostsThatEntryOnly) {
  const std::string tmp = make_temp_dir("modebench-test-isolate-");
  const std::string out = tmp + "/run.json";
  const std::string base = "linear/square_1024/mode:cpu/impl:";
  const std::string segv = base + "openblas/batch:1", abort = base + "openblas/batch:3", hang = base + "onednn/batch:2";
  // `timeout`: where entries run in the parent (the old code), the hang would hang the test.
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu --impls openblas,onednn --batches 1,2,3 "
      "--benchmark_min_time=0.001 --entry-timeout 5 --out '" +
          out + "'",
      tmp, "MODEBENCH_TEST_CRASH_AT='" + segv + "," + abort + "=abort," + hang + "=hang' timeout -s KILL 120");
  EXPECT_EQ(r.exit_code, kExitWrong) << r.err;
  std::ifstream in(out);
  ASSERT_TRUE(in) << "no --out: " << r.err;
  const json j = json::parse(in);
  std::map<std::string, std::string> message;
  for (const auto& b : j["benchmarks"]) message[b["name"].get<std::string>()] = b.value("error_message", "ok");
  EXPECT_EQ(message.size(), 6u) << j.dump(1);
  const std::string who = "the cpu child process (while running this entry) ";
  EXPECT_EQ(message[segv], "failed: other: " + who + "was killed by signal 11 (Segmentation fault)");
  EXPECT_EQ(message[abort], "failed: other: " + who + "was killed by signal 6 (Aborted)");
  EXPECT_EQ(message[hang], "failed: timeout: " + who + "timed out after 5 s");
  for (const std::string& name : {base + "openblas/batch:2", base + "onednn/batch:1", base + "onednn/batch:3"})
    EXPECT_EQ(message[name], "ok") << name;
  EXPECT_NE(
      r.err.find("\nmodebench: 3 ok, 0 unavailable, 0 busy, 0 not_run, 3 failed, 0 wrong (6 in child processes)\n"),
      std::string::npos)
      << r.err;
  // Google Benchmark's own context keys come from the worker: the parent ran nothing itself.
  EXPECT_TRUE(j["context"].contains("num_cpus") && j["context"].contains("profile")) << j["context"].dump();
  std::filesystem::remove_all(tmp);
}

// The summary line counts every entry of the file, the children's too (it said "0 failed"
// beside a failed entry, and "see above" where a child had printed nothing).
TEST(ChildRuns, TheSummaryCountsEveryEntryOfTheFile) {
  const std::string tmp = make_temp_dir("modebench-test-summary-");
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu,ptx-jit --impls openblas,cublas,cublas_tf32 "
      "--batches 1,8 --benchmark_min_time=0.001",
      tmp, "MODEBENCH_TEST_CRASH_AT='linear/square_1024/mode:ptx-jit/impl:cublas/batch:8'");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(
      r.err.find("\nmodebench: 2 ok, 3 unavailable, 0 busy, 0 not_run, 1 failed, 0 wrong (6 in child processes)\n"),
      std::string::npos)
      << r.err;
  std::filesystem::remove_all(tmp);
}

// The parent asks for the device (where a CUDA context is created) only after its children
// have ended: under EXCLUSIVE_PROCESS compute mode a parent's context gets every child refused,
// and otherwise it takes their memory. Both run (the ptx-jit child) and probe (a child per
// matrix row), read from MODEBENCH_TEST_TRACE.
TEST(ChildRuns, ChildrenEndBeforeTheParentAsksForTheDevice) {
  if (!MODEBENCH_HAVE_CUDA) GTEST_SKIP() << "built without CUDA: no ptx-jit child and no device to ask for";
  for (const std::string command :
       {"run --benchmark_min_time=0.001 --batches 1 --out", "probe --no-bandwidth --json"}) {
    const std::string tmp = make_temp_dir("modebench-test-order-");
    const CmdResult r =
        run_modebench(command + " '" + tmp +
                          "/out.json' --ops linear --cases square_1024 --modes cpu,gpu,ptx-jit --impls openblas,cublas",
                      tmp, "MODEBENCH_TEST_TRACE='" + tmp + "/trace'");
    std::ifstream in(tmp + "/trace");
    std::vector<std::pair<std::string, std::string>> events;  // pid, event
    for (std::string pid, event; in >> pid && std::getline(in >> std::ws, event);) events.emplace_back(pid, event);
    ASSERT_FALSE(events.empty()) << command << ": " << r.err;
    // The parent is the process that started a child.
    std::string parent;
    for (const auto& [pid, event] : events)
      if (event.starts_with("child-start")) parent = pid;
    ASSERT_FALSE(parent.empty()) << command << ": no child was started";
    int last_child_end = -1, first_device = -1;
    for (int i = 0; i < static_cast<int>(events.size()); ++i) {
      if (events[i].first != parent) continue;
      if (events[i].second.starts_with("child-end")) last_child_end = i;
      if (events[i].second == "device" && first_device < 0) first_device = i;
    }
    EXPECT_GE(first_device, 0) << command << ": the parent never asked for the device";
    EXPECT_LT(last_child_end, first_device) << command << ": the parent asked for the device while a child ran";
    std::filesystem::remove_all(tmp);
  }
}

}  // namespace
}  // namespace mb
