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

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MB_SSIM_AVX2 1
#else
#define MB_SSIM_AVX2 0
#endif

namespace mb::cpu {
namespace {

constexpr int R = common::kGaussRadius;
constexpr int T = common::kGaussTaps;
constexpr int Q = 4;          // mu_x, mu_y, E[x^2 + y^2], E[xy]: the formula needs var_x + var_y only
constexpr int kRing = T + 1;  // two output rows per step read 12 input rows
// Input columns per tile beyond its (8-rounded) width: the 2R halo, rounded up to whole vectors.
constexpr int64_t kPadExtra = (2 * R + 7) / 8 * 8;
constexpr int64_t kPrefetchRows = 2;
constexpr int64_t kBandRows = 256;  // row band of one work item (SsimFused::run)
constexpr int64_t kMinBandRows = 32;
// Each strip blurs x - cx and y - cy (ssim_value_sq_sum's shifts), cx and cy the tile's
// level: fp32 E[x^2 + y^2] - mu^2 then cancels little on flat regions near that level, where
// the formula is most sensitive (d map / d var ~ 1 / C2). Unshifted, a constant 0.6/0.3 pair
// was 1.5e-5 off in the mean; a fixed shift of 0.5 left 0.0/0.02 at 1e-5. Still open: a flat
// region far from its tile's level (1.0/0.95 in a tile whose middle row is 0.0/0.02) is about
// 1.3e-4 off in the map, as any fp32 E[x^2] - mu^2 (the unshifted kernel) is there.

constexpr float tap(int i) { return static_cast<float>(common::kGaussTapValues[i]); }
static_assert(T == 11 && tap(0) == tap(10) && tap(1) == tap(9) && tap(4) == tap(6),
              "row kernels assume 11 symmetric taps");

int64_t round8(int64_t n) { return (n + 7) / 8 * 8; }

// Per thread: ring [kRing][slot_floats(tw)], padded x/y rows and their products [4][tw + kPadExtra],
// the vertical results of two rows [2][Q][tw], a dummy output row [tw], a tail buffer [16].
// Ring slot stride: one row's Q statistics plus a 64-byte line, so the stride is an odd
// number of lines (tw is a multiple of 8) and the 12 rows the vertical pass reads together
// fall in different L1 sets; at tw = 256 a plain 4 KiB stride put all 12 in one 8-way set.
int64_t slot_floats(int64_t tw) { return Q * tw + 16; }
int64_t scratch_floats(int64_t tw) { return kRing * slot_floats(tw) + 4 * (tw + kPadExtra) + 2 * Q * tw + tw + 16; }

// ---- portable row kernels (plain loops the compiler vectorises) ----

// dst = src - shift. ahead: distance (floats) to the image rows to prefetch, 0 for none;
// a tile's rows are short strided runs that the hardware prefetchers follow poorly, and
// these are the kernel's only DRAM reads.
void shift_copy(const float* __restrict src, float* __restrict dst, int64_t n, float shift, int64_t ahead) {
  if (ahead != 0)
    for (int64_t j = 0; j < n; j += 16) __builtin_prefetch(src + j + ahead);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j] - shift;
}

void products_portable(const float* __restrict x, const float* __restrict y, float* __restrict s, float* __restrict p,
                       int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    s[j] = x[j] * x[j] + y[j] * y[j];
    p[j] = x[j] * y[j];
  }
}

// 11-tap symmetric FIR over a padded row: out[j] = sum_k tap(k) * in[j + k].
void hfir_portable(const float* __restrict in, float* __restrict out, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    out[j] = tap(0) * (in[j] + in[j + 10]) + tap(1) * (in[j + 1] + in[j + 9]) + tap(2) * (in[j + 2] + in[j + 8]) +
             tap(3) * (in[j + 3] + in[j + 7]) + tap(4) * (in[j + 4] + in[j + 6]) + tap(5) * in[j + 5];
}

