// GCC will not if-convert the formula's clamps (float compares "may trap") and then leaves
// the whole per-pixel loop scalar; nothing here relies on FP exception flags.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels/cpu/ssim.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/gaussian.hpp"
#include "kernels/common/ssim_math.hpp"

namespace mb::cpu {
namespace {

constexpr int R = common::kGaussRadius;
constexpr int T = common::kGaussTaps;
constexpr int Q = 5;  // mu_x, mu_y, E[x^2], E[y^2], E[xy]

constexpr float tap(int i) { return static_cast<float>(common::kGaussTapValues[i]); }

// 11-tap symmetric FIR over a padded row: out[j] = sum_k tap(k) * in[j + k].
void hfir(const float* __restrict in, float* __restrict out, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    out[j] = tap(0) * (in[j] + in[j + 10]) + tap(1) * (in[j + 1] + in[j + 9]) + tap(2) * (in[j + 2] + in[j + 8]) +
             tap(3) * (in[j + 3] + in[j + 7]) + tap(4) * (in[j + 4] + in[j + 6]) + tap(5) * in[j + 5];
}

// The same FIR down a column of 11 rows.
void vfir(const float* const* rows, int64_t off, float* __restrict out, int64_t n) {
  const float* __restrict a0 = rows[0] + off;
  const float* __restrict a1 = rows[1] + off;
  const float* __restrict a2 = rows[2] + off;
  const float* __restrict a3 = rows[3] + off;
  const float* __restrict a4 = rows[4] + off;
  const float* __restrict a5 = rows[5] + off;
  const float* __restrict a6 = rows[6] + off;
  const float* __restrict a7 = rows[7] + off;
  const float* __restrict a8 = rows[8] + off;
  const float* __restrict a9 = rows[9] + off;
  const float* __restrict a10 = rows[10] + off;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    out[j] = tap(0) * (a0[j] + a10[j]) + tap(1) * (a1[j] + a9[j]) + tap(2) * (a2[j] + a8[j]) +
             tap(3) * (a3[j] + a7[j]) + tap(4) * (a4[j] + a6[j]) + tap(5) * a5[j];
}

}  // namespace

SsimFused::SsimFused(int64_t height, int64_t width, int64_t max_tile) : height_(height), width_(width) {
  max_tile = std::max<int64_t>(8, max_tile);
  const int64_t tiles = std::max<int64_t>(1, (width + max_tile - 1) / max_tile);
  tile_w_ = ((width + tiles - 1) / tiles + 7) / 8 * 8;  // equal tiles, 8-float aligned
  threads_ = omp_get_max_threads();
  const size_t per_thread = static_cast<size_t>(T * Q * tile_w_ + Q * (tile_w_ + 2 * R) + Q * tile_w_);
  scratch_.assign(static_cast<size_t>(threads_), std::vector<float>(per_thread, 0.0f));
}

// Rows [row0, row1) of one plane: horizontal pass of each needed input row into the
// ring (once per row), vertical pass + formula + row sum for each output row.
void SsimFused::band(const float* x, const float* y, float* map, int64_t plane, int64_t row0, int64_t row1,
                     int thread) {
  const int64_t H = height_, W = width_, tw = tile_w_, pw = tw + 2 * R;
  float* ring = scratch_[static_cast<size_t>(thread)].data();  // [T][Q][tw]
  float* pad = ring + T * Q * tw;                              // [Q][tw + 2R]: x, y, xx, yy, xy
  float* vert = pad + Q * pw;                                  // [Q][tw]
  const float* xp = x + plane * H * W;
  const float* yp = y + plane * H * W;
  float* mp = map + plane * H * W;

  for (int64_t c0 = 0; c0 < W; c0 += tw) {
    const int64_t n = std::min(tw, W - c0);
    // Input columns [c0 - R, c0 + n + R) clipped to the image; the rest of pad stays zero.
    const int64_t lo = std::max<int64_t>(0, c0 - R), hi = std::min(W, c0 + n + R);
    const int64_t at = lo - (c0 - R);

    auto horizontal = [&](int64_t r) {
      float* slot = ring + ((r + T) % T) * Q * tw;  // r >= -R, so r + T > 0
      if (r < 0 || r >= H) {
        std::memset(slot, 0, sizeof(float) * static_cast<size_t>(Q * tw));
        return;
      }
      float* px = pad;
      float* py = pad + pw;
      // Only the halo outside the image needs zeros; the copies below fill the rest.
      for (float* row : {px, py}) {
        std::fill(row, row + at, 0.0f);
        std::fill(row + at + (hi - lo), row + pw, 0.0f);
      }
      std::memcpy(px + at, xp + r * W + lo, sizeof(float) * static_cast<size_t>(hi - lo));
      std::memcpy(py + at, yp + r * W + lo, sizeof(float) * static_cast<size_t>(hi - lo));
      float* __restrict pxx = pad + 2 * pw;
      float* __restrict pyy = pad + 3 * pw;
      float* __restrict pxy = pad + 4 * pw;
#pragma omp simd
      for (int64_t j = 0; j < pw; ++j) {
        pxx[j] = px[j] * px[j];
        pyy[j] = py[j] * py[j];
        pxy[j] = px[j] * py[j];
      }
      for (int q = 0; q < Q; ++q) hfir(pad + q * pw, slot + q * tw, n);
    };

    for (int64_t r = row0 - R; r < row0 + R; ++r) horizontal(r);
    for (int64_t r = row0; r < row1; ++r) {
      horizontal(r + R);
      const float* rows[T];
      for (int k = 0; k < T; ++k) rows[k] = ring + ((r - R + k + T) % T) * Q * tw;
      for (int q = 0; q < Q; ++q) vfir(rows, q * tw, vert + q * tw, n);

      const float* __restrict mx = vert;
      const float* __restrict my = vert + tw;
      const float* __restrict exx = vert + 2 * tw;
      const float* __restrict eyy = vert + 3 * tw;
      const float* __restrict exy = vert + 4 * tw;
      float* __restrict out = mp + r * W + c0;
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < n; ++j) {
        const float m = common::ssim_value(mx[j], my[j], exx[j], eyy[j], exy[j]);
        out[j] = m;
        sum += m;
      }
      row_sums_[static_cast<size_t>(plane * H + r)] += sum;
    }
  }
}

double SsimFused::run(const float* x, const float* y, float* map, int64_t planes) {
  const int64_t H = height_;
  row_sums_.assign(static_cast<size_t>(planes * H), 0.0);
  // Enough bands for both threads to stay busy on one image, few enough that the
  // 10 halo rows each band recomputes stay a small share of its rows.
  const int64_t want = (8 * threads_ + planes - 1) / planes;
  const int64_t bands = std::clamp<int64_t>(want, 1, std::max<int64_t>(1, H / 32));
  const int64_t band_h = (H + bands - 1) / bands;
  const int64_t items = planes * bands;

#pragma omp parallel for schedule(static) num_threads(threads_)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t plane = it / bands, r0 = (it % bands) * band_h, r1 = std::min(H, r0 + band_h);
    if (r0 < r1) band(x, y, map, plane, r0, r1, omp_get_thread_num());
  }

  double total = 0.0;
  for (double s : row_sums_) total += s;
  const double pixels = static_cast<double>(planes * H * width_);
  return pixels > 0 ? total / pixels : 0.0;
}

}  // namespace mb::cpu
