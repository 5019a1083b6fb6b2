// The gate for exit 2: every bad-input branch of the selection, refused before any work
// with one sentence; `modebench list`; and the full check of a reduced-size run that
// backs every sampled check.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "cpu_ref/checked_size.hpp"
#include "harness/run.hpp"
#include "harness/runner.hpp"
#include "harness/slowdown.hpp"
#include "harness/subprocess.hpp"
#include "harness/validate.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/refusal.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

Selection select(std::vector<std::string> ops = {}, std::vector<std::string> modes = {}) {
  Selection s;
  s.ops = std::move(ops);
  s.modes = std::move(modes);
  return s;
}

TEST(Selection, UnknownOpNamesTheKnownOnes) {
  const std::string why = refusal(select({"linear", "matmul"}));
  EXPECT_TRUE(why.starts_with("unknown op 'matmul'")) << why;
  for (const auto& op : registry().ops()) EXPECT_NE(why.find(op), std::string::npos) << why;
}

TEST(Selection, UnknownModeNamesTheKnownOnes) {
  const std::string why = refusal(select({}, {"cpu", "tpu"}));
  EXPECT_TRUE(why.starts_with("unknown mode 'tpu'")) << why;
  for (const ModeSpec& m : mode_table()) EXPECT_NE(why.find(m.name), std::string::npos) << why;
}

// A case of the full profile only (conv1d's XTTS layers beyond the quick two) runs in the quick
// profile only when --cases names it; the full profile runs every case.
TEST(Selection, CasesOfTheFullProfileOnlyStayOutOfTheQuickOne) {
  auto cases_of = [](const Selection& s) {
    std::set<std::string> ids;
    for (const Entry& e : expand(registry(), s)) ids.insert(e.op_case->id());
    return ids;
  };
  Selection s = select({"conv1d"}, {"cpu"});
  EXPECT_EQ(cases_of(s), (std::set<std::string>{"conv1d/xtts_hifigan_pre", "conv1d/xtts_hifigan_s3_k3_d3"}));
  s.cases = {"xtts_cond_qkv"};
  EXPECT_EQ(cases_of(s), (std::set<std::string>{"conv1d/xtts_cond_qkv"}));
  s.cases = {};
  s.profile = Profile::full;
  size_t conv1d_cases = 0;
  for (const auto& c : registry().cases()) conv1d_cases += c->op() == "conv1d";
  EXPECT_EQ(cases_of(s).size(), conv1d_cases);
  EXPECT_GT(conv1d_cases, 2u);
}

TEST(Selection, NonPositiveBatches) {
  for (int64_t b : {0, -3}) {
    Selection s = select({"linear"});
    s.batches = {8, b};
    EXPECT_EQ(refusal(s), "batch must be positive, got " + std::to_string(b));
  }
}

// --batches 8,8,8 wrote three records of one series (issue 23); a repeated mode ran every
// entry twice. A value listed twice in any selection list is refused.
TEST(Selection, AValueListedTwiceIsRefused) {
  Selection s = select({"linear"}, {"cpu"});
  s.batches = {8, 1, 8};
  EXPECT_EQ(refusal(s), "--batches lists 8 more than once");
  s.batches = {};
  s.modes = {"cpu", "gpu", "cpu"};
  EXPECT_EQ(refusal(s), "--modes lists cpu more than once");
  EXPECT_EQ(refusal(select({"knn", "knn"})), "--ops lists knn more than once");
  s = select({"linear"});
  s.impls = {"onednn", "onednn"};
  EXPECT_EQ(refusal(s), "--impls lists onednn more than once");
  s.impls = {};
  s.cases = {"xtts_qkv", "xtts_qkv"};
  EXPECT_EQ(refusal(s), "--cases lists xtts_qkv more than once");
  const std::string tmp = make_temp_dir("modebench-test-repeats-");
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu --impls openblas --batches 8,8,8 --benchmark_min_time=0.001",
      tmp);
  EXPECT_EQ(r.exit_code, kExitBadInput) << r.err;
  EXPECT_EQ(r.err, "modebench: error: --batches lists 8 more than once\n");
  std::filesystem::remove_all(tmp);
}

