// policy_lookup: what one lookup of the policy reader (include/modebench/policy.hpp) costs an
// application per call: Policy::choose, and a planned lookup (Policy::plan once per shape,
// Plan::choose per call). Medians of 5 rounds of 20 000 calls, batches cycling 1..64, on the
// committed synthetic policy (or the file given): a measured shape, a modelled one, a knn case.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "modebench/policy.hpp"

namespace {

template <class F>
double median_ns_per_call(F&& call) {
  constexpr int kCalls = 20000;
  std::vector<double> rounds;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) call(int64_t{1} + (i & 63));
    rounds.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kCalls);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[2];
}

}  // namespace

int main(int argc, char** argv) {
  using modebench::Shape;
  const std::string path = argc > 1 ? argv[1] : MODEBENCH_SOURCE_DIR "/tests/vectors/policy_synthetic_v2.json";
  modebench::LoadOptions options;
  options.host = modebench::HostFacts{};  // compare no host facts: any policy file will do
  options.allow_other_host = true;
  const modebench::Policy policy = modebench::Policy::load(path, options);
  const std::vector<std::tuple<const char*, std::string, Shape, std::string>> queries = {
      {"measured linear", "linear", {{"in_features", 1280}, {"out_features", 1000}}, ""},
      {"modelled linear", "linear", {{"in_features", 512}, {"out_features", 256}}, ""},
      {"knn case", "knn", {}, "uniform"},
  };
  size_t sink = 0;  // keeps the calls
  std::printf("%-16s %14s %14s\n", "query", "choose ns", "planned ns");
  for (const auto& [what, op, shape, case_name] : queries) {
    const double chosen =
        median_ns_per_call([&](int64_t b) { sink += policy.choose(op, shape, b, case_name).mode.size(); });
    const modebench::Plan plan = policy.plan(op, shape, case_name);
    const double planned = median_ns_per_call([&](int64_t b) { sink += plan.choose(b).mode.size(); });
    std::printf("%-16s %14.0f %14.1f\n", what, chosen, planned);
  }
  return sink == 0;  // never: every mode has a name
}
