#pragma once
// modebench probe: what will run on this box, and why (issue 4, cuda-facts.md).
#include <string>
#include <vector>

#include "harness/selection.hpp"

namespace mb {

struct ProbeOptions {
  int64_t batch_override = 0;  // 0: each case's smallest batch
  bool child_row = false;      // internal: this process runs one matrix row
};

int probe_main(const Selection& sel, const ProbeOptions& opts, const std::string& json_out,
               const std::vector<std::string>& original_args);

}  // namespace mb
