// libFuzzer target: include/modebench/policy.hpp reading any bytes as a policy file (issue 23).
// Properties checked on every input, beyond "no sanitizer report":
//   - Policy::load_or_default never throws (documented);
//   - load either gives a policy or throws PolicyError (one line, naming the file);
//   - on a loaded policy, choose() on the queries its own rules and models suggest answers or throws
//     ShapeError, never anything else, and Plan::choose agrees with choose() at every batch asked.
// A JSON-aware mutator does half the mutations: a policy that still parses gets one node replaced
// by an edge value (int64 and 2^53 limits, negative, fractional, null, an op or mode name), removed,
// duplicated or copied elsewhere, so that many mutants stay policies and reach the decisions;
// the other half are libFuzzer's byte mutations.
// MODEBENCH_FUZZ_DECISIONS=FILE: every input's outcome and decisions appended to FILE as one JSON
// line keyed by the input's FNV-1a hash, for tests/fuzz/policy_differential.py (the Python reader
// must answer alike). Built and run by ci/fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "include/modebench/policy.hpp"

namespace {

using nlohmann::json;

// The input as a file: the reader takes a path. An in-memory file, rewritten per input.
int memfd = -1;
std::string path;
std::ofstream* dump = nullptr;

modebench::LoadOptions synthetic_host() {  // the hosts of tests/vectors (make_vectors.HOST)
  modebench::HostFacts h;
  h.cpu_model = "Synthetic CPU";
  h.gpus = std::vector<std::string>{"Synthetic GPU"};
  h.gpu_cc = "12.0";
  h.driver = "580.65.06";
  return {h, true};  // another host's policy is still read: its decisions are what is fuzzed
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "policy_fuzz: %s\n", why.c_str());
  std::abort();
}

std::string fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct Query {
  std::string op, case_name;
  modebench::Shape shape;
  json shape_json;
  int64_t batch;
};

// Queries the document itself suggests: each rule's shape and case at its ranges' edges, and a
// fixed shape per op (the cost model's side). Only integer dimensions: a Shape holds int64.
std::vector<Query> queries_of(const json& doc) {
  std::vector<Query> out;
  auto add = [&out](const std::string& op, const json& shape, const std::string& case_name, int64_t batch) {
    if (!shape.is_object()) return;
    Query q{op, case_name, {}, json::object(), batch};
    for (const auto& [k, v] : shape.items()) {
      if (!v.is_number_integer() || v.is_number_unsigned()) return;
      q.shape[k] = v.get<int64_t>();
      q.shape_json[k] = v;
    }
    out.push_back(std::move(q));
  };
  const int64_t batches[] = {1, 2, 8, 1000, int64_t{1} << 40};
  size_t rules = 0;
  for (const json& r : doc["rules"]) {
    if (++rules > 8 || !r.contains("op") || !r["op"].is_string() || !r.contains("shape")) continue;
    const std::string op = r["op"];
    const std::string case_name = r.contains("case") && r["case"].is_string() ? r["case"].get<std::string>() : "";
    for (int64_t b : batches) add(op, r["shape"], case_name, b);
    if (!r.contains("ranges") || !r["ranges"].is_array()) continue;
    for (const json& range : r["ranges"])
      for (const char* key : {"batch_min", "batch_max"})
        if (range.contains(key) && range[key].is_number_integer() && !range[key].is_number_unsigned()) {
          const int64_t b = range[key].get<int64_t>();
          add(op, r["shape"], case_name, b);
          if (b < INT64_MAX) add(op, r["shape"], case_name, b + 1);
        }
  }
  const json fixed = {
      {"linear", {{"in_features", 1280}, {"out_features", 1000}}},
      {"conv2d", {{"in_channels", 3}, {"out_channels", 8}, {"height", 32}, {"width", 32}, {"kernel_size", 3}}},
      {"conv1d",
       {{"in_channels", 32}, {"out_channels", 32}, {"length", 257}, {"kernel", 3}, {"padding", 3}, {"dilation", 3}}},
      {"ssim", {{"height", 64}, {"width", 64}}},
      {"knn", json::object()}};
  for (const auto& [op, shape] : fixed.items())
    for (int64_t b : {1, 64}) add(op, shape, "", b);
  return out;
}

json decision_json(const modebench::Decision& d) {
  return {{"mode", d.mode},
          {"impl", d.impl},
          {"confidence", d.confidence ? json(*d.confidence) : json()},
          {"source", d.source},
          {"reason", d.reason}};
}

void nodes_of(json& j, std::vector<json*>& out) {
  out.push_back(&j);
  if (j.is_structured())
    for (auto& child : j) nodes_of(child, out);
}