TEST(Selection, UnknownCaseByNameOrIdOrOfAnUnselectedOp) {
  Selection s = select({"linear"});
  s.cases = {"xtts_qkv", "nonsense"};
  EXPECT_TRUE(refusal(s).starts_with("unknown case 'nonsense'")) << refusal(s);
  s.cases = {"conv2d/resnet_3x3"};  // exists, but its op is not selected
  EXPECT_TRUE(refusal(s).starts_with("unknown case 'conv2d/resnet_3x3'")) << refusal(s);
  s.cases = {"linear/xtts_qkv"};
  EXPECT_EQ(refusal(s), "");
}

TEST(Selection, ImplUnknownForTheSelectedOpsAndModes) {
  Selection s = select({"linear"}, {"cpu"});
  s.impls = {"cublas"};  // a gpu impl: unknown among cpu impls
  EXPECT_TRUE(refusal(s).starts_with("unknown impl 'cublas' for the selected ops and modes")) << refusal(s);
  s.modes = {"gpu"};
  EXPECT_EQ(refusal(s), "");
}

TEST(Selection, BatchTheOpCannotTake) {
  Selection s = select({"knn"});
  s.batches = {3};
  EXPECT_EQ(refusal(s), "knn needs at least 4 points (batch >= 4), got 3");
}

TEST(Selection, SizesBeyondThisHostsMemory) {
  Selection s = select({"linear"}, {"cpu"});
  s.cases = {"square_1024"};
  s.batches = {int64_t{1} << 40};
  const std::string why = refusal(s);
  EXPECT_TRUE(why.starts_with("linear/square_1024 at batch 1099511627776 needs")) << why;
  EXPECT_NE(why.find("MB of host memory; this machine has"), std::string::npos) << why;
}

// Issue 23: batches near 2^62 wrapped int64 in the memory check (linear then segfaulted, conv2d
// died of SIGFPE in oneDNN, 2^63-1 gave exit 0 with failed entries). Every op's sizes are
// checked before anything is allocated, and an impossible size is bad input.
TEST(Selection, SizesThatOverflow64BitsAreBadInputForEveryOp) {
  EXPECT_EQ(checked_product({3, 4, 5}), 60);
  EXPECT_EQ(checked_sum({INT64_MAX - 1, 1}), INT64_MAX);
  EXPECT_THROW(checked_product({int64_t{1} << 62, 2}), SizeOverflow);
  EXPECT_THROW(checked_sum({INT64_MAX, 1}), SizeOverflow);
  for (const std::string op : {"linear", "conv2d", "ssim", "knn", "model"})
    for (int64_t b : {int64_t{1} << 62, INT64_MAX}) {
      Selection s = select({op}, {"cpu"});
      s.batches = {b};
      const std::string why = refusal(s);
      EXPECT_TRUE(why.starts_with(op + "/")) << op << " " << b << ": " << why;
      EXPECT_NE(why.find(" at batch " + std::to_string(b) + " needs "), std::string::npos) << why;
    }
}

TEST(Selection, HugeBatchesExitTwoWithOneLineThroughTheExecutable) {
  const std::string tmp = make_temp_dir("modebench-test-huge-");
  for (const std::string op : {"linear", "conv2d", "ssim", "knn", "model"})
    for (const char* b : {"4611686018427387904", "9223372036854775807"}) {
      const CmdResult r =
          run_modebench("run --ops " + op + " --modes cpu --batches " + b + " --benchmark_min_time=0.001", tmp);
      EXPECT_EQ(r.exit_code, kExitBadInput) << op << " " << b << ": " << r.err;
      EXPECT_TRUE(r.err.starts_with("modebench: error: " + op + "/")) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      EXPECT_EQ(r.out, "") << "refused before any work";
    }
  std::filesystem::remove_all(tmp);
}

