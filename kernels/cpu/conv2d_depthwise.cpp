#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/simd.hpp"

// Compiled once per SIMD target (kernels/cpu/simd.hpp): foreach_target.h includes this file again
// for each; conv2d_depthwise calls the best one through HWY_DYNAMIC_DISPATCH.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/conv2d_depthwise.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

namespace mb::cpu {

#ifndef MB_DEPTHWISE_ONCE  // what every target shares: defined on the first pass only
#define MB_DEPTHWISE_ONCE
// Floats past the end of a padded plane: the stride-1 tiles' last vector of a row reads up to
// one vector (16 floats at most: AVX-512; wider SVE vectors are capped to it) beyond the row.
// Padded rows are a whole number of them long, so that one load in three is aligned.
constexpr int64_t kVec = 16;
#endif  // MB_DEPTHWISE_ONCE

HWY_BEFORE_NAMESPACE();
namespace HWY_NAMESPACE {
namespace {  // each file's own: every kernel has an Isa()
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::CappedTag<float, kVec>;
using VF = hn::Vec<DF>;

const char* Isa() { return isa_name(HWY_TARGET); }

// Stride 1: output rows p and, with `two`, p + 1, columns [q0, q0 + cols) with cols <= lanes, in
// one vector per row (a partial one stored under a mask: the row's tail). Each input row segment
// loaded once serves both output rows that read it.
template <int64_t kR, int64_t kS, bool two>
HWY_INLINE void one_vector(DF d, const float* xbase, int64_t Wp, const float* wc, float bias, float* y, int64_t Q,
                           int64_t q0, size_t cols, int64_t R_, int64_t S_) {
  const int64_t R = kR > 0 ? kR : R_, S = kS > 0 ? kS : S_;
  VF a0 = hn::Set(d, bias), a1 = a0;
  for (int64_t ir = 0; ir < R + (two ? 1 : 0); ++ir)
    for (int64_t t = 0; t < S; ++t) {
      const VF x0 = hn::LoadU(d, xbase + ir * Wp + q0 + t);
      if (ir < R) a0 = hn::MulAdd(hn::Set(d, wc[ir * S + t]), x0, a0);
      if (two && ir > 0) a1 = hn::MulAdd(hn::Set(d, wc[(ir - 1) * S + t]), x0, a1);
    }
  if (cols == hn::Lanes(d)) {
    hn::StoreU(a0, d, y + q0);
    if (two) hn::StoreU(a1, d, y + Q + q0);
  } else {
    hn::BlendedStore(a0, hn::FirstN(d, cols), d, y + q0);
    if (two) hn::BlendedStore(a1, hn::FirstN(d, cols), d, y + Q + q0);
  }
}

// One (n, c) plane: xpad is the input plane with its zero border already in place (and kVec
// floats after it), so the tap loops have no bounds checks. Each block of outputs accumulates
// all R*S taps in registers and is stored once. R and S are template arguments where known so
// the tap loops unroll (3x3 is every depthwise layer of MobileNetV2). `next` (bytes) is the
// next plane's input, prefetched a slice per row pair so that its copy finds it in cache.
template <int64_t kR, int64_t kS>
void plane(const float* HWY_RESTRICT xpad, int64_t Wp, const float* HWY_RESTRICT wc, float bias, float* HWY_RESTRICT yp,
           int64_t P, int64_t Q, int64_t st, int64_t R_, int64_t S_, const char* next, int64_t next_bytes) {
  const int64_t R = kR > 0 ? kR : R_, S = kS > 0 ? kS : S_;
  if (st == 1) {
    // A 2 rows x 2 vectors output tile in four registers (all of MobileNetV2's stride-1
    // layers), then one vector per row, then the masked tail; an odd last row alone.
    const DF d;
    const auto N = static_cast<int64_t>(hn::Lanes(d));
    const int64_t prefetch_step = P > 0 ? (next_bytes + P - 1) / P * 2 : 0;  // bytes per row pair
    for (int64_t p = 0; p < P; p += 2) {
      const bool two = p + 1 < P;
      if (next)
        for (int64_t at = p / 2 * prefetch_step; at < std::min(next_bytes, (p / 2 + 1) * prefetch_step); at += 64)
          hwy::Prefetch(next + at);
      const float* xbase = xpad + p * Wp;
      float* y = yp + p * Q;
      int64_t q0 = 0;
      if (two)
        for (; q0 + 2 * N <= Q; q0 += 2 * N) {
          VF a00 = hn::Set(d, bias), a01 = a00, a10 = a00, a11 = a00;
          for (int64_t ir = 0; ir <= R; ++ir)
            for (int64_t t = 0; t < S; ++t) {
              const float* xr = xbase + ir * Wp + q0 + t;
              const VF x0 = hn::LoadU(d, xr), x1 = hn::LoadU(d, xr + N);
              if (ir < R) {  // output row p, filter row ir
                const VF wv = hn::Set(d, wc[ir * S + t]);
                a00 = hn::MulAdd(wv, x0, a00);
                a01 = hn::MulAdd(wv, x1, a01);
              }
              if (ir > 0) {  // output row p + 1, filter row ir - 1
                const VF wv = hn::Set(d, wc[(ir - 1) * S + t]);
                a10 = hn::MulAdd(wv, x0, a10);
                a11 = hn::MulAdd(wv, x1, a11);
              }
            }
          hn::StoreU(a00, d, y + q0);
          hn::StoreU(a01, d, y + q0 + N);
          hn::StoreU(a10, d, y + Q + q0);
          hn::StoreU(a11, d, y + Q + q0 + N);
        }
      for (; q0 < Q; q0 += N) {
        const auto cols = static_cast<size_t>(std::min(N, Q - q0));
        if (two)
          one_vector<kR, kS, true>(d, xbase, Wp, wc, bias, y, Q, q0, cols, R, S);
        else
          one_vector<kR, kS, false>(d, xbase, Wp, wc, bias, y, Q, q0, cols, R, S);
      }
    }
    return;
  }
  // Strided windows: plain loops (the compiler vectorises them for this target where it can).
  for (int64_t p = 0; p < P; ++p) {
    float* yrow = yp + p * Q;
    const float* xbase = xpad + p * st * Wp;
    for (int64_t q = 0; q < Q; ++q) {
      float acc = bias;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t t = 0; t < S; ++t) acc += wc[r * S + t] * xbase[r * Wp + q * st + t];
      yrow[q] = acc;
    }
  }
}

void Planes(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const int64_t P = s.P(), Q = s.Q(), H = s.H, W = s.W, R = s.R, S = s.S, st = s.stride, pad = s.pad;
  const int64_t Hp = H + 2 * pad, Wp = (W + 2 * pad + kVec - 1) / kVec * kVec;
  const int64_t planes = s.N * s.C;
  const auto run_plane = (R == 3 && S == 3) ? &plane<3, 3> : &plane<0, 0>;
  // One (n, c) plane per iteration: its padded copy (58x64 floats for 56x56) and the output
  // row stay in L1, so input and output each cross memory once. The static schedule gives a
  // thread the same planes on every call (they stay in its L2) and the next plane to prefetch.
#pragma omp parallel
  {
    // Zeroed once: the border stays zero. Rows start on a vector boundary (64 bytes).
    std::vector<float> buffer;
    float* const xpad = zeroed_aligned_floats(buffer, static_cast<size_t>(Hp * Wp + kVec));
#pragma omp for schedule(static)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const int64_t c = pl % s.C;
      const float* xp = x + pl * H * W;
      for (int64_t h = 0; h < H; ++h) std::copy(xp + h * W, xp + (h + 1) * W, xpad + (h + pad) * Wp + pad);
      const char* next = pl + 1 < planes ? reinterpret_cast<const char*>(xp + H * W) : nullptr;
      run_plane(xpad, Wp, w + c * R * S, b[c], y + pl * P * Q, P, Q, st, R, S, next,
                H * W * static_cast<int64_t>(sizeof(float)));
    }
  }
}

}  // namespace
}  // namespace HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
HWY_EXPORT(Isa);
HWY_EXPORT(Planes);

std::string conv2d_depthwise_isa() { return HWY_DYNAMIC_DISPATCH(Isa)(); }

void conv2d_depthwise(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  if (!is_depthwise(s)) throw std::invalid_argument("conv2d_depthwise needs groups == C == K");
  HWY_DYNAMIC_DISPATCH(Planes)(x, w, b, y, s);
}
#endif  // HWY_ONCE

}  // namespace mb::cpu
