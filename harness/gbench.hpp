#pragma once
// Google Benchmark glue: one registered benchmark per entry, manual time,
// the counters and label of contract.md, and the atomic JSON write.
#include <map>
#include <string>
#include <vector>

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
};

// Registers every entry with Google Benchmark and runs them. `json_out` (may
// be empty) is written atomically. Google Benchmark flags in `gbench_args`.
RunSummary run_benchmarks(const std::vector<Entry>& entries, const RunConfig& cfg, const Facts& context,
                          const std::string& json_out, std::vector<std::string> gbench_args);

// Folds a child process's result file (the ptx-jit entries) into `json_path`,
// atomically; creates `json_path` when the parent ran nothing itself. Entries the
// child never reported (it crashed, hung or was killed) become records with the
// status `missing`, so no selected entry silently disappears.
void fold_child_results(const std::string& json_path, const std::string& child_json, const std::vector<Entry>& expected,
                        const Status& missing, const Facts& context);

// Writes `text` to `path` through a temp file in the same folder and a rename.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace mb