TEST(Selection, UnknownProfile) {
  EXPECT_EQ(to_string(parse_profile("full")), "full");
  EXPECT_THROW(parse_profile("fast"), BadInput);
}

// An op checks its own environment before any work: only when it is selected.
TEST(Selection, MalformedEnvironmentOfASelectedOp) {
  ASSERT_EQ(setenv("MODEBENCH_KNN_BUDGET", "12x", 1), 0);
  Selection knn = select({"knn"}, {"cpu"});
  knn.batches = {5000};  // a valid selection: only the environment is wrong
  std::string why;
  try {
    run_selection(registry(), knn, "", {}, {});
  } catch (const BadInput& e) {
    why = e.what();
  }
  EXPECT_NE(why.find("MODEBENCH_KNN_BUDGET"), std::string::npos) << why;
  EXPECT_NO_THROW(for (const auto& c : registry().cases()) if (c->op() == "linear") c->check_environment());
  unsetenv("MODEBENCH_KNN_BUDGET");
}

// The harness applies Google Benchmark's filter itself: entries that never reach Google Benchmark
// (a provider's child, a provider that was not built) are selected by it too.
TEST(Selection, TheBenchmarkFilterSelectsEveryKindOfEntry) {
  const std::vector<Entry> all = expand(registry(), select({"linear"}, {"cpu"}));
  const auto names = [](const std::vector<Entry>& es) {
    std::vector<std::string> out;
    for (const Entry& e : es) out.push_back(e.name());
    return out;
  };
  const std::string a = "linear/square_1024/mode:cpu/impl:onednn/batch:8";
  const std::string b = "linear/square_1024/mode:cpu/impl:torch/batch:8";
  const std::vector<Entry> two =
      filter_entries(all, {"--benchmark_min_time=0.1", "--benchmark_filter=^(" + a + "|" + b + ")$"});
  EXPECT_EQ(names(two), (std::vector<std::string>{a, b}));
  const std::vector<Entry> others = filter_entries(all, {"--benchmark_filter=-impl:torch"});
  EXPECT_FALSE(others.empty());
  for (const std::string& n : names(others)) EXPECT_EQ(n.find("impl:torch"), std::string::npos) << n;
  EXPECT_EQ(filter_entries(all, {}).size(), all.size());
  EXPECT_EQ(filter_entries(all, {"--benchmark_filter=all"}).size(), all.size());
  EXPECT_THROW(filter_entries(all, {"--benchmark_filter=(("}), BadInput);
}

TEST(List, OneContractNamePerEntryImplMajorThenBatch) {
  Selection s = select({"linear"}, {"cpu"});
  s.cases = {"square_1024"};
  const std::vector<std::string> expected = {
      "linear/square_1024/mode:cpu/impl:openblas/batch:1",  "linear/square_1024/mode:cpu/impl:openblas/batch:8",
      "linear/square_1024/mode:cpu/impl:openblas/batch:64", "linear/square_1024/mode:cpu/impl:openblas/batch:512",
      "linear/square_1024/mode:cpu/impl:onednn/batch:1",    "linear/square_1024/mode:cpu/impl:onednn/batch:8",
      "linear/square_1024/mode:cpu/impl:onednn/batch:64",   "linear/square_1024/mode:cpu/impl:onednn/batch:512",
      "linear/square_1024/mode:cpu/impl:torch/batch:1",     "linear/square_1024/mode:cpu/impl:torch/batch:8",
      "linear/square_1024/mode:cpu/impl:torch/batch:64",    "linear/square_1024/mode:cpu/impl:torch/batch:512"};
  EXPECT_EQ(list_entries(registry(), s), expected);
}