json edge_value(std::mt19937& rng) {
  static const json values = {0,
                              1,
                              -1,
                              2,
                              5,
                              64,
                              65,
                              1000,
                              INT64_MAX,
                              INT64_MIN,
                              int64_t{1} << 53,
                              (int64_t{1} << 53) + 1,
                              uint64_t{1} << 63,
                              UINT64_MAX,
                              0.5,
                              0.999,
                              1.5,
                              -0.0,
                              1e-320,
                              1e308,
                              nullptr,
                              true,
                              false,
                              "",
                              "linear",
                              "conv2d",
                              "conv1d",
                              "ssim",
                              "knn",
                              "cpu",
                              "gpu",
                              "hybrid",
                              "ptx-jit",
                              "onednn",
                              "cublas",
                              "none",
                              "unknown (no driver)",
                              "modebench-policy/1",
                              "modebench-policy/2",
                              "flop",
                              "bytes",
                              "points",
                              "call",
                              "dense",
                              "depthwise",
                              "grouped",
                              json::array(),
                              json::object()};
  return values[rng() % values.size()];
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::mt19937 rng(seed);
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (rng() % 2 ||
      modebench::policy_detail::nesting_depth(text, modebench::kPolicyMaxDepth) > modebench::kPolicyMaxDepth)
    return LLVMFuzzerMutate(data, size, max_size);
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return LLVMFuzzerMutate(data, size, max_size);
  std::vector<json*> nodes;
  nodes_of(doc, nodes);
  json& n = *nodes[rng() % nodes.size()];
  switch (rng() % 5) {
    case 0:
    case 1: n = edge_value(rng); break;
    case 2:  // remove a member or element
      if (n.is_object() && !n.empty())
        n.erase(std::next(n.begin(), static_cast<std::ptrdiff_t>(rng() % n.size())));
      else if (n.is_array() && !n.empty())
        n.erase(rng() % n.size());
      break;
    case 3:  // duplicate an element (two ranges, two rules alike)
      if (n.is_array() && !n.empty()) n.push_back(json(n[rng() % n.size()]));
      break;
    case 4: n = json(*nodes[rng() % nodes.size()]); break;  // a copy of any node, this one's parts included
  }
  const std::string out = doc.dump(rng() % 2 ? -1 : 1, ' ', false, json::error_handler_t::replace);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  memfd = memfd_create("policy_fuzz", 0);
  if (memfd < 0) fail("memfd_create failed");
  path = "/proc/self/fd/" + std::to_string(memfd);
  if (const char* out = std::getenv("MODEBENCH_FUZZ_DECISIONS")) dump = new std::ofstream(out, std::ios::app);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != static_cast<ssize_t>(size)) fail("write failed");
  json line = {{"hash", fnv1a(data, size)}};
  // Documented never to throw: an escaping exception ends the process, which libFuzzer reports.
  const auto fallback = modebench::Policy::load_or_default(path, synthetic_host());
  std::optional<modebench::Policy> policy;
  try {
    policy.emplace(modebench::Policy::load(path, synthetic_host()));
  } catch (const modebench::PolicyError& e) {
    const std::string what = e.what();
    if (what.rfind(path, 0) != 0 || what.find('\n') != std::string::npos) fail("not one line naming the file: " + what);
    if (!fallback.is_default()) fail("load refused what load_or_default accepted: " + what);
    line["outcome"] = "rejected";
    line["message"] = what.substr(path.size());
  }
  if (policy) {
    if (fallback.is_default()) fail("load_or_default refused what load accepted: " + fallback.error());
    line["outcome"] = "accepted";
    json answers = json::array();
    for (const Query& q : queries_of(policy->document())) {
      json a = {{"op", q.op}, {"shape", q.shape_json}, {"batch", q.batch}, {"case", q.case_name}};
      bool choose_refused = false, plan_refused = false;
      try {
        a["expect"] = decision_json(policy->choose(q.op, q.shape, q.batch, q.case_name));
      } catch (const modebench::ShapeError&) {
        a["expect"] = "ShapeError";
        choose_refused = true;
      }  // anything else escapes: a bug
      try {
        const modebench::Plan plan = policy->plan(q.op, q.shape, q.case_name);
        const modebench::Decision& p = plan.choose(q.batch);
        if (!choose_refused &&
            (p.mode != a["expect"]["mode"] || p.impl != a["expect"]["impl"] || p.source != a["expect"]["source"] ||
             decision_json(p)["confidence"] != a["expect"]["confidence"]))
          fail("plan and choose disagree at " + a.dump() + ": plan gives " + p.mode + "/" + p.impl);
      } catch (const modebench::ShapeError&) {
        plan_refused = true;
      }
      if (choose_refused != plan_refused) fail("only one of plan and choose refused " + a.dump());
      answers.push_back(std::move(a));
    }
    line["queries"] = std::move(answers);
  }
  if (dump) *dump << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
  return 0;
}
