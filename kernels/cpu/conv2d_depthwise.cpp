#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/conv2d.hpp"

namespace mb::cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

}  // namespace

void conv2d_depthwise(const float* x, const float* w, const float* b, float* y, const ref::Conv2dShape& s) {
  if (!is_depthwise(s)) throw std::invalid_argument("conv2d_depthwise needs groups == C == K");
  const int64_t P = s.P(), Q = s.Q(), H = s.H, W = s.W, R = s.R, S = s.S, st = s.stride, pad = s.pad;
  const int64_t planes = s.N * s.C;
  // One (n, c) plane per iteration: the plane's input (56x56: 12.5 KB) and the output row
  // being accumulated stay in L1, so input and output each cross memory once.
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t c = plane % s.C;
    const float* xp = x + plane * H * W;
    float* yp = y + plane * P * Q;
    const float* wc = w + c * R * S;
    const float bias = b[c];
    for (int64_t p = 0; p < P; ++p) {
      float* __restrict__ yrow = yp + p * Q;
      for (int64_t q = 0; q < Q; ++q) yrow[q] = bias;
      for (int64_t r = 0; r < R; ++r) {
        const int64_t ih = p * st - pad + r;
        if (ih < 0 || ih >= H) continue;
        const float* __restrict__ xrow = xp + ih * W;
        for (int64_t t = 0; t < S; ++t) {
          const float wv = wc[r * S + t];
          // Output columns whose tap t lands inside the row; the rest read zero padding.
          const int64_t q_lo = std::clamp<int64_t>(ceil_div(pad - t, st), 0, Q);
          const int64_t q_hi = std::clamp<int64_t>(ceil_div(W + pad - t, st), q_lo, Q);
          const int64_t off = t - pad;
          if (st == 1) {
#pragma omp simd
            for (int64_t q = q_lo; q < q_hi; ++q) yrow[q] += wv * xrow[q + off];
          } else {
#pragma omp simd
            for (int64_t q = q_lo; q < q_hi; ++q) yrow[q] += wv * xrow[q * st + off];
          }
        }
      }
    }
  }
}

}  // namespace mb::cpu
