#pragma once
// Runs entries without Google Benchmark (a provider's executable cannot link it: pre-C++11-ABI
// torch wheels) and writes records of Google Benchmark's JSON shape, as harness/gbench.cpp
// would: each entry is prepared (validated, then warmed up) by the harness's PreparedEntry and
// timed with manual time, its counters and label from entry_counters (harness/record.hpp).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/context.hpp"
#include "harness/runner.hpp"

namespace mb {

// The Google Benchmark flags the loop honours, as modebench passes them on.
struct LoopOptions {
  double min_time_s = 0.5;       // --benchmark_min_time=<s>[s]: time each entry at least this long
  int64_t fixed_iterations = 0;  // --benchmark_min_time=<n>x: exactly n timed calls
  int repetitions = 1;           // --benchmark_repetitions=<n>: records per entry
};
// Throws BadInput on a malformed value; --benchmark_filter is the caller's (filter_entries), other
// --benchmark_* flags (display, output format) are Google Benchmark's business only and are ignored.
LoopOptions parse_loop_options(const std::vector<std::string>& benchmark_flags);

// One Google-Benchmark-shaped record: a timed repetition, or an entry without a timing.
nlohmann::json timed_record(const std::string& name, int64_t iterations, double real_time_us, double cpu_time_us,
                            const nlohmann::json& counters, int repetition, int repetitions);
nlohmann::json error_record(const std::string& name, const std::string& message);

// Runs the entries in order, each announced to and reported in
// `entry_log` (when set) as soon as it completes; writes `json_out` (when set) atomically.
// Returns how many were wrong.
int run_entries(const std::vector<Entry>& entries, const RunConfig& cfg, const LoopOptions& options,
                const Facts& context, const std::string& json_out, const std::string& entry_log);

}  // namespace mb
