#pragma once
// Reference of torch.nn.functional.conv1d: input [N, C, L], weight [K, C/groups, kernel],
// bias [K], cross-correlation, zero padding, stride, dilation, groups.
#include <cmath>
#include <cstdint>

#include "cpu_ref/checked_size.hpp"
#include "cpu_ref/ref_value.hpp"

namespace mb::ref {

struct Conv1dShape {
  int64_t N, C, L;    // input
  int64_t K, kernel;  // output channels, taps
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1;

  // Output length as torch.nn.Conv1d documents it:
  // floor((L + 2 padding - dilation (kernel - 1) - 1) / stride + 1), evaluated as written, in
  // double (exact at these sizes). The kernels compute theirs apart (kernels/cpu/conv1d.hpp).
  int64_t Lout() const {
    return static_cast<int64_t>(std::floor((static_cast<double>(L) + 2.0 * static_cast<double>(pad) -
                                            static_cast<double>(dilation) * static_cast<double>(kernel - 1) - 1.0) /
                                               static_cast<double>(stride) +
                                           1.0));
  }
  int64_t Cg() const { return C / groups; }  // input channels per group
  int64_t Kg() const { return K / groups; }  // output channels per group
  // Element counts; SizeOverflow when int64 cannot hold them.
  int64_t input_size() const { return checked_product({N, C, L}); }
  int64_t weight_size() const { return checked_product({K, Cg(), kernel}); }
  int64_t output_size() const { return checked_product({N, K, Lout()}); }
  // Every dimension positive, channels divisible by groups, at least one output position.
  bool valid() const {
    return N > 0 && C > 0 && L > 0 && K > 0 && kernel > 0 && stride > 0 && pad >= 0 && dilation > 0 && groups > 0 &&
           C % groups == 0 && K % groups == 0 && L + 2 * pad >= dilation * (kernel - 1) + 1;
  }
};

// Output (n, k, l) in double, with its error scale sum |x*w| over the window + |b_k|.
RefValue conv1d_at(const float* x, const float* w, const float* b, const Conv1dShape& s, int64_t n, int64_t k,
                   int64_t l);

// Every output, [N, K, Lout] (for small problems and tests).
void conv1d(const float* x, const float* w, const float* b, const Conv1dShape& s, double* y);

}  // namespace mb::ref
