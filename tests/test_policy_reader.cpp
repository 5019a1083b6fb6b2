// include/modebench/policy.hpp against the vectors the Python reader is tested with
// (tests/vectors/policy_*.json, written by python/modebench_policy/tests/make_vectors.py):
// the same features for every shape, the same decision (mode, impl, confidence, source and
// reason) for every query, the same outcome for every hostile file of tests/vectors/policy_hostile/;
// plus bad files, host identity and the safe default.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "include/modebench/policy.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string vectors(const std::string& name) { return std::string(MODEBENCH_SOURCE_DIR) + "/tests/vectors/" + name; }

json read(const std::string& name) {
  std::ifstream in(vectors(name));
  return json::parse(in);
}

modebench::Shape shape_of(const json& j) {
  modebench::Shape s;
  for (const auto& [k, v] : j.items()) s[k] = v.get<int64_t>();
  return s;
}

modebench::HostFacts host_of(const json& h) {
  if (h.is_null())
    return host_of(
        json{{"cpu_model", "Synthetic CPU"}, {"gpus", {"Synthetic GPU"}}, {"gpu_cc", "12.0"}, {"driver", "580.65.06"}});
  modebench::HostFacts f;
  if (h["cpu_model"].is_string()) f.cpu_model = h["cpu_model"].get<std::string>();
  if (h["gpus"].is_array()) f.gpus = h["gpus"].get<std::vector<std::string>>();
  if (h["gpu_cc"].is_string()) f.gpu_cc = h["gpu_cc"].get<std::string>();
  if (h["driver"].is_string()) f.driver = h["driver"].get<std::string>();
  return f;
}

modebench::LoadOptions synthetic_host() { return {host_of(json()), false}; }

fs::path temp_file(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("modebench_policy_test_" + name + ".json");
  std::ofstream(p) << text;
  return p;
}

TEST(PolicyReader, FeaturesAgreeWithThePythonVectors) {
  const json cases = read("policy_features.json");
  ASSERT_GE(cases.size(), 10u);
  for (const json& c : cases) {
    const std::string op = c["op"];
    const auto batch = c["batch"].get<int64_t>();
    SCOPED_TRACE(c.dump());
    if (c.value("error", false)) {
      // Python-only spellings (pairs) are not in the error cases; every listed error is an error here too.
      EXPECT_THROW(modebench::features(op, shape_of(c["shape"]), batch), modebench::ShapeError);
      continue;
    }
    json shape = c["shape"];
    const auto x = modebench::features(op, shape_of(shape), batch);
    const json& want = c["features"];
    EXPECT_DOUBLE_EQ(x.flop, want["flop"].get<double>());
    EXPECT_DOUBLE_EQ(x.bytes, want["bytes"].get<double>());
    EXPECT_DOUBLE_EQ(x.weight_bytes, want["weight_bytes"].get<double>());
    EXPECT_DOUBLE_EQ(x.points, want["points"].get<double>());
    EXPECT_EQ(x.kind, want["kind"].get<std::string>());
  }
}

modebench::Decision choose(const modebench::Policy& policy, const json& q) {
  const std::string case_name = q["case"].is_null() ? "" : q["case"].get<std::string>();
  return policy.choose(q["op"], shape_of(q["shape"]), q["batch"].get<int64_t>(), case_name);
}

void expect_decision(const modebench::Decision& d, const json& want) {
  EXPECT_EQ(d.mode, want["mode"].get<std::string>());
  EXPECT_EQ(d.impl, want["impl"].get<std::string>());
  EXPECT_EQ(d.source, want["source"].get<std::string>());
  EXPECT_EQ(d.reason, want["reason"].get<std::string>());
  if (want["confidence"].is_null()) {
    EXPECT_FALSE(d.confidence.has_value());
  } else {
    ASSERT_TRUE(d.confidence.has_value());
    EXPECT_DOUBLE_EQ(*d.confidence, want["confidence"].get<double>());
  }
}

