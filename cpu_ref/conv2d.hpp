#pragma once
// Reference of torch.nn.functional.conv2d: NCHW input [N,C,H,W], weight
// [K, C/groups, R, S], bias [K], cross-correlation, zero padding, stride, groups.
#include <cmath>
#include <cstdint>

#include "cpu_ref/checked_size.hpp"
#include "cpu_ref/ref_value.hpp"

namespace mb::ref {

struct Conv2dShape {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // output channels, kernel height and width
  int64_t stride = 1, pad = 0, groups = 1;

  // Output rows and columns as torch.nn.Conv2d documents them (dilation 1):
  // floor((H + 2 pad - (R - 1) - 1) / stride + 1), evaluated as written, in double (exact at
  // these sizes). The kernels compute theirs apart (kernels/cpu/conv2d.hpp).
  int64_t P() const { return documented_size(H, R); }
  int64_t Q() const { return documented_size(W, S); }
  int64_t Cg() const { return C / groups; }  // input channels per group
  int64_t Kg() const { return K / groups; }  // output channels per group
  // Element counts; SizeOverflow when int64 cannot hold them (a batch near 2^62).
  int64_t input_size() const { return checked_product({N, C, H, W}); }
  int64_t weight_size() const { return checked_product({K, Cg(), R, S}); }
  int64_t output_size() const { return checked_product({N, K, P(), Q()}); }
  // Every dimension positive, channels divisible by groups, at least one output pixel.
  bool valid() const {
    return N > 0 && C > 0 && H > 0 && W > 0 && K > 0 && R > 0 && S > 0 && stride > 0 && pad >= 0 && groups > 0 &&
           C % groups == 0 && K % groups == 0 && H + 2 * pad >= R && W + 2 * pad >= S;
  }
  int64_t documented_size(int64_t in, int64_t kernel) const {
    return static_cast<int64_t>(
        std::floor((static_cast<double>(in) + 2.0 * static_cast<double>(pad) - static_cast<double>(kernel - 1) - 1.0) /
                       static_cast<double>(stride) +
                   1.0));
  }
};

// Output (n, k, p, q) in double, with its error scale sum |x*w| over the window + |b_k|.
RefValue conv2d_at(const float* x, const float* w, const float* b, const Conv2dShape& s, int64_t n, int64_t k,
                   int64_t p, int64_t q);

// Every output, NCHW [N,K,P,Q] (for small problems and tests).
void conv2d(const float* x, const float* w, const float* b, const Conv2dShape& s, double* y);

}  // namespace mb::ref
