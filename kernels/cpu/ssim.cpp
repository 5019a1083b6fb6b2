#include "kernels/cpu/ssim.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/gaussian.hpp"
#include "kernels/common/ssim_math.hpp"
#include "kernels/cpu/simd.hpp"

// Compiled once per SIMD target (kernels/cpu/simd.hpp): foreach_target.h includes this file again
// for each, then SsimFused::run calls the best one through HWY_DYNAMIC_DISPATCH.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/ssim.cpp"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

namespace mb::cpu {

#ifndef MB_SSIM_ONCE  // what every target shares: defined on the first pass only
#define MB_SSIM_ONCE
namespace {

constexpr int R = common::kGaussRadius;
constexpr int T = common::kGaussTaps;
constexpr int Q = 4;  // mu_x, mu_y, E[x^2 + y^2], E[xy]: the formula needs var_x + var_y only
// Output rows per step of the vertical pass: each of the T + kRows - 1 ring rows it reads is loaded
// once and feeds up to kRows of them. 4 rather than 2: 1.3x on AVX-512 and 1.13x on AVX2 (one core,
// nerf_800), as each loaded row then feeds more FMAs and the four statistics' results go straight
// into the formula, with no row buffer between.
constexpr int kRows = 4;
constexpr int kRing = T + kRows - 1;
// Tile widths and row buffers are whole multiples of kVec floats, the widest vector any target
// uses (16: AVX-512; wider SVE vectors are capped to it), so every target tiles an image alike and
// every buffer is aligned for every target's loads.
constexpr int64_t kVec = 16;
// Input columns per tile beyond its width: the 2R halo, rounded up to whole vectors.
constexpr int64_t kPadExtra = (2 * R + kVec - 1) / kVec * kVec;
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

int64_t round_vec(int64_t n) { return (n + kVec - 1) / kVec * kVec; }

// Per thread: ring [kRing][slot_floats(tw)], padded x/y rows and their products [4][pad_floats(tw)],
// a dummy output row [tw], a tail buffer [kVec].
// Ring slot stride: one row's Q statistics plus a 64-byte line, so the stride is an odd
// number of lines (tw is a multiple of 16) and the 14 rows the vertical pass reads together
// fall in different L1 sets; at tw = 256 a plain 4 KiB stride put them all in one 8-way set.
int64_t slot_floats(int64_t tw) { return Q * tw + 16; }
// A padded row's stride: its tw + kPadExtra floats and a vector that AVX-512's hfir reads past
// them (into lanes it never uses).
int64_t pad_floats(int64_t tw) { return tw + kPadExtra + kVec; }
int64_t scratch_floats(int64_t tw) { return kRing * slot_floats(tw) + 4 * pad_floats(tw) + tw + kVec; }

}  // namespace

// One strip's inputs: rows [row0, row1) of column tile `tile` of plane `plane`.
struct SsimStrip {
  const float* x;
  const float* y;
  float* map;
  double* sums;  // the strip's tile's row sums, [H]
  float* scratch;
  int64_t height, width, tile_w, plane, tile, row0, row1;
  bool fetch_ahead;
};
#endif  // MB_SSIM_ONCE

HWY_BEFORE_NAMESPACE();
namespace HWY_NAMESPACE {
namespace {  // each file's own: every kernel has an Isa()
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::CappedTag<float, kVec>;
using VF = hn::Vec<DF>;

const char* Isa() { return isa_name(HWY_TARGET); }

// One input row, padded, and its products: px[i] = xs[i - at] - cx for i in [at, at + n), -cx
// elsewhere (the image's zeros outside it), py alike, s = px^2 + py^2, p = px * py; np floats
// (whole vectors). xs == nullptr: a row of zeros. Every store is a whole aligned vector, so the
// horizontal pass's loads of them are forwarded from the stores: the row copied by the
// compiler's 32-byte stores, then read by 64-byte loads, cost 8 % of the kernel's time (AVX-512).
// ahead: distance (floats) to the image rows to prefetch, 0 for none; a tile's rows are short
// strided runs that the hardware prefetchers follow poorly, and these are the kernel's only DRAM reads.
void pad_row(const float* xs, const float* ys, int64_t at, int64_t n, float cx, float cy, int64_t ahead, float* px,
             float* py, float* s, float* p, int64_t np) {
  const DF d;
  const auto N = static_cast<int64_t>(hn::Lanes(d));
  const VF vcx = hn::Set(d, cx), vcy = hn::Set(d, cy);
  for (int64_t j = 0; j < np; j += N) {
    VF vx = hn::Neg(vcx), vy = hn::Neg(vcy);
    if (xs != nullptr && j >= at && j + N <= at + n) {
      if (ahead != 0) {
        __builtin_prefetch(xs + j - at + ahead);
        __builtin_prefetch(ys + j - at + ahead);
      }
      vx = hn::Sub(hn::LoadU(d, xs + j - at), vcx);
      vy = hn::Sub(hn::LoadU(d, ys + j - at), vcy);
    } else if (xs != nullptr && j + N > at && j < at + n) {  // the row's first or last pixels
      alignas(64) float tx[kVec], ty[kVec];
      for (int64_t i = 0; i < N; ++i) {
        const bool inside = j + i >= at && j + i < at + n;
        tx[i] = inside ? xs[j + i - at] - cx : -cx;
        ty[i] = inside ? ys[j + i - at] - cy : -cy;
      }
      vx = hn::Load(d, tx);
      vy = hn::Load(d, ty);
    }
    hn::Store(vx, d, px + j);
    hn::Store(vy, d, py + j);
    hn::Store(hn::MulAdd(vx, vx, hn::Mul(vy, vy)), d, s + j);
    hn::Store(hn::Mul(vx, vy), d, p + j);
  }
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// The window k columns on from `lo`: its lanes k .. 15, then lanes 0 .. k - 1 of `hi` (valignd).
template <int k>
HWY_INLINE VF window(__m512i hi, __m512i lo) {
  return VF{_mm512_castsi512_ps(_mm512_alignr_epi32(hi, lo, k))};
}
#endif

// 11-tap symmetric FIR over a padded row: out[j] = sum_k tap(k) * in[j + k], n outputs (whole
// vectors); `in` holds n + kPadExtra floats and one more vector may be read (AVX-512). Symmetric
// taps (pairs added first) and two accumulation chains to halve the latency. On AVX2 the odd
// windows are byte shifts of the even ones within 128-bit blocks (as the AVX2 intrinsics did):
// fewer loads, 6-8 % faster on one core than a load per window. On AVX-512 the windows are
// valignd of aligned loads (an unaligned 64-byte load always spans two cache lines: 3-4 % slower),
// and 32 outputs are made at a time from the row's even and odd columns apart, where the
// windows are shifts by 1-5 of each half, not 1-10 of the row: 10 valignd and 4 permutes per 32
// outputs instead of 20 valignd, 9.6 cycles per 16 outputs instead of 11.4 (L1-resident row; the
// same operations per output, so the same floats). Other targets load every window.
void hfir(const float* in, float* out, int64_t n) {
  const DF d;
  const VF t0 = hn::Set(d, tap(0)), t1 = hn::Set(d, tap(1)), t2 = hn::Set(d, tap(2)), t3 = hn::Set(d, tap(3)),
           t4 = hn::Set(d, tap(4)), t5 = hn::Set(d, tap(5));
  // The taps on windows a0 .. a10 (a_k: the vector of in[j + k] for the outputs j).
  auto fir = [&](VF a0, VF a1, VF a2, VF a3, VF a4, VF a5, VF a6, VF a7, VF a8, VF a9, VF a10) {
    VF u = hn::Mul(t5, a5);
    VF v = hn::Mul(t4, hn::Add(a4, a6));
    u = hn::MulAdd(t3, hn::Add(a3, a7), u);
    v = hn::MulAdd(t2, hn::Add(a2, a8), v);
    u = hn::MulAdd(t1, hn::Add(a1, a9), u);
    v = hn::MulAdd(t0, hn::Add(a0, a10), v);
    return hn::Add(u, v);
  };
  int64_t j = 0;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  {
    // Even output 2m takes in[2m + k]: even column m + k/2 for even k, odd column m + (k-1)/2 for
    // odd k; odd output 2m + 1 likewise, shifted by one. e, o: columns j, j + 2, .. and j + 1, ..
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i zip_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i zip_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    auto halves = [&](const float* a, __m512i& e, __m512i& o) {
      const __m512 lo = _mm512_load_ps(a), hi = _mm512_load_ps(a + 16);
      e = _mm512_castps_si512(_mm512_permutex2var_ps(lo, even, hi));
      o = _mm512_castps_si512(_mm512_permutex2var_ps(lo, odd, hi));
    };
    __m512i e, o;
    halves(in, e, o);
    for (; j + 32 <= n; j += 32) {
      __m512i en, on;  // the next 32 columns': lanes 0-4 are the windows' last
      halves(in + j + 32, en, on);
      const VF e0{_mm512_castsi512_ps(e)}, e1 = window<1>(en, e), e2 = window<2>(en, e), e3 = window<3>(en, e),
                                           e4 = window<4>(en, e), e5 = window<5>(en, e);
      const VF o0{_mm512_castsi512_ps(o)}, o1 = window<1>(on, o), o2 = window<2>(on, o), o3 = window<3>(on, o),
                                           o4 = window<4>(on, o), o5 = window<5>(on, o);
      const __m512 ev = fir(e0, o0, e1, o1, e2, o2, e3, o3, e4, o4, e5).raw;
      const __m512 od = fir(o0, e1, o1, e2, o2, e3, o3, e4, o4, e5, o5).raw;
      _mm512_store_ps(out + j, _mm512_permutex2var_ps(ev, zip_lo, od));
      _mm512_store_ps(out + j + 16, _mm512_permutex2var_ps(ev, zip_hi, od));
      e = en;
      o = on;
    }
  }
#endif
  for (; j < n; j += static_cast<int64_t>(hn::Lanes(d))) {  // AVX-512: the last 16 outputs, if any
    const float* a = in + j;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    const __m512i b0 = _mm512_castps_si512(hn::Load(d, a).raw), b16 = _mm512_castps_si512(hn::Load(d, a + 16).raw);
    const VF a0{_mm512_castsi512_ps(b0)}, a1 = window<1>(b16, b0), a2 = window<2>(b16, b0), a3 = window<3>(b16, b0),
                                          a4 = window<4>(b16, b0), a5 = window<5>(b16, b0), a6 = window<6>(b16, b0),
                                          a7 = window<7>(b16, b0), a8 = window<8>(b16, b0), a9 = window<9>(b16, b0),
                                          a10 = window<10>(b16, b0);
#elif HWY_TARGET == HWY_AVX2
    const VF a0 = hn::Load(d, a), a2 = hn::LoadU(d, a + 2), a4 = hn::LoadU(d, a + 4), a6 = hn::LoadU(d, a + 6),
             a8 = hn::LoadU(d, a + 8), a10 = hn::LoadU(d, a + 10), a12 = hn::LoadU(d, a + 12);
    const VF a1 = hn::CombineShiftRightBytes<4>(d, a4, a0), a3 = hn::CombineShiftRightBytes<12>(d, a4, a0);
    const VF a5 = hn::CombineShiftRightBytes<4>(d, a8, a4), a7 = hn::CombineShiftRightBytes<12>(d, a8, a4);
    const VF a9 = hn::CombineShiftRightBytes<4>(d, a12, a8);
#else
    const VF a0 = hn::LoadU(d, a), a1 = hn::LoadU(d, a + 1), a2 = hn::LoadU(d, a + 2), a3 = hn::LoadU(d, a + 3),
             a4 = hn::LoadU(d, a + 4), a5 = hn::LoadU(d, a + 5), a6 = hn::LoadU(d, a + 6), a7 = hn::LoadU(d, a + 7),
             a8 = hn::LoadU(d, a + 8), a9 = hn::LoadU(d, a + 9), a10 = hn::LoadU(d, a + 10);
#endif
    hn::Store(fir(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10), d, out + j);
  }
}

// o = tap(t) * a + o, or tap(0) * a where t = 0 starts the output; rows out of o's reach (t < 0 or
// t >= T) leave it alone.
HWY_INLINE void add_tap(DF d, VF& o, int t, VF a) {
  if (t == 0) o = hn::Mul(hn::Set(d, tap(0)), a);
  if (t > 0 && t < T) o = hn::MulAdd(hn::Set(d, tap(t)), a, o);
}

// Vertical FIR of one statistic for the kRows = 4 output rows from ring rows 0 .. T + 2; each is
// loaded once and feeds every output it reaches. Plain FMAs, not the symmetric pairs: pairing
// needs rows k and k + 10 live together, which costs registers, and the FMAs are as many either
// way. Named outputs, not an array: SVE vectors are sizeless and cannot be array elements.
HWY_INLINE void vfir_rows(DF d, const float* const* rows, int64_t off, VF& o0, VF& o1, VF& o2, VF& o3) {
  static_assert(kRows == 4, "one output per row");
#pragma GCC unroll 16
  for (int i = 0; i < T + kRows - 1; ++i) {
    const VF a = hn::Load(d, rows[i] + off);
    add_tap(d, o0, i, a);
    add_tap(d, o1, i - 1, a);
    add_tap(d, o2, i - 2, a);
    add_tap(d, o3, i - 3, a);
  }
}

// common::ssim_value_sq_sum on a vector of pixels, statistics of x - cx and y - cy.
HWY_INLINE VF formula(DF d, VF mxs, VF mys, VF sq, VF xy, VF cx, VF cy) {
  const VF two = hn::Set(d, 2.0f), c1 = hn::Set(d, common::kSsimC1), c2 = hn::Set(d, common::kSsimC2);
  const VF var_sum = hn::Max(hn::Sub(sq, hn::MulAdd(mxs, mxs, hn::Mul(mys, mys))), hn::Zero(d));
  const VF cov = hn::NegMulAdd(mxs, mys, xy);
  const VF mx = hn::Add(mxs, cx), my = hn::Add(mys, cy);
  const VF mxy = hn::Mul(mx, my);
  const VF m2 = hn::MulAdd(mx, mx, hn::Mul(my, my));
  const VF num = hn::Mul(hn::MulAdd(two, mxy, c1), hn::MulAdd(two, cov, c2));
  const VF den = hn::Mul(hn::Add(m2, c1), hn::Add(var_sum, c2));
  const VF v = hn::Div(num, den);
  return hn::Min(hn::Max(v, hn::Set(d, -1.0f)), hn::Set(d, 1.0f));
}

// Row sums in double: each float lane widened and added to its own double lane.
#if HWY_TARGET == HWY_SCALAR  // one lane: no halves
using DD = hn::Rebind<double, DF>;
using VD = hn::Vec<DD>;

HWY_INLINE VD widen_sum(VD acc, VF v) { return hn::Add(acc, hn::PromoteTo(DD(), v)); }
#else
using DH = hn::Half<DF>;
using DD = hn::Rebind<double, DH>;  // as many doubles as half a float vector
using VD = hn::Vec<DD>;

HWY_INLINE VD widen_sum(VD acc, VF v) {
  const DH dh;
  const DD dd;
  acc = hn::Add(acc, hn::PromoteTo(dd, hn::LowerHalf(dh, v)));
  return hn::Add(acc, hn::PromoteTo(dd, hn::UpperHalf(dh, v)));
}
#endif

// Pairwise, adjacent lanes first: a fixed order, so the mean does not depend on the thread count.
double hsum(VD v) {
  const DD dd;
  double lanes[kVec];
  hn::StoreU(v, dd, lanes);
  for (size_t w = hn::Lanes(dd); w > 1; w /= 2)
    for (size_t i = 0; i < w / 2; ++i) lanes[i] = lanes[2 * i] + lanes[2 * i + 1];
  return lanes[0];
}

// Image lines a step fetches early for later ones: the next step's x and y rows (to the L2) and
// the map rows two steps on (for writing). pad_row's own loads came as a burst of 2 tw / 16 line
// misses per row, which queued on the core's few fill buffers; spread over the vertical pass,
// which reads only the ring, they arrive in time: 3-12 % faster on runs past
// SsimFused::kDefaultFetchAheadBytes (most at B = 4: 90-300 MB, past the L3), one and two threads.
struct Ahead {
  const float* read[2 * kRows];
  float* write[kRows];
  int reads = 0, writes = 0;
};

// Output rows r .. r + kRows - 1 of one tile from ring rows r - R .. r + R + kRows - 1: vertical
// pass of the four statistics, formula, map store, row sums, a vector of columns at a time.
void vertical_rows(const float* const* rows, int64_t tw, int64_t n, float cx, float cy, float* tail, float* const* outs,
                   double* sums, const Ahead& ahead) {
  const DF d;
  const auto N = static_cast<int64_t>(hn::Lanes(d));
  const VF vcx = hn::Set(d, cx), vcy = hn::Set(d, cy);
  const DD dd;
  VD acc0 = hn::Zero(dd), acc1 = hn::Zero(dd), acc2 = hn::Zero(dd), acc3 = hn::Zero(dd);
  double rest[kRows] = {};
  const int64_t nv = round_vec(n);
  for (int64_t j = 0; j < nv; j += N) {
    if (j < n && j % kVec == 0) {  // a 64-byte line of each, once
      for (int q = 0; q < ahead.reads; ++q) __builtin_prefetch(ahead.read[q] + j, 0, 2);
      for (int q = 0; q < ahead.writes; ++q) __builtin_prefetch(ahead.write[q] + j, 1, 3);
    }
    // The statistics of the four output rows: mu_x, mu_y, E[x^2 + y^2], E[xy].
    VF mx0 = hn::Zero(d), mx1 = mx0, mx2 = mx0, mx3 = mx0, my0 = mx0, my1 = mx0, my2 = mx0, my3 = mx0;
    VF sq0 = mx0, sq1 = mx0, sq2 = mx0, sq3 = mx0, xy0 = mx0, xy1 = mx0, xy2 = mx0, xy3 = mx0;
    vfir_rows(d, rows, j, mx0, mx1, mx2, mx3);
    vfir_rows(d, rows, tw + j, my0, my1, my2, my3);
    vfir_rows(d, rows, 2 * tw + j, sq0, sq1, sq2, sq3);
    vfir_rows(d, rows, 3 * tw + j, xy0, xy1, xy2, xy3);
    auto emit = [&](int k, VF m, VD& acc) {
      if (j + N <= n) {
        hn::StoreU(m, d, outs[k] + j);
        acc = widen_sum(acc, m);
      } else if (j < n) {  // the image's last columns: lanes past n are not pixels
        hn::StoreU(m, d, tail);
        for (int64_t i = 0; i < n - j; ++i) {
          outs[k][j + i] = tail[i];
          rest[k] += tail[i];
        }
      }
    };
    emit(0, formula(d, mx0, my0, sq0, xy0, vcx, vcy), acc0);
    emit(1, formula(d, mx1, my1, sq1, xy1, vcx, vcy), acc1);
    emit(2, formula(d, mx2, my2, sq2, xy2, vcx, vcy), acc2);
    emit(3, formula(d, mx3, my3, sq3, xy3, vcx, vcy), acc3);
  }
  sums[0] = hsum(acc0) + rest[0];
  sums[1] = hsum(acc1) + rest[1];
  sums[2] = hsum(acc2) + rest[2];
  sums[3] = hsum(acc3) + rest[3];
}

// The per-pixel formula alone (ssim_formula), unaligned, the last n % lanes pixels through the scalar one.
void Formula(const float* mu_x, const float* mu_y, const float* e_sq_sum, const float* e_xy, float cx, float cy,
             float* out, int64_t n) {
  const DF d;
  const auto N = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  for (; j + N <= n; j += N)
    hn::StoreU(formula(d, hn::LoadU(d, mu_x + j), hn::LoadU(d, mu_y + j), hn::LoadU(d, e_sq_sum + j),
                       hn::LoadU(d, e_xy + j), hn::Set(d, cx), hn::Set(d, cy)),
               d, out + j);
  for (; j < n; ++j) out[j] = common::ssim_value_sq_sum(mu_x[j], mu_y[j], e_sq_sum[j], e_xy[j], cx, cy);
}

// Rows [row0, row1) of one column tile of one plane: horizontal pass of each needed input row into
// the ring (once per row), vertical pass + formula + row sums kRows output rows at a time.
void Strip(const SsimStrip& s) {
  const int64_t H = s.height, W = s.width, tw = s.tile_w, pw = pad_floats(tw);
  float* ring = s.scratch;
  const int64_t ss = slot_floats(tw);
  float* padx = ring + kRing * ss;
  float* pady = padx + pw;
  float* ps = pady + pw;
  float* pp = ps + pw;
  float* dummy = pp + pw;
  float* tail = dummy + tw;
  const float* xp = s.x + s.plane * H * W;
  const float* yp = s.y + s.plane * H * W;
  float* mp = s.map + s.plane * H * W;

  const int64_t c0 = s.tile * tw, n = std::min(tw, W - c0), nv = round_vec(n), np = nv + kPadExtra;
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

  auto horizontal = [&](int64_t r) {
    float* slot = ring + ((r + kRing) % kRing) * ss;  // r >= -R, so r + kRing > 0
    const bool image = r >= 0 && r < H;               // else a row of zeros
    const int64_t ahead = image && r + kPrefetchRows < H ? kPrefetchRows * W : 0;
    pad_row(image ? xp + r * W + lo : nullptr, image ? yp + r * W + lo : nullptr, at, hi - lo, cx, cy, ahead, padx,
            pady, ps, pp, np);
    hfir(padx, slot, nv);
    hfir(pady, slot + tw, nv);
    hfir(ps, slot + 2 * tw, nv);
    hfir(pp, slot + 3 * tw, nv);
  };

  for (int64_t r = s.row0 - R; r < s.row0 + R; ++r) horizontal(r);
  for (int64_t r = s.row0; r < s.row1; r += kRows) {
    for (int k = 0; k < kRows; ++k) horizontal(r + R + k);
    const float* rows[kRing];
    for (int k = 0; k < kRing; ++k) rows[k] = ring + ((r - R + k + kRing) % kRing) * ss;
    float* outs[kRows];  // rows past the strip's end go to the dummy row
    for (int k = 0; k < kRows; ++k) outs[k] = r + k < s.row1 ? mp + (r + k) * W + c0 : dummy;
    double sums[kRows];
    Ahead ahead;
    if (s.fetch_ahead)
      for (int k = 0; k < kRows; ++k) {
        if (const int64_t next = r + kRows + R + k; next < H) {
          ahead.read[ahead.reads++] = xp + next * W + lo;
          ahead.read[ahead.reads++] = yp + next * W + lo;
        }
        // Not past the strip: those map lines are another thread's to write.
        if (const int64_t later = r + 2 * kRows + k; later < s.row1) ahead.write[ahead.writes++] = mp + later * W + c0;
      }
    vertical_rows(rows, tw, n, cx, cy, tail, outs, sums, ahead);
    for (int k = 0; k < kRows && r + k < s.row1; ++k) s.sums[r + k] = sums[k];
  }
}

}  // namespace
}  // namespace HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
HWY_EXPORT(Isa);
HWY_EXPORT(Formula);
HWY_EXPORT(Strip);

void ssim_formula(const float* mu_x, const float* mu_y, const float* e_sq_sum, const float* e_xy, float cx, float cy,
                  float* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Formula)(mu_x, mu_y, e_sq_sum, e_xy, cx, cy, out, n);
}

std::string SsimFused::isa() { return HWY_DYNAMIC_DISPATCH(Isa)(); }

SsimFused::SsimFused(int64_t height, int64_t width, int64_t max_tile, double fetch_ahead_bytes)
    : height_(height), width_(width), fetch_ahead_bytes_(fetch_ahead_bytes) {
  max_tile = std::max<int64_t>(kVec, max_tile);
  tiles_ = std::max<int64_t>(1, (width + max_tile - 1) / max_tile);
  tile_w_ = round_vec((width + tiles_ - 1) / tiles_);  // equal tiles, whole vectors
  tiles_ = std::max<int64_t>(1, (width + tile_w_ - 1) / tile_w_);
  threads_ = omp_get_max_threads();
  per_thread_ = static_cast<size_t>((scratch_floats(tile_w_) + 15) / 16 * 16);  // threads on separate lines
  base_ = zeroed_aligned_floats(storage_, per_thread_ * static_cast<size_t>(threads_));
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
  const int64_t band_h = ((H + bands - 1) / bands + kRows - 1) / kRows * kRows;  // rows go kRows at a time
  const int64_t items = planes * bands;
  const bool fetch_ahead = 12.0 * static_cast<double>(planes * H * width_) > fetch_ahead_bytes_;  // x, y, map

#pragma omp parallel for schedule(dynamic) num_threads(threads_)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t plane = it / bands, r0 = (it % bands) * band_h, r1 = std::min(H, r0 + band_h);
    const int thread = omp_get_thread_num();
    if (r0 < r1)
      for (int64_t tile = 0; tile < tiles_; ++tile) HWY_DYNAMIC_DISPATCH(Strip)
    (SsimStrip{x, y, map, row_sums_.data() + (plane * tiles_ + tile) * H, scratch(thread), H, width_, tile_w_, plane,
               tile, r0, r1, fetch_ahead});
  }

  double total = 0.0;
  for (double s : row_sums_) total += s;
  const double pixels = static_cast<double>(planes * H * width_);
  return pixels > 0 ? total / pixels : 0.0;
}
#endif  // HWY_ONCE

}  // namespace mb::cpu