// The same FIR down a column of 11 rows.
void vfir_portable(const float* const* rows, int64_t off, float* __restrict out, int64_t n) {
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

// Output rows r and r + 1 of one tile from ring rows r - R .. r + R + 1: vertical pass,
// formula, map store, row sums.
void vertical_pair_portable(const float* const* rows, int64_t tw, int64_t n, float cx, float cy, float* vert,
                            float* out0, float* out1, double sums[2]) {
  for (int o = 0; o < 2; ++o) {
    for (int q = 0; q < Q; ++q) vfir_portable(rows + o, q * tw, vert + q * tw, n);
    const float* __restrict mx = vert;
    const float* __restrict my = vert + tw;
    const float* __restrict sq = vert + 2 * tw;
    const float* __restrict xy = vert + 3 * tw;
    float* __restrict out = o == 0 ? out0 : out1;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      const float m = common::ssim_value_sq_sum(mx[j], my[j], sq[j], xy[j], cx, cy);
      out[j] = m;
      sum += m;
    }
    sums[o] = sum;
  }
}

#if MB_SSIM_AVX2
// ---- AVX2/FMA row kernels: symmetric taps (pairs added first: 6 multiplies, not 11) ----

struct Taps {
  __m256 t0 = _mm256_set1_ps(tap(0)), t1 = _mm256_set1_ps(tap(1)), t2 = _mm256_set1_ps(tap(2)),
         t3 = _mm256_set1_ps(tap(3)), t4 = _mm256_set1_ps(tap(4)), t5 = _mm256_set1_ps(tap(5));
};

void products_avx2(const float* x, const float* y, float* s, float* p, int64_t n8) {
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 a = _mm256_load_ps(x + j), b = _mm256_load_ps(y + j);
    _mm256_store_ps(s + j, _mm256_fmadd_ps(a, a, _mm256_mul_ps(b, b)));
    _mm256_store_ps(p + j, _mm256_mul_ps(a, b));
  }
}

// Windows at even offsets come from loads, the odd ones from byte shifts of those: this
// machine sustains well under 2 unaligned 32-byte loads per cycle, so loads alone would
// be the limit. Two accumulation chains halve the latency.
template <int Bytes>
inline __m256 alignr(__m256 hi, __m256 lo) {
  return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(hi), _mm256_castps_si256(lo), Bytes));
}

void hfir_avx2(const float* in, float* out, int64_t n8) {
  const Taps k;
  for (int64_t j = 0; j < n8; j += 8) {
    const float* a = in + j;
    const __m256 a0 = _mm256_loadu_ps(a), a2 = _mm256_loadu_ps(a + 2), a4 = _mm256_loadu_ps(a + 4);
    const __m256 a6 = _mm256_loadu_ps(a + 6), a8 = _mm256_loadu_ps(a + 8), a10 = _mm256_loadu_ps(a + 10);
    const __m256 a12 = _mm256_loadu_ps(a + 12);
    // Within each 128-bit lane, alignr(a4, a0, 4) is floats 1..4 of the lane pair: a + 1.
    const __m256 a1 = alignr<4>(a4, a0), a3 = alignr<12>(a4, a0), a5 = alignr<4>(a8, a4), a7 = alignr<12>(a8, a4);
    const __m256 a9 = alignr<4>(a12, a8);
    __m256 u = _mm256_mul_ps(k.t5, a5), v = _mm256_mul_ps(k.t4, _mm256_add_ps(a4, a6));
    u = _mm256_fmadd_ps(k.t3, _mm256_add_ps(a3, a7), u);
    v = _mm256_fmadd_ps(k.t2, _mm256_add_ps(a2, a8), v);
    u = _mm256_fmadd_ps(k.t1, _mm256_add_ps(a1, a9), u);
    v = _mm256_fmadd_ps(k.t0, _mm256_add_ps(a0, a10), v);
    _mm256_store_ps(out + j, _mm256_add_ps(u, v));
  }
}

// Vertical FIR of one statistic for two output rows; each of the 12 input rows is loaded
// once and feeds both. Plain FMAs, not the symmetric pairs: pairing needs rows 0 and 10 live
// together, which with 16 registers turned into two loads per pair (loads are the limit).
inline void vfir2_avx2(const float* const* rows, int64_t off, __m256& o0, __m256& o1) {
  __m256 a = _mm256_load_ps(rows[0] + off);
  o0 = _mm256_mul_ps(_mm256_set1_ps(tap(0)), a);
  a = _mm256_load_ps(rows[1] + off);
  o0 = _mm256_fmadd_ps(_mm256_set1_ps(tap(1)), a, o0);
  o1 = _mm256_mul_ps(_mm256_set1_ps(tap(0)), a);
  for (int i = 2; i < T; ++i) {
    a = _mm256_load_ps(rows[i] + off);
    o0 = _mm256_fmadd_ps(_mm256_set1_ps(tap(i)), a, o0);
    o1 = _mm256_fmadd_ps(_mm256_set1_ps(tap(i - 1)), a, o1);
  }
  a = _mm256_load_ps(rows[T] + off);
  o1 = _mm256_fmadd_ps(_mm256_set1_ps(tap(T - 1)), a, o1);
}

