#pragma once
// The host kernels' SIMD targets (kernels/cpu/simd.hpp) forced one at a time, so the tests of our
// own host kernels run every target this CPU has, the portable EMU128 included, through the same
// dispatch as a run (docs/ops.md, "SIMD targets").
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/cpu/simd.hpp"

namespace mb {

// The value of `key` in a label (key=value;...), "" when absent.
inline std::string label_value(const std::string& label, const std::string& key) {
  const std::string at = key + "=";
  for (size_t begin = 0; begin <= label.size();) {
    const size_t end = std::min(label.find(';', begin), label.size());
    if (label.compare(begin, at.size(), at) == 0) return label.substr(begin + at.size(), end - begin - at.size());
    begin = end + 1;
  }
  return {};
}

// Dispatch limited to `target` for this scope; the CPU's best again after. Not nestable.
class ScopedSimdTarget {
 public:
  explicit ScopedSimdTarget(int64_t target) { hwy::SetSupportedTargetsForTest(target); }
  ~ScopedSimdTarget() { hwy::SetSupportedTargetsForTest(0); }
  ScopedSimdTarget(const ScopedSimdTarget&) = delete;
  ScopedSimdTarget& operator=(const ScopedSimdTarget&) = delete;
};

// body(isa) with each target forced in turn, best first; a failure names the target (isa=...).
template <class Body>
void at_each_simd_target(Body&& body) {
  for (int64_t target : cpu::simd_targets()) {
    const ScopedSimdTarget scoped(target);
    const std::string isa = cpu::isa_name(target);
    SCOPED_TRACE("isa=" + isa);
    body(isa);
  }
}

}  // namespace mb