// Device entries are listed whatever the build (a CPU-only build records them unavailable); an
// impl that runs a subset of the quick profile (Impl::in_quick_profile) is listed at those, and a
// case of the full profile only not at all.
TEST(List, EveryModeListsEveryCaseAtEveryProfileBatch) {
  for (const ModeSpec& m : mode_table()) {
    const auto names = list_entries(registry(), select({}, {std::string(m.name)}));
    size_t expected = 0;
    for (const auto& c : registry().cases()) {
      if (!c->in_quick_profile()) continue;  // the full profile's only (OpCase::in_quick_profile)
      for (const std::string& impl : m.impl_names(*c)) {
        const Impl* row = c->find_impl(impl, m.rows);
        for (int64_t b : c->batches(Profile::quick))
          expected += !row || !row->in_quick_profile || row->in_quick_profile(b);
      }
    }
    EXPECT_EQ(names.size(), expected) << m.name;
    for (const auto& n : names) EXPECT_NE(n.find("/mode:" + std::string(m.name) + "/"), std::string::npos) << n;
  }
}

TEST(List, TheExecutablePrintsTheListAndRefusesBadInputWithOneLine) {
  const std::string tmp = make_temp_dir("modebench-test-list-");
  const CmdResult ok = run_modebench("list --ops linear --modes cpu,gpu --cases xtts_qkv --batches 4", tmp);
  EXPECT_EQ(ok.exit_code, kExitOk) << ok.err;
  Selection s = select({"linear"}, {"cpu", "gpu"});
  s.cases = {"xtts_qkv"};
  s.batches = {4};
  std::string expected;
  for (const auto& n : list_entries(registry(), s)) expected += n + "\n";
  EXPECT_EQ(ok.out, expected);

  const CmdResult bad = run_modebench("run --ops linear --batches 0", tmp);
  EXPECT_EQ(bad.exit_code, kExitBadInput);
  EXPECT_EQ(bad.err, "modebench: error: batch must be positive, got 0\n");
  std::filesystem::remove_all(tmp);
}

// --benchmark_filter narrows the list as it narrows run (list ignored it, issue 23).
TEST(List, TheBenchmarkFilterNarrowsTheListAsItNarrowsRun) {
  Selection s = select({"linear"}, {"cpu", "gpu"});
  s.cases = {"xtts_qkv"};
  s.batches = {4};
  const std::vector<std::string> onednn = {"linear/xtts_qkv/mode:cpu/impl:onednn/batch:4"};
  EXPECT_EQ(list_entries(registry(), s, {"--benchmark_filter=impl:onednn"}), onednn);
  EXPECT_THROW(list_entries(registry(), s, {"--benchmark_filter=impl:nothing"}), BadInput) << "as run refuses it";
  const std::string tmp = make_temp_dir("modebench-test-list-filter-");
  const CmdResult r = run_modebench(
      "list --ops linear --modes cpu,gpu --cases xtts_qkv --batches 4 --benchmark_filter=impl:onednn", tmp);
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_EQ(r.out, onednn[0] + "\n");
  std::filesystem::remove_all(tmp);
}

// A sampled check is backed by a full check of a reduced-size run of the same impl: a
// bug the sample misses is caught there, and the entry is wrong, never timed.
TEST(ReducedSizeCheck, CatchesWhatTheSampleMissesAndSaysSoInTheLabel) {
  ToyCase toy("reduced");
  const int64_t big = 300'000;  // above the full-check limit: sampled
  const CheckSet sample(static_cast<size_t>(big), kFullCheckBudgetNs / ToyCase::kFullCheckOutputs);
  ASSERT_FALSE(sample.full());
  for (size_t k = 0; k < sample.size(); ++k) ASSERT_NE(sample[k], 1u) << "the bug must be outside the sample";

  PreparedEntry right(Entry{&toy, Mode::cpu, "right", big}, RunConfig{.seed = 1, .warmup_calls = 0});
  ASSERT_TRUE(right.status().is_ok()) << right.message();
  EXPECT_TRUE(right.validation().check.starts_with("sampled:")) << right.validation().check;
  EXPECT_NE(right.label().find("reduced=full@4"), std::string::npos) << right.label();

  PreparedEntry wrong(Entry{&toy, Mode::cpu, "wrong_small", big}, RunConfig{.seed = 1, .warmup_calls = 0});
  EXPECT_EQ(wrong.status(), StatusKind::wrong) << wrong.message();
  EXPECT_EQ(wrong.validation().check, "full@4");
}