// common::ssim_value_sq_sum on 8 pixels, statistics of x - cx and y - cy.
inline __m256 formula_avx2(__m256 mxs, __m256 mys, __m256 sq, __m256 xy, __m256 cx, __m256 cy) {
  const __m256 two = _mm256_set1_ps(2.0f), c1 = _mm256_set1_ps(common::kSsimC1), c2 = _mm256_set1_ps(common::kSsimC2);
  const __m256 var_sum =
      _mm256_max_ps(_mm256_sub_ps(sq, _mm256_fmadd_ps(mxs, mxs, _mm256_mul_ps(mys, mys))), _mm256_setzero_ps());
  const __m256 cov = _mm256_fnmadd_ps(mxs, mys, xy);
  const __m256 mx = _mm256_add_ps(mxs, cx), my = _mm256_add_ps(mys, cy);
  const __m256 mxy = _mm256_mul_ps(mx, my);
  const __m256 m2 = _mm256_fmadd_ps(mx, mx, _mm256_mul_ps(my, my));
  const __m256 num = _mm256_mul_ps(_mm256_fmadd_ps(two, mxy, c1), _mm256_fmadd_ps(two, cov, c2));
  const __m256 den = _mm256_mul_ps(_mm256_add_ps(m2, c1), _mm256_add_ps(var_sum, c2));
  const __m256 v = _mm256_div_ps(num, den);
  return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-1.0f)), _mm256_set1_ps(1.0f));
}

inline __m256d widen_sum(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

double hsum(__m256d v) {
  alignas(32) double d[4];
  _mm256_store_pd(d, v);
  return (d[0] + d[1]) + (d[2] + d[3]);
}

// One statistic at a time, so the 12 row pointers stay in registers; the formula then
// reads the two rows' four results back from L1.
void vertical_pair_avx2(const float* const* rows, int64_t tw, int64_t n, float cx, float cy, float* vert, float* tail,
                        float* out0, float* out1, double sums[2]) {
  const Taps k;
  const __m256 vcx = _mm256_set1_ps(cx), vcy = _mm256_set1_ps(cy);
  const int64_t n8 = round8(n);
  for (int q = 0; q < Q; ++q) {
    float* v0 = vert + q * tw;
    float* v1 = vert + (Q + q) * tw;
    for (int64_t j = 0; j < n8; j += 8) {
      __m256 o0, o1;
      vfir2_avx2(rows, q * tw + j, o0, o1);
      _mm256_store_ps(v0 + j, o0);
      _mm256_store_ps(v1 + j, o1);
    }
  }
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  double rest0 = 0.0, rest1 = 0.0;
  const float* w0 = vert;
  const float* w1 = vert + Q * tw;
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 m0 = formula_avx2(_mm256_load_ps(w0 + j), _mm256_load_ps(w0 + tw + j), _mm256_load_ps(w0 + 2 * tw + j),
                                   _mm256_load_ps(w0 + 3 * tw + j), vcx, vcy);
    const __m256 m1 = formula_avx2(_mm256_load_ps(w1 + j), _mm256_load_ps(w1 + tw + j), _mm256_load_ps(w1 + 2 * tw + j),
                                   _mm256_load_ps(w1 + 3 * tw + j), vcx, vcy);
    if (j + 8 <= n) {
      _mm256_storeu_ps(out0 + j, m0);
      _mm256_storeu_ps(out1 + j, m1);
      acc0 = widen_sum(acc0, m0);
      acc1 = widen_sum(acc1, m1);
    } else {  // the image's last columns: lanes past n are not pixels
      _mm256_storeu_ps(tail, m0);
      _mm256_storeu_ps(tail + 8, m1);
      for (int64_t i = 0; i < n - j; ++i) {
        out0[j + i] = tail[i];
        out1[j + i] = tail[8 + i];
        rest0 += tail[i];
        rest1 += tail[8 + i];
      }
    }
  }
  sums[0] = hsum(acc0) + rest0;
  sums[1] = hsum(acc1) + rest1;
}
#endif

}  // namespace

