#include <algorithm>
#include <stdexcept>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <vector>

#include "kernels/cpu/conv2d.hpp"

namespace mb::cpu {
namespace {

constexpr int64_t kLanes = 8;  // one AVX2 register of floats: the output block kept in registers

// One (n, c) plane: xpad is the input plane with its zero border already in place, so the
// tap loops have no bounds checks. Each block of kLanes outputs accumulates all R*S taps in
// registers and is stored once. R and S are template arguments where known so the tap
// loops unroll (3x3 is every depthwise layer of MobileNetV2).
template <int64_t kR, int64_t kS>
void plane(const float* __restrict__ xpad, int64_t Wp, const float* __restrict__ wc, float bias, float* __restrict__ yp,
           int64_t P, int64_t Q, int64_t st, int64_t R_, int64_t S_) {
  const int64_t R = kR > 0 ? kR : R_, S = kS > 0 ? kS : S_;
  int64_t p = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // Explicit AVX2 for the stride-1 case (all of MobileNetV2's stride-1 layers): a 2 rows x
  // 16 columns output tile in four registers; each input row segment loaded once serves
  // both output rows that read it.
  if (st == 1) {
    const __m256 vb = _mm256_set1_ps(bias);
    for (; p + 2 <= P; p += 2) {
      const float* xbase = xpad + p * Wp;
      int64_t q0 = 0;
      for (; q0 + 2 * kLanes <= Q; q0 += 2 * kLanes) {
        __m256 a00 = vb, a01 = vb, a10 = vb, a11 = vb;
        for (int64_t ir = 0; ir <= R; ++ir)
          for (int64_t t = 0; t < S; ++t) {
            const float* xr = xbase + ir * Wp + q0 + t;
            const __m256 x0 = _mm256_loadu_ps(xr), x1 = _mm256_loadu_ps(xr + kLanes);
            if (ir < R) {  // output row p, filter row ir
              const __m256 wv = _mm256_set1_ps(wc[ir * S + t]);
              a00 = _mm256_fmadd_ps(wv, x0, a00);
              a01 = _mm256_fmadd_ps(wv, x1, a01);
            }
            if (ir > 0) {  // output row p + 1, filter row ir - 1
              const __m256 wv = _mm256_set1_ps(wc[(ir - 1) * S + t]);
              a10 = _mm256_fmadd_ps(wv, x0, a10);
              a11 = _mm256_fmadd_ps(wv, x1, a11);
            }
          }
        _mm256_storeu_ps(yp + p * Q + q0, a00);
        _mm256_storeu_ps(yp + p * Q + q0 + kLanes, a01);
        _mm256_storeu_ps(yp + (p + 1) * Q + q0, a10);
        _mm256_storeu_ps(yp + (p + 1) * Q + q0 + kLanes, a11);
      }
      for (; q0 + kLanes <= Q; q0 += kLanes) {  // one 8-column block left (56 = 3 x 16 + 8)
        __m256 a0 = vb, a1 = vb;
        for (int64_t ir = 0; ir <= R; ++ir)
          for (int64_t t = 0; t < S; ++t) {
            const __m256 x0 = _mm256_loadu_ps(xbase + ir * Wp + q0 + t);
            if (ir < R) a0 = _mm256_fmadd_ps(_mm256_set1_ps(wc[ir * S + t]), x0, a0);
            if (ir > 0) a1 = _mm256_fmadd_ps(_mm256_set1_ps(wc[(ir - 1) * S + t]), x0, a1);
          }
        _mm256_storeu_ps(yp + p * Q + q0, a0);
        _mm256_storeu_ps(yp + (p + 1) * Q + q0, a1);
      }
      for (; q0 < Q; ++q0)  // column tail of both rows
        for (int64_t pp = p; pp < p + 2; ++pp) {
          float acc = bias;
          for (int64_t r = 0; r < R; ++r)
            for (int64_t t = 0; t < S; ++t) acc += wc[r * S + t] * xpad[(pp + r) * Wp + q0 + t];
          yp[pp * Q + q0] = acc;
        }
    }
  }
#endif
  for (; p < P; ++p) {
    float* yrow = yp + p * Q;
    const float* xbase = xpad + p * st * Wp;
    int64_t q0 = 0;
    for (; q0 + kLanes <= Q; q0 += kLanes) {
      float acc[kLanes];
      for (int64_t i = 0; i < kLanes; ++i) acc[i] = bias;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t t = 0; t < S; ++t) {
          const float wv = wc[r * S + t];
          const float* xr = xbase + r * Wp + q0 * st + t;
          if (st == 1) {
            for (int64_t i = 0; i < kLanes; ++i) acc[i] += wv * xr[i];
          } else {
            for (int64_t i = 0; i < kLanes; ++i) acc[i] += wv * xr[i * st];
          }
        }
      for (int64_t i = 0; i < kLanes; ++i) yrow[q0 + i] = acc[i];
    }
    for (; q0 < Q; ++q0) {
      float acc = bias;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t t = 0; t < S; ++t) acc += wc[r * S + t] * xbase[r * Wp + q0 * st + t];
      yrow[q0] = acc;
    }
  }
}

}  // namespace

void conv2d_depthwise(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  if (!is_depthwise(s)) throw std::invalid_argument("conv2d_depthwise needs groups == C == K");
  const int64_t P = s.P(), Q = s.Q(), H = s.H, W = s.W, R = s.R, S = s.S, st = s.stride, pad = s.pad;
  const int64_t Hp = H + 2 * pad, Wp = W + 2 * pad;
  const int64_t planes = s.N * s.C;
  const auto run_plane = (R == 3 && S == 3) ? &plane<3, 3> : &plane<0, 0>;
  // One (n, c) plane per iteration: its padded copy (58x58 floats for 56x56) and the
  // output row stay in L1, so input and output each cross memory once.
#pragma omp parallel
  {
    std::vector<float> xpad(static_cast<size_t>(Hp * Wp), 0.0f);  // border stays zero
#pragma omp for schedule(static)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const int64_t c = pl % s.C;
      const float* xp = x + pl * H * W;
      for (int64_t h = 0; h < H; ++h) std::copy(xp + h * W, xp + (h + 1) * W, xpad.data() + (h + pad) * Wp + pad);
      run_plane(xpad.data(), Wp, w + c * R * S, b[c], y + pl * P * Q, P, Q, st, R, S);
    }
  }
}

}  // namespace mb::cpu
