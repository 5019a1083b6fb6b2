// `modebench run|list --shape op:key=value,...`: ad-hoc cases built through each op's factory
// (Registry::adhoc_case), named by their canonical shape, validated against cpu_ref like the
// named cases; every impossible shape refused with one sentence (exit 2 through the executable).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/registry.hpp"
#include "harness/run.hpp"
#include "harness/runner.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "include/modebench/policy.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/refusal.hpp"

namespace mb {
namespace {

Selection shapes(std::vector<std::string> texts, std::vector<int64_t> batches = {}) {
  Selection s;
  s.shapes = std::move(texts);
  s.modes = {"cpu"};
  s.batches = std::move(batches);
  return s;
}

// One small shape per op that takes shapes, with batches that keep it quick.
struct OpShape {
  const char* text;
  std::vector<int64_t> batches;
};
const std::vector<OpShape> kShapes = {
    {"linear:in_features=301,out_features=77", {1, 5}},
    {"conv2d:in_channels=6,out_channels=4,height=11,width=9,kernel_size=3,stride=2,padding=1,groups=2", {1, 3}},
    {"conv2d:in_channels=5,out_channels=5,height=9,width=13,kernel_h=3,kernel_w=3,pad_h=1,pad_w=1,groups=5", {2}},
    {"conv1d:in_channels=6,out_channels=4,length=23,kernel=5,stride=2,padding=2,dilation=2,groups=2", {1, 3}},
    {"ssim:height=21,width=37,channels=1", {1, 2}},
    {"knn", {4, 700}},
};

TEST(Shape, EveryOpThatHasCasesOfItsOwnTakesAShape) {
  std::vector<std::string> covered;
  for (const OpShape& s : kShapes) covered.push_back(registry().adhoc_case(s.text).op());
  for (const std::string& op : registry().shape_ops())
    EXPECT_NE(std::find(covered.begin(), covered.end(), op), covered.end()) << op << " has no --shape test";
  const std::vector<std::string> ops = registry().shape_ops();
  for (const auto& c : registry().cases())
    if (c->has_own_host_impl()) {
      EXPECT_NE(std::find(ops.begin(), ops.end(), c->op()), ops.end()) << c->op();
    }
}

// The ad-hoc case is the shape it was given: its sizes are the readers' features of that shape.
TEST(Shape, TheCaseIsTheShapeItWasGiven) {
  for (const OpShape& s : kShapes) {
    const OpCase& c = registry().adhoc_case(s.text);
    if (c.op() == "knn") continue;  // no FLOP count (ops.md)
    std::string text = s.text;
    modebench::Shape given;
    for (size_t at = text.find(':') + 1, end = 0; at < text.size(); at = end + 1) {
      end = std::min(text.find(',', at), text.size());
      const std::string item = text.substr(at, end - at);
      given[item.substr(0, item.find('='))] = std::stoll(item.substr(item.find('=') + 1));
    }
    for (int64_t b : s.batches) {
      const modebench::Features x = modebench::features(c.op(), given, b);
      EXPECT_DOUBLE_EQ(c.flops(b), x.flop) << s.text << " B=" << b;
      EXPECT_DOUBLE_EQ(c.bytes(b), x.bytes) << s.text << " B=" << b;
    }
  }
}

TEST(Shape, NamedByItsCanonicalShapeOnceHoweverItIsWritten) {
  const OpCase& a =
      registry().adhoc_case("conv2d:in_channels=64,out_channels=64,height=56,width=56,kernel_size=3,padding=1");
  const OpCase& b = registry().adhoc_case(
      "conv2d:in_channels=64,out_channels=64,height=56,width=56,kernel_h=3,kernel_w=3,stride_h=1,stride_w=1,pad_h=1,"
      "pad_w=1,groups=1");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.id(), "conv2d/in_channels=64,out_channels=64,height=56,width=56,kernel_h=3,kernel_w=3,pad_h=1,pad_w=1");
  EXPECT_EQ(registry().adhoc_case("linear:out_features=333,in_features=777").id(),
            "linear/in_features=777,out_features=333");
  EXPECT_EQ(registry().adhoc_case("ssim:width=640,height=480").id(), "ssim/height=480,width=640");
  EXPECT_EQ(registry().adhoc_case("knn").id(), "knn/uniform");
  EXPECT_EQ(registry().adhoc_case("knn:").id(), "knn/uniform");
  EXPECT_EQ(refusal(shapes({"linear:in_features=8,out_features=4", "linear:out_features=4,in_features=8"})),
            "--shape selects linear/in_features=8,out_features=4 more than once");
}

// Each shape's entries run every own impl of the cpu mode, each validated against cpu_ref
// (poisoned outputs, first call checked) and right.
TEST(Shape, EveryOpsShapeIsValidatedAndRight) {
  for (const OpShape& s : kShapes) {
    const std::vector<Entry> entries = expand(registry(), shapes({s.text}, s.batches));
    const OpCase& c = registry().adhoc_case(s.text);
    size_t own = 0;
    for (const Entry& e : entries) {
      EXPECT_EQ(e.op_case, &c) << e.name();
      const Impl* row = c.find_impl(e.impl, Placement::host);
      ASSERT_NE(row, nullptr) << e.name();
      if (!row->provider.empty()) continue;  // the torch child's
      ++own;
      const PreparedEntry p(e, RunConfig{.warmup_calls = 0});
      EXPECT_TRUE(p.status().is_ok()) << e.name() << ": " << p.message();
      EXPECT_FALSE(p.validation().check.empty()) << e.name();
    }
    EXPECT_EQ(own, own_impl_names(c, Placement::host).size() * s.batches.size()) << s.text;
  }
}

TEST(Shape, WithoutCasesOnlyTheShapesRunAndWithCasesBoth) {
  for (const Entry& e : expand(registry(), shapes({"linear:in_features=3,out_features=2"}, {1})))
    EXPECT_EQ(e.op_case->name(), "in_features=3,out_features=2") << e.name();
  Selection both = shapes({"linear:in_features=3,out_features=2"}, {1});
  both.cases = {"linear/xtts_qkv"};
  std::set<std::string> names;
  for (const Entry& e : expand(registry(), both)) names.insert(e.op_case->id());
  EXPECT_EQ(names, (std::set<std::string>{"linear/xtts_qkv", "linear/in_features=3,out_features=2"}));
  // Without --batches: the op's profile batches.
  std::set<int64_t> batches;
  for (const Entry& e : expand(registry(), shapes({"linear:in_features=3,out_features=2"}))) batches.insert(e.batch);
  EXPECT_EQ(batches, (std::set<int64_t>{1, 8, 64, 512}));
}

// Every impossible shape: one sentence naming the --shape text and what is wrong.
TEST(Shape, ImpossibleShapesAreRefusedWithOneSentence) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"matmul:m=1", "unknown op 'matmul' (known: linear, conv2d, "},
      {"model", "unknown op 'model'"},
      {"linear:in_features=8,outputs=3", "unknown dimension 'outputs'"},
      {"linear:in_features=8", "missing out_features"},
      {"linear:in_features=7.5,out_features=3", "'in_features' = '7.5' is not a whole number"},
      {"linear:in_features=,out_features=3", "'in_features' = '' is not a whole number"},
      {"linear:in_features=99999999999999999999,out_features=3", "is not a whole number (in 64 bits)"},
      {"linear:in_features=8,in_features=9,out_features=3", "'in_features' is given twice"},
      {"linear:in_features=8,,out_features=3", "expected key=value, got ''"},
      {"linear:in_features", "expected key=value, got 'in_features'"},
      {"linear:in_features=0,out_features=3", "'in_features' = 0 is out of range"},
      {"ssim:height=-4,width=3", "'height' = -4 is out of range"},
      {"conv2d:in_channels=6,out_channels=4,height=8,width=8,kernel_size=3,groups=4",
       "groups = 4 does not divide in_channels and out_channels"},
      {"conv2d:in_channels=3,out_channels=4,height=2,width=8,kernel_size=5,padding=1",
       "the kernel is larger than the padded image"},
      {"conv2d:in_channels=3,out_channels=4,height=8,width=8,kernel_size=3,stride_h=1,stride_w=2",
       "the cases take one stride and one padding for h and w"},
      {"knn:points=5", "unknown dimension 'points' (known: none)"},
  };
  for (const auto& [text, why] : bad) {
    const std::string got = refusal(shapes({text}, {1}));
    EXPECT_TRUE(got.starts_with("--shape '" + text + "': ")) << text << ": " << got;
    EXPECT_NE(got.find(why), std::string::npos) << text << ": " << got;
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  }
  Selection other_op = shapes({"linear:in_features=8,out_features=3"}, {1});
  other_op.ops = {"conv2d"};
  EXPECT_EQ(refusal(shapes({"matmul"})).find("model"), std::string::npos) << "model takes no shape";
  EXPECT_EQ(refusal(other_op), "--shape 'linear:in_features=8,out_features=3': op linear is not among --ops conv2d");
  EXPECT_EQ(refusal(shapes({"knn"}, {3})), "knn needs at least 4 points (batch >= 4), got 3");
  Selection twice = shapes({"knn"}, {5000});
  twice.cases = {"knn/uniform"};
  EXPECT_EQ(refusal(twice), "--shape selects knn/uniform more than once");
}

