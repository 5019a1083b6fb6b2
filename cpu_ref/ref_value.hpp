#pragma once

namespace mb {

// One reference output: its value and the magnitude its error is scaled by
// (linear/conv: the sum of |x*w| over the window plus |b|; docs/ops.md).
struct RefValue {
  double value;
  double magnitude;
};

}  // namespace mb
