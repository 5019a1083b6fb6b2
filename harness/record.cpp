#include "harness/record.hpp"

namespace mb {

std::optional<CallSplit> SplitMean::mean() const {
  if (calls_ == 0) return std::nullopt;
  const double n = static_cast<double>(calls_);
  CallSplit m;
  m.copy_in_ms = sum_.copy_in_ms / n;
  m.compute_ms = sum_.compute_ms / n;
  m.copy_out_ms = sum_.copy_out_ms / n;
  return m;
}

EntryCounters entry_counters(const PreparedEntry& p, const std::optional<CallSplit>& split,
                             const ContentionFigures& contention) {
  const Entry& e = p.entry();
  const OpCase& c = *e.op_case;
  EntryCounters out;
  out.flops = c.flops(e.batch);
  out.bytes = c.bytes(e.batch);
  out.items = static_cast<double>(e.batch);
  out.values = {{"max_err", p.validation().max_err}, {"tolerance", p.validation().tolerance}};
  if (spec_of(e.mode).compute == Side::device) {
    out.values.emplace_back("first_call_ms", p.first_call_ms());
    out.values.emplace_back("first_call_wall_ms", p.first_call_wall_ms());
    out.values.emplace_back("setup_ms", p.setup_ms());
  }
  if (split) {
    out.values.emplace_back("copy_in_ms", split->copy_in_ms);
    out.values.emplace_back("compute_ms", split->compute_ms);
    out.values.emplace_back("copy_out_ms", split->copy_out_ms);
    out.values.emplace_back("transfer_fraction", split->transfer_fraction());
  }
  add_contention_counters(contention, out.values);
  out.label = p.label();
  return out;
}

}  // namespace mb