TEST(PolicyReader, DecisionsAgreeWithThePythonVectors) {
  const json queries = read("policy_decisions.json");
  ASSERT_GE(queries.size(), 20u);
  for (const json& q : queries) {
    SCOPED_TRACE(q.dump());
    const auto policy = modebench::Policy::load(vectors(q["policy"]), {host_of(q["host"]), !q["host"].is_null()});
    expect_decision(choose(policy, q), q["expect"]);
  }
}

// Hostile and odd files (nesting 100 000 deep, integers past int64, lone surrogates, a byte-order
// mark, 2^53 dimensions...): refused with one line and the safe default, or the Python reader's
// decisions. Before issue 23 this crashed (deep_schema), overflowed int64 and disagreed on 21 files.
TEST(PolicyReader, HostileFilesGetThePythonReadersAnswers) {
  const json cases = read("policy_hostile.json");
  ASSERT_GE(cases.size(), 30u);
  for (const json& c : cases) {
    const std::string path = vectors(c["file"]);
    SCOPED_TRACE(c["file"].get<std::string>() + ": " + c["why"].get<std::string>());
    if (c["outcome"] == "rejected") {
      try {
        modebench::Policy::load(path, synthetic_host());
        ADD_FAILURE() << "accepted";
      } catch (const modebench::PolicyError& e) {
        const std::string what = e.what();
        if (!c["message"].is_null()) {
          EXPECT_NE(what.find(c["message"].get<std::string>()), std::string::npos) << what;
        }
        EXPECT_EQ(what.rfind(path, 0), 0u) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      }
      const auto fallback = modebench::Policy::load_or_default(path, synthetic_host());
      const auto d = fallback.choose("linear", {{"in_features", 8}, {"out_features", 8}}, 4);
      EXPECT_EQ(d.mode, "cpu");
      EXPECT_EQ(d.source, modebench::kDefault);
      EXPECT_EQ(d.reason.rfind("safe default (cpu): " + path, 0), 0u) << d.reason;
      continue;
    }
    try {
      const auto policy = modebench::Policy::load(path, synthetic_host());
      for (const json& q : c["queries"]) {
        SCOPED_TRACE(q.dump(-1, ' ', true));
        if (q["expect"] == "ShapeError")
          EXPECT_THROW(choose(policy, q), modebench::ShapeError);
        else
          expect_decision(choose(policy, q), q["expect"]);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "refused: " << e.what();
    }
  }
}

TEST(PolicyReader, ConvShorthandsExpandAsInPython) {
  const auto s = modebench::normalize(
      "conv2d",
      {{"in_channels", 3}, {"out_channels", 8}, {"height", 9}, {"width", 9}, {"kernel_size", 3}, {"stride", 2}});
  EXPECT_EQ(s.at("kernel_h"), 3);
  EXPECT_EQ(s.at("kernel_w"), 3);
  EXPECT_EQ(s.at("stride_w"), 2);
  EXPECT_EQ(s.at("pad_h"), 0);
  EXPECT_EQ(s.at("groups"), 1);
  EXPECT_EQ(s.count("kernel_size"), 0u);
}

// conv1d's defaults and checks, as features.py has them (the vectors hold the same cases).
TEST(PolicyReader, Conv1dDefaultsAndImpossibleShapes) {
  const auto s =
      modebench::normalize("conv1d", {{"in_channels", 4}, {"out_channels", 8}, {"length", 9}, {"kernel", 3}});
  EXPECT_EQ(s.at("stride"), 1);
  EXPECT_EQ(s.at("padding"), 0);
  EXPECT_EQ(s.at("dilation"), 1);
  EXPECT_EQ(s.at("groups"), 1);
  // Output length 9 + 2 * 9 - 3 * 6 - 1 + 1 = 9 with XTTS's k7 d3 p9: 2 * B * K * Lout * C * k flops.
  const auto f = modebench::features(
      "conv1d",
      {{"in_channels", 4}, {"out_channels", 8}, {"length", 9}, {"kernel", 7}, {"padding", 9}, {"dilation", 3}}, 2);
  EXPECT_DOUBLE_EQ(f.flop, 2.0 * 2 * 8 * 9 * 4 * 7);
  EXPECT_EQ(f.kind, "dense");
  EXPECT_THROW(modebench::normalize(
                   "conv1d", {{"in_channels", 4}, {"out_channels", 8}, {"length", 8}, {"kernel", 5}, {"dilation", 2}}),
               modebench::ShapeError);  // a 9-wide window on 8 positions
  EXPECT_THROW(modebench::normalize(
                   "conv1d", {{"in_channels", 6}, {"out_channels", 4}, {"length", 8}, {"kernel", 3}, {"groups", 4}}),
               modebench::ShapeError);
  EXPECT_THROW(modebench::normalize(
                   "conv1d", {{"in_channels", 6}, {"out_channels", 4}, {"length", 8}, {"kernel", 3}, {"padding", -1}}),
               modebench::ShapeError);
}

TEST(PolicyReader, BadFilesGiveOneLineAndTheSafeDefault) {
  const std::pair<std::string, std::string> bad[] = {
      {"", "empty file"},
      {"{schema:", "not JSON"},
      {"{\"schema\": \"modebench-policy/1\", \"host\": {}, \"rules\": [], \"x\": NaN}", "not JSON"},
      {"{\"schema\": \"modebench-policy/9\", \"host\": {}, \"rules\": []}", "schema is 'modebench-policy/9'"},
      {"[1, 2]", "the document is not an object"},
      {"{\"schema\": \"modebench-policy/2\", \"host\": {}, \"rules\": [], \"identity\": {}}", "models is not a list"},
      {"{\"schema\": \"modebench-policy/1\", \"host\": {}, \"rules\": [{\"op\": \"linear\", \"case\": \"x\", "
       "\"ranges\": "
       "[{\"batch_min\": 1, \"batch_max\": 4, \"mode\": \"cpu\", \"impl\": \"a\", \"confidence\": 0.5}]}]}",
       "must be null"},
      {"{\"schema\": \"modebench-policy/1\", \"host\": {}, \"rules\": [{\"op\": \"linear\", \"case\": \"x\", "
       "\"ranges\": "
       "[{\"batch_min\": 1, \"batch_max\": null, \"mode\": \"cpu\", \"impl\": \"a\", \"confidence\": 1.5}]}]}",
       "rules[0].ranges[0].confidence"},
  };
  int i = 0;
  for (const auto& [text, message] : bad) {
    const fs::path p = temp_file("bad" + std::to_string(i++), text);
    SCOPED_TRACE(text);
    try {
      modebench::Policy::load(p.string(), synthetic_host());
      ADD_FAILURE() << "accepted";
    } catch (const modebench::PolicyError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(message), std::string::npos) << what;
      EXPECT_EQ(what.rfind(p.string(), 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    const auto fallback = modebench::Policy::load_or_default(p.string(), synthetic_host());
    const auto d = fallback.choose("linear", {{"in_features", 8}, {"out_features", 8}}, 4);
    EXPECT_EQ(d.mode, "cpu");
    EXPECT_EQ(d.impl, "");
    EXPECT_EQ(d.source, modebench::kDefault);
    EXPECT_EQ(d.reason.rfind("safe default (cpu): ", 0), 0u);
    EXPECT_TRUE(fallback.is_default());
    fs::remove(p);
  }
  EXPECT_THROW(modebench::Policy::load("/nonexistent/policy.json", synthetic_host()), modebench::PolicyError);
}

TEST(PolicyReader, AnotherHostIsRefusedUnlessAllowed) {
  modebench::HostFacts other = host_of(json());
  other.gpu_cc = "8.6";
  const std::string path = vectors("policy_synthetic_v2.json");
  try {
    modebench::Policy::load(path, {other, false});
    ADD_FAILURE() << "accepted another host";
  } catch (const modebench::HostMismatch& e) {
    EXPECT_NE(std::string(e.what()).find("gpu_cc: here '8.6', policy '12.0'"), std::string::npos) << e.what();
  }
  const auto allowed = modebench::Policy::load(path, {other, true});
  EXPECT_NE(allowed.choose("linear", {{"in_features", 1280}, {"out_features", 1000}}, 64)
                .reason.find("policy from another host"),
            std::string::npos);
  // Facts the application does not know are not compared.
  modebench::HostFacts partial;
  partial.cpu_model = "Synthetic CPU";
  EXPECT_EQ(modebench::Policy::load(path, {partial, false})
                .choose("linear", {{"in_features", 1280}, {"out_features", 1000}}, 64)
                .mode,
            "gpu");
}

TEST(PolicyReader, DetectReadsProc) {
  const fs::path root = fs::temp_directory_path() / "modebench_policy_test_proc";
  fs::remove_all(root);
  fs::create_directories(root / "driver/nvidia/gpus/0000:01:00.0");
  std::ofstream(root / "driver/nvidia/gpus/0000:01:00.0/information")
      << "Model: \t\t NVIDIA GeForce RTX 5090\nIRQ: 1\n";
  std::ofstream(root / "driver/nvidia/version")
      << "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  575.51.02  Release Build\n";
  std::ofstream(root / "cpuinfo") << "processor: 0\nmodel name\t: AMD Ryzen 9 9950X 16-Core Processor\n";
  const auto h = modebench::HostFacts::detect("12.0", root.string());
  EXPECT_EQ(h.cpu_model.value_or(""), "AMD Ryzen 9 9950X 16-Core Processor");
  ASSERT_TRUE(h.gpus.has_value());
  EXPECT_EQ(*h.gpus, std::vector<std::string>{"NVIDIA GeForce RTX 5090"});
  EXPECT_EQ(h.driver.value_or(""), "575.51.02");
  const auto bare = modebench::HostFacts::detect(std::nullopt, (root / "nothing").string());
  EXPECT_FALSE(bare.cpu_model.has_value());
  EXPECT_TRUE(bare.gpus.has_value() && bare.gpus->empty());
  EXPECT_FALSE(bare.driver.has_value());
  // aarch64 kernels write no "model name": the first CPU's implementer and part (a Grace core)
  std::ofstream(root / "cpuinfo") << "processor\t: 0\nBogoMIPS\t: 2000.00\nCPU implementer\t: 0x41\n"
                                     "CPU architecture: 8\nCPU part\t: 0xd4f\n\nprocessor\t: 1\n"
                                     "CPU implementer\t: 0x61\nCPU part\t: 0x022\n";
  EXPECT_EQ(modebench::HostFacts::detect(std::nullopt, root.string()).cpu_model.value_or(""),
            "aarch64 implementer 0x41 part 0xd4f");
  std::ofstream(root / "cpuinfo") << "processor\t: 0\n";
  EXPECT_EQ(modebench::HostFacts::detect(std::nullopt, root.string()).cpu_model.value_or(""), "unknown");
  fs::remove_all(root);
}

TEST(PolicyReader, BadShapesThrow) {
  const auto p = modebench::Policy::load(vectors("policy_synthetic_v2.json"), synthetic_host());
  EXPECT_THROW(p.choose("linear", {{"in_features", 3}}, 1), modebench::ShapeError);
  EXPECT_THROW(p.choose("linear", {{"in_features", 3}, {"out_features", 3}}, 0), modebench::ShapeError);
  EXPECT_THROW(p.choose("pool2d", {}, 1), modebench::ShapeError);
}

}  // namespace

namespace {

TEST(PolicyReader, ADeviceNameWithANoteIsNoGpuName) {
  json doc = read("policy_synthetic_v1.json");
  doc["host"]["device_name"] = "none (no CUDA driver (libcuda not loadable))";
  doc["host"]["device_cc"] = "none";
  const fs::path p = temp_file("note", doc.dump());
  modebench::HostFacts here;
  here.cpu_model = "Synthetic CPU";
  here.gpus = std::vector<std::string>{"Any GPU"};
  here.gpu_cc = "9.0";
  EXPECT_EQ(modebench::Policy::load(p.string(), {here, false}).host_note(), "");
  fs::remove(p);
}

}  // namespace

namespace {

// Batches worth asking a plan about: small ones, each piece's edges, and far out.
std::vector<int64_t> probe_batches(const modebench::Plan& plan) {
  std::vector<int64_t> b;
  for (int64_t i = 1; i <= 300; ++i) b.push_back(i);
  for (const auto& piece : plan.pieces())
    for (int64_t e : {piece.batch_min - 1, piece.batch_min, piece.batch_min + 1})
      if (e >= 1) b.push_back(e);
  for (int64_t far : {int64_t{4096}, int64_t{1} << 20, int64_t{1} << 40, int64_t{1} << 62}) b.push_back(far);
  return b;
}

// A plan gives choose()'s mode, impl, confidence and source at every batch: for every query of
// the shared vectors, on every piece's edges and far beyond the measured batches.
TEST(PolicyPlan, GivesChoosesDecisionAtEveryBatch) {
  for (const json& q : read("policy_decisions.json")) {
    SCOPED_TRACE(q.dump());
    const auto policy = modebench::Policy::load(vectors(q["policy"]), {host_of(q["host"]), !q["host"].is_null()});
    const std::string case_name = q["case"].is_null() ? "" : q["case"].get<std::string>();
    const modebench::Plan plan = policy.plan(q["op"], shape_of(q["shape"]), case_name);
    ASSERT_FALSE(plan.pieces().empty());
    EXPECT_EQ(plan.pieces().front().batch_min, 1);
    EXPECT_FALSE(plan.pieces().back().batch_max.has_value());
    for (size_t k = 1; k < plan.pieces().size(); ++k)
      EXPECT_EQ(*plan.pieces()[k - 1].batch_max + 1, plan.pieces()[k].batch_min);
    for (int64_t b : probe_batches(plan)) {
      const modebench::Decision want = policy.choose(q["op"], shape_of(q["shape"]), b, case_name);
      const modebench::Decision& got = plan.choose(b);
      ASSERT_EQ(got.mode + "/" + got.impl + " " + got.source, want.mode + "/" + want.impl + " " + want.source)
          << "batch " << b;
      EXPECT_EQ(got.confidence, want.confidence) << "batch " << b;
    }
  }
}

// The same pieces, decisions and reasons as the Python reader (tests/vectors/policy_plans.json).
TEST(PolicyPlan, PiecesAgreeWithThePythonVectors) {
  const json plans = read("policy_plans.json");
  ASSERT_GE(plans.size(), 10u);
  for (const json& v : plans) {
    SCOPED_TRACE(v.dump());
    const auto policy = modebench::Policy::load(vectors(v["policy"]), {host_of(v["host"]), !v["host"].is_null()});
    const modebench::Plan plan =
        policy.plan(v["op"], shape_of(v["shape"]), v["case"].is_null() ? "" : v["case"].get<std::string>());
    ASSERT_EQ(plan.pieces().size(), v["pieces"].size());
    for (size_t k = 0; k < plan.pieces().size(); ++k) {
      const auto& got = plan.pieces()[k];
      const json& want = v["pieces"][k];
      EXPECT_EQ(got.batch_min, want["batch_min"].get<int64_t>());
      EXPECT_EQ(got.batch_max.has_value(), !want["batch_max"].is_null());
      if (got.batch_max && !want["batch_max"].is_null()) {
        EXPECT_EQ(*got.batch_max, want["batch_max"].get<int64_t>());
      }
      expect_decision(got.decision, want);
    }
  }
}

// The cost model's pieces against choose() batch by batch, on shapes no rule measured.
TEST(PolicyPlan, AgreesWithChooseOnUnmeasuredShapes) {
  const auto p = modebench::Policy::load(vectors("policy_synthetic_v2.json"), synthetic_host());
  std::vector<std::pair<std::string, modebench::Shape>> shapes;
  for (int64_t in : {16, 100, 512, 1024, 3000, 8192})
    for (int64_t out : {8, 256, 1000, 4096}) shapes.push_back({"linear", {{"in_features", in}, {"out_features", out}}});
  for (int64_t c : {3, 32, 96, 256})
    for (int64_t hw : {7, 56, 224}) {
      shapes.push_back({"conv2d",
                        {{"in_channels", c},
                         {"out_channels", c},
                         {"height", hw},
                         {"width", hw},
                         {"kernel_size", 3},
                         {"padding", 1}}});
      shapes.push_back({"conv2d",
                        {{"in_channels", c},
                         {"out_channels", c},
                         {"height", hw},
                         {"width", hw},
                         {"kernel_size", 3},
                         {"padding", 1},
                         {"groups", c}}});
    }
  for (int64_t c : {32, 128, 512})
    for (int64_t length : {87, 5568, 22272})
      for (int64_t dilation : {1, 3, 5})
        shapes.push_back({"conv1d",
                          {{"in_channels", c},
                           {"out_channels", c},
                           {"length", length},
                           {"kernel", 7},
                           {"padding", 3 * dilation},
                           {"dilation", dilation}}});
  shapes.push_back({"knn", {}});
  for (const auto& [op, shape] : shapes) {
    const modebench::Plan plan = p.plan(op, shape);
    std::vector<int64_t> batches = probe_batches(plan);
    for (int64_t b = 301; b <= 5000; b += 7) batches.push_back(b);
    for (int64_t b : batches) {
      const modebench::Decision want = p.choose(op, shape, b);
      const modebench::Decision& got = plan.choose(b);
      ASSERT_EQ(got.mode + "/" + got.impl + " " + got.source, want.mode + "/" + want.impl + " " + want.source)
          << op << " " << json(shape).dump() << " batch " << b;
    }
  }
}

TEST(PolicyPlan, CutsTheCostModelWhereItsChoiceChanges) {
  const auto p = modebench::Policy::load(vectors("policy_synthetic_v2.json"), synthetic_host());
  const modebench::Plan plan = p.plan("linear", {{"in_features", 1024}, {"out_features", 1024}});
  ASSERT_GE(plan.pieces().size(), 2u);
  for (const auto& piece : plan.pieces()) {
    EXPECT_EQ(piece.decision.source, modebench::kModel);
    EXPECT_NE(piece.decision.reason.find("for batches " + std::to_string(piece.batch_min) + ".."), std::string::npos)
        << piece.decision.reason;
  }
  // The measured case: a piece per range, each reason naming its batches.
  const modebench::Plan measured = p.plan("linear", {{"in_features", 1280}, {"out_features", 1000}});
  EXPECT_EQ(measured.choose(8).reason.rfind("measured: linear/mobilenetv2_head batches 5..12 in 5..12: ", 0), 0u)
      << measured.choose(8).reason;
}

TEST(PolicyPlan, RefusesWhatChooseRefuses) {
  const auto p = modebench::Policy::load(vectors("policy_synthetic_v2.json"), synthetic_host());
  EXPECT_THROW(p.plan("linear", {{"in_features", 3}}), modebench::ShapeError);
  EXPECT_THROW(p.plan("pool2d", {}), modebench::ShapeError);
  const modebench::Plan plan = p.plan("linear", {{"in_features", 3}, {"out_features", 3}});
  EXPECT_THROW(plan.choose(0), modebench::ShapeError);
  EXPECT_THROW(modebench::Plan().choose(1), std::logic_error);
  // The safe default plans too: one piece, the error in its reason.
  const auto bad = modebench::Policy::load_or_default("/nonexistent/policy.json");
  const modebench::Plan safe = bad.plan("linear", {{"in_features", 3}, {"out_features", 3}});
  ASSERT_EQ(safe.pieces().size(), 1u);
  EXPECT_EQ(safe.choose(1 << 20).source, modebench::kDefault);
}

}  // namespace