void ssim_formula(const float* mu_x, const float* mu_y, const float* e_sq_sum, const float* e_xy, float cx, float cy,
                  float* out, int64_t n, SsimFused::Path path) {
  int64_t j = 0;
#if MB_SSIM_AVX2
  if (path == SsimFused::Path::simd)
    for (; j + 8 <= n; j += 8)
      _mm256_storeu_ps(out + j,
                       formula_avx2(_mm256_loadu_ps(mu_x + j), _mm256_loadu_ps(mu_y + j), _mm256_loadu_ps(e_sq_sum + j),
                                    _mm256_loadu_ps(e_xy + j), _mm256_set1_ps(cx), _mm256_set1_ps(cy)));
#else
  (void)path;
#endif
  for (; j < n; ++j) out[j] = common::ssim_value_sq_sum(mu_x[j], mu_y[j], e_sq_sum[j], e_xy[j], cx, cy);
}

SsimFused::SsimFused(int64_t height, int64_t width, int64_t max_tile, Path path)
    : height_(height), width_(width), path_(MB_SSIM_AVX2 ? path : Path::portable) {
  max_tile = std::max<int64_t>(8, max_tile);
  tiles_ = std::max<int64_t>(1, (width + max_tile - 1) / max_tile);
  tile_w_ = round8((width + tiles_ - 1) / tiles_);  // equal tiles, 8-float aligned
  tiles_ = std::max<int64_t>(1, (width + tile_w_ - 1) / tile_w_);
  threads_ = omp_get_max_threads();
  per_thread_ = static_cast<size_t>((scratch_floats(tile_w_) + 15) / 16 * 16);  // threads on separate lines
  storage_.assign(per_thread_ * static_cast<size_t>(threads_) + 16, 0.0f);
  const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
  base_ = storage_.data() + (64 - addr % 64) % 64 / sizeof(float);
}