TEST(Shape, TheExecutableListsWhatRunWouldRunAndRefusesWithOneLine) {
  const std::string tmp = make_temp_dir("modebench-test-shape-");
  const std::string a = "linear:in_features=777,out_features=333";
  const std::string b = "conv2d:in_channels=8,out_channels=8,height=12,width=12,kernel_size=3,padding=1";
  const CmdResult ok = run_modebench("list --shape " + a + " --shape " + b + " --modes cpu,hybrid --batches 1,8", tmp);
  ASSERT_EQ(ok.exit_code, kExitOk) << ok.err;
  Selection s = shapes({a, b}, {1, 8});
  s.modes = {"cpu", "hybrid"};
  std::string expected;
  for (const auto& n : list_entries(registry(), s)) expected += n + "\n";
  EXPECT_EQ(ok.out, expected);
  EXPECT_NE(ok.out.find("linear/in_features=777,out_features=333/mode:cpu/impl:onednn/batch:8\n"), std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("/mode:hybrid/impl:cached/batch:1\n"), std::string::npos) << ok.out;

  for (const std::string bad : {"linear:in_features=0,out_features=3", "conv2d:in_channels=3,out_channels=4",
                                "linear:in_features=x,out_features=3"}) {
    const CmdResult r = run_modebench("run --modes cpu --batches 1 --shape " + bad, tmp);
    EXPECT_EQ(r.exit_code, kExitBadInput) << bad << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("modebench: error: --shape '" + bad + "': ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
  std::filesystem::remove_all(tmp);
}

// The torch provider's child gets --shape with the rest of the selection and builds the same case
// (its factory is the op's): its entry is validated against cpu_ref and ok. Skipped where the
// provider was not built (MODEBENCH_TORCH=OFF).
TEST(Shape, TheTorchChildBuildsAndValidatesTheSameCase) {
  const std::filesystem::path torch = std::filesystem::path(modebench_path()).parent_path() / "modebench-torch";
  if (!std::filesystem::exists(torch)) GTEST_SKIP() << "built without the torch provider";
  const std::string tmp = make_temp_dir("modebench-test-shape-torch-");
  const CmdResult r = run_modebench(
      "run --shape linear:in_features=33,out_features=17 --modes cpu --impls torch "
      "--batches 2 --benchmark_min_time=0.001 --out " +
          tmp + "/x.json",
      tmp);
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  const auto doc = nlohmann::json::parse(std::ifstream(tmp + "/x.json"));
  ASSERT_EQ(doc["benchmarks"].size(), 1u) << doc.dump();
  const auto& e = doc["benchmarks"][0];
  EXPECT_EQ(e["name"], "linear/in_features=33,out_features=17/mode:cpu/impl:torch/batch:2");
  EXPECT_FALSE(e.value("error_occurred", false)) << e.dump();
  EXPECT_LE(e["max_err"].get<double>(), e["tolerance"].get<double>()) << e.dump();
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace mb
