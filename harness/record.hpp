#pragma once
// The counters and label of one timed entry (docs/contract.md, "Benchmark names and JSON"),
// computed in one place for both writers of result records: Google Benchmark's
// (harness/gbench.cpp) and a provider executable's own timing loop, which cannot link
// Google Benchmark (providers/torch/entry_loop.*: pre-C++11-ABI torch wheels).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/contention.hpp"
#include "harness/op_case.hpp"
#include "harness/runner.hpp"

namespace mb {

// Hybrid: the mean split of the timed calls (copies hidden behind compute count as compute).
class SplitMean {
 public:
  void add(const std::optional<CallSplit>& s) {
    if (!s) return;
    sum_ += *s;
    ++calls_;
  }
  // None when no call reported a split (every mode but hybrid).
  std::optional<CallSplit> mean() const;

 private:
  CallSplit sum_;
  int64_t calls_ = 0;
};

struct EntryCounters {
  // Per call; a record states them per second of one call's time (Google Benchmark's rates
  // FLOPS, bytes_per_second, items_per_second).
  double flops = 0.0, bytes = 0.0, items = 0.0;
  // As they are, in this order: max_err, tolerance; gpu/ptx-jit: first_call_ms,
  // first_call_wall_ms, setup_ms; hybrid: copy_in_ms, compute_ms, copy_out_ms, transfer_fraction;
  // then the timed span's contention (harness/contention.hpp).
  std::vector<std::pair<std::string, double>> values;
  std::string label;
};

// The counters of a prepared (validated) entry whose timed calls had `split` on average and
// ran under `contention`.
EntryCounters entry_counters(const PreparedEntry& p, const std::optional<CallSplit>& split,
                             const ContentionFigures& contention);

}  // namespace mb
