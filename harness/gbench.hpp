#pragma once
// Google Benchmark glue: one registered benchmark per entry, manual time,
// the counters and label of contract.md, and the atomic JSON write.
#include <string>
#include <vector>

#include "harness/context.hpp"
#include "harness/runner.hpp"

namespace mb {

struct RunSummary {
  int ok = 0, unavailable = 0, failed = 0, wrong = 0;
};

// Registers every entry with Google Benchmark and runs them. `json_out` (may
// be empty) is written atomically. Google Benchmark flags in `gbench_args`.
RunSummary run_benchmarks(const std::vector<Entry>& entries, const RunConfig& cfg, const Facts& context,
                          const std::string& json_out, std::vector<std::string> gbench_args);

// Appends the "benchmarks" of `extra_json` (a child's file) to `json_path`, atomically.
void merge_benchmarks(const std::string& json_path, const std::string& extra_json,
                      const std::vector<std::pair<std::string, std::string>>& extra_context);

// Writes `text` to `path` through a temp file in the same folder and a rename.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace mb
