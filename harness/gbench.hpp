#pragma once
// Google Benchmark glue: one registered benchmark per entry, manual time,
// the counters and label of docs/contract.md, and the atomic JSON write.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/atomic_file.hpp"
#include "harness/context.hpp"
#include "harness/runner.hpp"

namespace mb {

// How many entries ended with each status.
struct RunSummary {
  std::map<StatusKind, int> counts;
  void add(StatusKind k, int n = 1) { counts[k] += n; }
  int count(StatusKind k) const {
    auto it = counts.find(k);
    return it == counts.end() ? 0 : it->second;
  }
  std::string describe() const;  // "3 ok, 1 unavailable, ..." (every kind, in severity order)
  // What Google Benchmark reported, as its JSON ({"context", "benchmarks"}), read back from
  // memory; `results_error` says why when it could not be (then `results` is empty).
  nlohmann::ordered_json results;
  std::string results_error;
};

// Registers every entry with Google Benchmark and runs them. `json_out` (may be empty; run
// writes its own file from `results`) is written whole or not at all: throws
// std::runtime_error when it cannot be. Google Benchmark flags in `gbench_args`. In a child,
// `entry_log` names the log its parent reads (harness/child_log.hpp).
RunSummary run_benchmarks(const std::vector<Entry>& entries, const RunConfig& cfg, const Facts& context,
                          const std::string& json_out, std::vector<std::string> gbench_args,
                          const std::string& entry_log = {});

}  // namespace mb