// The power study's injector: glob over full names, first match wins; malformed is bad input.
TEST(Slowdown, RulesParseMatchAndRefuseMalformedValues) {
  const SlowdownRules r = parse_slowdown("linear/*/mode:cpu/impl:onednn/batch:8=0.1,*=0.05");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(slowdown_for(r, "linear/xtts_qkv/mode:cpu/impl:onednn/batch:8"), 0.1);
  EXPECT_DOUBLE_EQ(slowdown_for(r, "knn/uniform/mode:cpu/impl:grid/batch:10000"), 0.05);
  EXPECT_DOUBLE_EQ(slowdown_for(parse_slowdown("conv2d/*=0.2"), "linear/a/mode:cpu/impl:x/batch:1"), 0.0);
  for (const char* bad : {"", "linear", "=0.1", "x=", "x=abc", "x=-0.1", "x=0.1,", "x=0.1x"})
    EXPECT_THROW(parse_slowdown(bad), BadInput) << bad;
}

TEST(Slowdown, AnInjectedEntryTakesThatFractionLongerOnTheRealPath) {
  ToyCase toy("slow");
  const Entry sleepy{&toy, Mode::cpu, "sleepy", 4};
  PreparedEntry plain(sleepy, RunConfig{.seed = 1, .warmup_calls = 0});
  ASSERT_TRUE(plain.status().is_ok());
  // The rule is looked up once, when the entry is prepared: a timed call pays nothing for it
  // (matching long globs on every call cost a few microseconds, on 35 us calls).
  ASSERT_EQ(setenv("MODEBENCH_SLOWDOWN", "toy/slow/mode:cpu/impl:sleepy/batch:*=0.5", 1), 0);
  PreparedEntry injected(sleepy, RunConfig{.seed = 1, .warmup_calls = 0});
  unsetenv("MODEBENCH_SLOWDOWN");
  ASSERT_TRUE(injected.status().is_ok());
  EXPECT_DOUBLE_EQ(plain.slowdown(), 0.0);
  EXPECT_DOUBLE_EQ(injected.slowdown(), 0.5);
  // Only bounds that hold on any load: a loaded machine makes the plain calls slow too, so
  // comparing the two entries' times fails by chance (it did, in CI). A sleepy call takes at
  // least kSleepyCallMs, so a slowed one reports at least 1.5 x that; the wall clock around the
  // calls covers the reported time only if the extra half was spent, not only reported.
  auto calls = [](PreparedEntry& p, double* reported_ms) {
    *reported_ms = 0;
    double shortest = 1e300;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 7; ++i) {
      const double t = p.timed_call_ms();
      *reported_ms += t;
      shortest = std::min(shortest, t);
    }
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return std::pair{shortest, wall};
  };
  double reported = 0;
  const auto [fast_shortest, fast_wall] = calls(plain, &reported);
  EXPECT_GE(fast_shortest, ToyCase::kSleepyCallMs);
  EXPECT_LE(reported, fast_wall);
  const auto [slow_shortest, slow_wall] = calls(injected, &reported);
  EXPECT_GE(slow_shortest, 1.5 * ToyCase::kSleepyCallMs) << "every call reports the extra half";
  EXPECT_GE(slow_wall, reported) << "the extra time is spent, not only reported";
}

}  // namespace
}  // namespace mb