// Rows [row0, row1) of column tile `tile` of one plane: horizontal pass of each needed input
// row into the ring (once per row), vertical pass + formula + row sums two output rows at a time.
void SsimFused::strip(const float* x, const float* y, float* map, int64_t plane, int64_t tile, int64_t row0,
                      int64_t row1, int thread) {
  const int64_t H = height_, W = width_, tw = tile_w_, pw = tw + kPadExtra;
  float* ring = scratch(thread);
  const int64_t ss = slot_floats(tw);
  float* padx = ring + kRing * ss;
  float* pady = padx + pw;
  float* ps = pady + pw;
  float* pp = ps + pw;
  float* vert = pp + pw;
  float* dummy = vert + 2 * Q * tw;
  [[maybe_unused]] float* tail = dummy + tw;
  const float* xp = x + plane * H * W;
  const float* yp = y + plane * H * W;
  float* mp = map + plane * H * W;
  double* sums = row_sums_.data() + (plane * tiles_ + tile) * H;
  [[maybe_unused]] const bool simd = path_ == Path::simd;

  const int64_t c0 = tile * tw, n = std::min(tw, W - c0), n8 = round8(n), np = n8 + kPadExtra;
  // The shifts: means of the tile's columns in the plane's middle row (a rule that does not
  // depend on the row bands, so neither does the map).
  auto level = [&](const float* plane_data) {
    const float* row = plane_data + (H / 2) * W + c0;
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) sum += row[j];
    return static_cast<float>(sum / static_cast<double>(n));
  };
  const float cx = level(xp), cy = level(yp);
  // Input columns [c0 - R, c0 - R + np) minus the shift; outside the image (zero) is -shift.
  const int64_t lo = std::max<int64_t>(0, c0 - R), hi = std::min(W, c0 - R + np), at = lo - (c0 - R);
  std::fill(padx, padx + pw, -cx);
  std::fill(pady, pady + pw, -cy);

  auto horizontal = [&](int64_t r) {
    float* slot = ring + ((r + kRing) % kRing) * ss;  // r >= -R, so r + kRing > 0
    if (r < 0 || r >= H) {                            // a row of zeros
      std::fill(padx + at, padx + at + (hi - lo), -cx);
      std::fill(pady + at, pady + at + (hi - lo), -cy);
    } else {
      const int64_t ahead = r + kPrefetchRows < H ? kPrefetchRows * W : 0;
      shift_copy(xp + r * W + lo, padx + at, hi - lo, cx, ahead);
      shift_copy(yp + r * W + lo, pady + at, hi - lo, cy, ahead);
    }
#if MB_SSIM_AVX2
    if (simd) {
      products_avx2(padx, pady, ps, pp, np);
      hfir_avx2(padx, slot, n8);
      hfir_avx2(pady, slot + tw, n8);
      hfir_avx2(ps, slot + 2 * tw, n8);
      hfir_avx2(pp, slot + 3 * tw, n8);
      return;
    }
#endif
    products_portable(padx, pady, ps, pp, np);
    hfir_portable(padx, slot, n8);
    hfir_portable(pady, slot + tw, n8);
    hfir_portable(ps, slot + 2 * tw, n8);
    hfir_portable(pp, slot + 3 * tw, n8);
  };

  for (int64_t r = row0 - R; r < row0 + R; ++r) horizontal(r);
  for (int64_t r = row0; r < row1; r += 2) {
    horizontal(r + R);
    horizontal(r + R + 1);
    const float* rows[kRing];
    for (int k = 0; k < kRing; ++k) rows[k] = ring + ((r - R + k + kRing) % kRing) * ss;
    const bool second = r + 1 < row1;
    float* out0 = mp + r * W + c0;
    float* out1 = second ? out0 + W : dummy;
    double pair[2];
#if MB_SSIM_AVX2
    if (simd)
      vertical_pair_avx2(rows, tw, n, cx, cy, vert, tail, out0, out1, pair);
    else
#endif
      vertical_pair_portable(rows, tw, n, cx, cy, vert, out0, out1, pair);
    sums[r] = pair[0];
    if (second) sums[r + 1] = pair[1];
  }
}

double SsimFused::run(const float* x, const float* y, float* map, int64_t planes) {
  const int64_t H = height_;
  row_sums_.assign(static_cast<size_t>(planes * tiles_ * H), 0.0);
  // Work items are (plane, row band); an item runs its band through every column tile in turn.
  // Not full-height strips per tile: a tile's rows are short runs 4W bytes apart, so nearly
  // every row of a tile is a new 4 KiB page of x, y and map, and a plane walked tile by tile
  // misses the TLB on each page once per tile. With the 4 KiB pages callers' buffers get here
  // (THP is madvise-only) those page walks cost up to a quarter of the time at nerf_800 B = 4,
  // varying from process to process (15 - 20 ms; 14.8 ms with huge pages). A band's pages
  // stay in the L2 TLB from one tile to the next (~1200 at hd_1080p). Each band re-runs the
  // horizontal pass of its 2R halo rows per tile (4% of that pass at kBandRows), hence bands
  // of about kBandRows rows, shorter only when planes x bands is too few items for dynamic
  // balancing (other jobs on the machine take our cores at random moments).
  const int64_t want = 8 * threads_;
  const int64_t bands = std::clamp<int64_t>(std::max((H + kBandRows - 1) / kBandRows, (want + planes - 1) / planes), 1,
                                            std::max<int64_t>(1, H / kMinBandRows));
  const int64_t band_h = ((H + bands - 1) / bands + 1) / 2 * 2;  // even: rows go in pairs
  const int64_t items = planes * bands;

#pragma omp parallel for schedule(dynamic) num_threads(threads_)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t plane = it / bands, r0 = (it % bands) * band_h, r1 = std::min(H, r0 + band_h);
    const int thread = omp_get_thread_num();
    if (r0 < r1)
      for (int64_t tile = 0; tile < tiles_; ++tile) strip(x, y, map, plane, tile, r0, r1, thread);
  }

  double total = 0.0;
  for (double s : row_sums_) total += s;
  const double pixels = static_cast<double>(planes * H * width_);
  return pixels > 0 ? total / pixels : 0.0;
}

}  // namespace mb::cpu
