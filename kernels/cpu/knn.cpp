#include "kernels/cpu/knn.hpp"

#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "kernels/common/top3.hpp"
#include "kernels/cpu/simd.hpp"

// The block scan is compiled once per SIMD target (kernels/cpu/simd.hpp): foreach_target.h
// includes this file again for each; the rest of the file is compiled once (HWY_ONCE).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/knn.cpp"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

namespace mb::cpu {

#ifndef MB_KNN_ONCE  // what every target shares: defined on the first pass only
#define MB_KNN_ONCE
// Points of one query cell's 3x3x3 neighbourhood, SoA, padded to whole chunks of kChunk
// (16: the widest vector any target uses, AVX-512's).
struct KnnBlockView {
  const float *x, *y, *z;
  const uint32_t* idx;
  size_t size;  // a multiple of kChunk
  static constexpr size_t kChunk = 16;
};
// KnnGrid's buffers, for the per-target KnnGrid::run.
struct KnnGridBuffers {
  std::vector<uint32_t>& cell_of;
  std::vector<uint32_t>& start;
  std::vector<KnnGrid::Point>& sorted;
  std::vector<float>&sorted_x, &sorted_y, &sorted_z;
  std::vector<uint32_t>& sorted_index;
  std::vector<float>& mean_sorted;
  std::vector<uint32_t>& occupied;
  KnnGridStats& stats;
};
#endif  // MB_KNN_ONCE

HWY_BEFORE_NAMESPACE();
namespace HWY_NAMESPACE {
namespace {  // each file's own: every kernel has an Isa()
namespace hn = hwy::HWY_NAMESPACE;

const char* Isa() { return isa_name(HWY_TARGET); }

// Lane-wise merge of sorted triples: (b0, b1, b2) becomes the 3 smallest of it and (c0, c1, c2).
template <class V>
HWY_INLINE void insert3(V& b0, V& b1, V& b2, V v) {
  const V t1 = hn::Max(b0, v);
  b0 = hn::Min(b0, v);
  const V t2 = hn::Max(b1, t1);
  b1 = hn::Min(b1, t1);
  b2 = hn::Min(b2, t2);
}
template <class V>
HWY_INLINE void merge3(V& b0, V& b1, V& b2, V c0, V c1, V c2) {
  insert3(b0, b1, b2, c0);
  insert3(b0, b1, b2, c1);
  insert3(b0, b1, b2, c2);
}

// The global top 3 among the lanes' sorted triples, branch-free.
template <class D, class V>
HWY_INLINE Top3 lanes_top3([[maybe_unused]] D d, V a0, V a1, V a2) {
#if HWY_TARGET == HWY_SCALAR
  return Top3{{hn::GetLane(a0), hn::GetLane(a1), hn::GetLane(a2)}};
#elif HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128
  // Scalable vectors: one lane's smallest at a time, that lane's next moving up.
  const hn::RebindToSigned<D> di;
  const V inf = hn::Set(d, INFINITY);
  Top3 best = Top3::empty();
  for (int r = 0;; ++r) {
    const V m = hn::MinOfLanes(d, a0);
    best.d[r] = hn::GetLane(m);
    if (r == 2) return best;
    const auto first = static_cast<int32_t>(hn::FindFirstTrue(d, hn::Eq(a0, m)));
    const auto one = hn::RebindMask(d, hn::Eq(hn::Iota(di, 0), hn::Set(di, first)));
    a0 = hn::IfThenElse(one, a1, a0);
    a1 = hn::IfThenElse(one, a2, a1);
    a2 = hn::IfThenElse(one, inf, a2);
  }
#else
  if constexpr (hn::MaxLanes(D()) > 4) {  // fold the upper half onto the lower until 128 bits are left
    const hn::Half<D> dh;
    auto b0 = hn::LowerHalf(dh, a0), b1 = hn::LowerHalf(dh, a1), b2 = hn::LowerHalf(dh, a2);
    merge3(b0, b1, b2, hn::UpperHalf(dh, a0), hn::UpperHalf(dh, a1), hn::UpperHalf(dh, a2));
    return lanes_top3(dh, b0, b1, b2);
  } else {  // 4 lanes: lane 0 takes lanes 2, then 1 (with 3)
    merge3(a0, a1, a2, hn::Shuffle1032(a0), hn::Shuffle1032(a1), hn::Shuffle1032(a2));
    merge3(a0, a1, a2, hn::Shuffle2301(a0), hn::Shuffle2301(a1), hn::Shuffle2301(a2));
    return Top3{{hn::GetLane(a0), hn::GetLane(a1), hn::GetLane(a2)}};
  }
#endif
}

// At most 8 lanes: a block holds ~30-80 points, and 16-lane AVX-512 vectors made the scan slower
// per core than 8-lane ones (more padding and a longer merge per query: 15.0 against 13.9 ms
// at 100 000 uniform points, one thread); AVX-512 still runs them, at 256 bits.
constexpr size_t kScanLanes = 8;

// The top 3 of every query of one cell (`count` queries) against its block, branch-free: every
// lane keeps its own sorted top 3 with a min/max insertion network; the global top 3 is among
// the lanes' and is merged once at the end (lanes_top3).
void SearchBlock(const KnnBlockView& b, const KnnGrid::Point* queries, size_t count, Top3* out) {
  const hn::CappedTag<float, kScanLanes> d;
  const hn::RebindToUnsigned<decltype(d)> du;
  const size_t N = hn::Lanes(d);
  const auto inf = hn::Set(d, INFINITY), zero = hn::Zero(d);
  for (size_t k = 0; k < count; ++k) {
    const KnnGrid::Point& q = queries[k];
    const auto qx = hn::Set(d, q.x), qy = hn::Set(d, q.y), qz = hn::Set(d, q.z);
    const auto qi = hn::Set(du, q.index);
    auto a0 = inf, a1 = inf, a2 = inf;
    for (size_t j0 = 0; j0 < b.size; j0 += N) {
      const auto dx = hn::Sub(hn::LoadU(d, b.x + j0), qx);
      const auto dy = hn::Sub(hn::LoadU(d, b.y + j0), qy);
      const auto dz = hn::Sub(hn::LoadU(d, b.z + j0), qz);
      auto v = hn::Add(hn::Add(hn::Mul(dx, dx), hn::Mul(dy, dy)), hn::Mul(dz, dz));
      // Self (by index) and NaN distances become infinity, which never enters a top 3.
      const auto self = hn::RebindMask(d, hn::Eq(hn::LoadU(du, b.idx + j0), qi));
      v = hn::IfThenElse(hn::Or(self, hn::IsNaN(v)), inf, v);
      const auto n0 = hn::Min(a0, v), v1 = hn::Max(a0, v);
      const auto n1 = hn::Min(a1, v1), v2 = hn::Max(a1, v1);
      a0 = n0, a1 = n1, a2 = hn::Min(a2, v2);
      // Duplicates: one lane already holds three zeros, nothing can improve.
      if ((j0 + N) % 64 == 0 && !hn::AllFalse(d, hn::Eq(a2, zero))) break;
    }
    out[k] = lanes_top3(d, a0, a1, a2);
  }
}

using Point = KnnGrid::Point;

// Geometry of the grid; cell coordinates come from exactly one formula (cell())
// so a point's cell and the bounds used for pruning agree up to `slack`.
struct Geometry {
  float lo[3];
  float h, inv_h;
  int64_t g[3];
  float slack;  // absolute rounding margin on every box bound, keeps pruning conservative

  int64_t cell(float v, int a) const {
    float t = (v - lo[a]) * inv_h;
    if (!(t > 0.0f)) return 0;  // also NaN
    const auto last = static_cast<float>(g[a] - 1);
    if (t >= last) return g[a] - 1;
    return static_cast<int64_t>(t);
  }
  int64_t id(int64_t x, int64_t y, int64_t z) const { return (z * g[1] + y) * g[0] + x; }
  // Distance along axis a from coordinate q (in cell qc) to cell c; 0 for the query's own slab.
  float gap(float q, int64_t qc, int64_t c, int a) const {
    float d = 0.0f;
    if (c < qc) d = q - (lo[a] + static_cast<float>(c + 1) * h);
    if (c > qc) d = (lo[a] + static_cast<float>(c) * h) - q;
    return std::max(0.0f, d - slack);
  }
};

// Below this many points the O(n) set-up passes run on one thread: a parallel region's
// fork/join costs more than the pass. At 100 000 uniform points on 2 threads, parallel passes
// made a run 7 % faster (one thread then idled for a third of it during the serial set-up).
constexpr int64_t kParallelPrep = 20'000;

int64_t cells_of(const float ext[3], float h, int64_t g[3]) {
  for (int a = 0; a < 3; ++a) g[a] = static_cast<int64_t>(std::floor(ext[a] / h)) + 1;
  return g[0] * g[1] * g[2];
}

// The grid's points in cell order, SoA, with kChunk elements of slack after the last.
struct SortedSoa {
  const float *x, *y, *z;
  const uint32_t* index;
};

// Points of one query cell's 3x3x3 neighbourhood, SoA, padded to the chunk size. The buffers only
// grow (a cell's block is written over the last one's), so gathering is plain stores.
class Block {
 public:
  static constexpr size_t kChunk = KnnBlockView::kChunk;
  // The points of sorted positions [begin, end) of each of `n` ranges, then padding: infinitely far
  // points never enter the top 3.
  void gather(const SortedSoa& sp, const uint32_t (*ranges)[2], int n) {
    size_t total = 0;
    for (int r = 0; r < n; ++r) total += ranges[r][1] - ranges[r][0];
    size_ = (total + kChunk - 1) / kChunk * kChunk;
    if (x_.size() < size_ + kChunk)
      x_.resize(size_ + kChunk), y_.resize(size_ + kChunk), z_.resize(size_ + kChunk), idx_.resize(size_ + kChunk);
    size_t k = 0;
    for (int r = 0; r < n; ++r) {
      const uint32_t begin = ranges[r][0], count = ranges[r][1] - begin;
      // Whole chunks, the last one past the range: the next range or the padding overwrites it.
      for (uint32_t j = 0; j < count; j += kChunk) {
        std::memcpy(x_.data() + k + j, sp.x + begin + j, sizeof(float) * kChunk);
        std::memcpy(y_.data() + k + j, sp.y + begin + j, sizeof(float) * kChunk);
        std::memcpy(z_.data() + k + j, sp.z + begin + j, sizeof(float) * kChunk);
        std::memcpy(idx_.data() + k + j, sp.index + begin + j, sizeof(uint32_t) * kChunk);
      }
      k += count;
    }
    for (; k < size_; ++k) x_[k] = INFINITY, y_[k] = INFINITY, z_[k] = INFINITY, idx_[k] = UINT32_MAX;
  }
  // The top 3 of each of `count` queries within the block, on the SIMD target dispatched now.
  void search(const Point* queries, size_t count, Top3* out) const {
    SearchBlock(KnnBlockView{x_.data(), y_.data(), z_.data(), idx_.data(), size_}, queries, count, out);
  }

 private:
  std::vector<float> x_, y_, z_;
  std::vector<uint32_t> idx_;
  size_t size_ = 0;
};

// True when no point outside the cells within Chebyshev distance r of cell qc can be
// closer than the current 3rd best (or there is nothing outside).
bool covered(const Geometry& geo, const Point& q, const int64_t qc[3], int64_t r, const Top3& best) {
  const float qv[3] = {q.x, q.y, q.z};
  float bound = INFINITY;
  for (int a = 0; a < 3; ++a) {
    if (qc[a] - r > 0) bound = std::min(bound, qv[a] - (geo.lo[a] + static_cast<float>(qc[a] - r) * geo.h));
    if (qc[a] + r < geo.g[a] - 1)
      bound = std::min(bound, (geo.lo[a] + static_cast<float>(qc[a] + r + 1) * geo.h) - qv[a]);
  }
  if (bound == INFINITY) return true;
  bound = std::max(0.0f, bound - geo.slack);
  return best.worst() <= bound * bound;
}

// Scans the cells at Chebyshev distance exactly r from qc that may hold a closer point.
void ring(const Geometry& geo, const Point* sp, const uint32_t* st, const Point& q, const int64_t qc[3], int64_t r,
          Top3& best) {
  const float qv[3] = {q.x, q.y, q.z};
  auto scan = [&](int64_t cell) {
    for (uint32_t j = st[cell], end = st[cell + 1]; j < end; ++j) {
      const float dx = sp[j].x - q.x, dy = sp[j].y - q.y, dz = sp[j].z - q.z;
      const float d = dx * dx + dy * dy + dz * dz;
      if (d < best.worst() && sp[j].index != q.index) best.insert(d);
    }
  };
  const int64_t z0 = std::max<int64_t>(0, qc[2] - r), z1 = std::min(geo.g[2] - 1, qc[2] + r);
  const int64_t y0 = std::max<int64_t>(0, qc[1] - r), y1 = std::min(geo.g[1] - 1, qc[1] + r);
  const int64_t x0 = std::max<int64_t>(0, qc[0] - r), x1 = std::min(geo.g[0] - 1, qc[0] + r);
  for (int64_t z = z0; z <= z1; ++z) {
    const float gz = geo.gap(qv[2], qc[2], z, 2);
    const float gz2 = gz * gz;
    if (gz2 >= best.worst()) continue;
    const bool z_on_shell = z == qc[2] - r || z == qc[2] + r;
    for (int64_t y = y0; y <= y1; ++y) {
      const float gy = geo.gap(qv[1], qc[1], y, 1);
      const float gyz2 = gz2 + gy * gy;
      if (gyz2 >= best.worst()) continue;
      const bool on_shell = z_on_shell || y == qc[1] - r || y == qc[1] + r;
      // A row's cells are contiguous in the sorted order: an empty row costs O(1), which
      // keeps far searches (outliers in empty space) at O(r^2) instead of O(r^3) per ring.
      if (on_shell && st[geo.id(x0, y, z)] == st[geo.id(x1, y, z) + 1]) continue;
      // Inside the shell's z/y range only the two x end cells belong to ring r.
      const int64_t step = on_shell ? 1 : 2 * r;
      for (int64_t x = on_shell ? x0 : qc[0] - r; x <= x1; x += step) {
        if (x < x0) continue;
        const float gx = geo.gap(qv[0], qc[0], x, 0);
        if (gyz2 + gx * gx < best.worst()) scan(geo.id(x, y, z));
      }
    }
  }
}

// KnnGrid::run, compiled per target like the block scan: the grid's set-up loops vectorise for it too.
void Run(KnnGridBuffers& bufs, const float* pts, int64_t n64, float* out) {
  auto& cell_of_ = bufs.cell_of;
  auto& start_ = bufs.start;
  auto& sorted_ = bufs.sorted;
  auto& occupied_ = bufs.occupied;
  auto& stats_ = bufs.stats;
  if (n64 < 4) throw std::invalid_argument("knn needs at least 4 points, got " + std::to_string(n64));
  if (n64 >= (int64_t{1} << 31)) throw std::invalid_argument("knn grid supports fewer than 2^31 points");
  const auto n = static_cast<uint32_t>(n64);

  // Bounding box.
  float lo0 = INFINITY, lo1 = INFINITY, lo2 = INFINITY, hi0 = -INFINITY, hi1 = -INFINITY, hi2 = -INFINITY;
#pragma omp parallel for reduction(min : lo0, lo1, lo2) reduction(max : hi0, hi1, hi2) if (n64 >= kParallelPrep)
  for (int64_t i = 0; i < n64; ++i) {
    lo0 = std::min(lo0, pts[3 * i]);
    hi0 = std::max(hi0, pts[3 * i]);
    lo1 = std::min(lo1, pts[3 * i + 1]);
    hi1 = std::max(hi1, pts[3 * i + 1]);
    lo2 = std::min(lo2, pts[3 * i + 2]);
    hi2 = std::max(hi2, pts[3 * i + 2]);
  }
  Geometry geo{};
  geo.lo[0] = lo0, geo.lo[1] = lo1, geo.lo[2] = lo2;
  const float ext[3] = {std::max(0.0f, hi0 - lo0), std::max(0.0f, hi1 - lo1), std::max(0.0f, hi2 - lo2)};
  const float max_ext = std::max({ext[0], ext[1], ext[2]});
  float max_abs = 0.0f;
  for (float v : {lo0, lo1, lo2, hi0, hi1, hi2}) max_abs = std::max(max_abs, std::fabs(v));

  // Cell size: start from ~2 points per cell of the bounding box, then shrink while
  // the occupied cells are crowded (points on surfaces leave most of the box empty).
  // The cell count stays <= ~4n, so memory is linear in n whatever the distribution.
  // 4n rather than finer: with the vectorised block scan a crowded cell is cheap, while
  // finer cells cost more per-cell set-up and longer ring searches from outliers
  // (clustered 1M: 8n 160 ms, 4n 136 ms, 16n 240 ms).
  const double cap = std::min(4.0 * n + 64.0, 4.0e9);  // cell ids are uint32
  float h = max_ext > 0.0f ? max_ext / static_cast<float>(std::cbrt(n / 2.0)) : 1.0f;
  int64_t cells = 0;
  int64_t occupied = 0;
  for (int iter = 0;; ++iter) {
    bool final = iter >= 6;
    double want = 1.0;
    for (int a = 0; a < 3; ++a) want *= std::floor(ext[a] / h) + 1.0;
    while (want > cap) {  // too fine: coarsen to the cap
      h *= static_cast<float>(std::cbrt(want / cap)) * 1.01f;
      want = 1.0;
      for (int a = 0; a < 3; ++a) want *= std::floor(ext[a] / h) + 1.0;
      final = true;
    }
    cells = cells_of(ext, h, geo.g);
    geo.h = h;
    geo.inv_h = 1.0f / h;

    cell_of_.resize(n);
#pragma omp parallel for schedule(static) if (n64 >= kParallelPrep)
    for (int64_t i = 0; i < n64; ++i) {
      const float* p = pts + 3 * i;
      cell_of_[i] = static_cast<uint32_t>(geo.id(geo.cell(p[0], 0), geo.cell(p[1], 1), geo.cell(p[2], 2)));
    }
    start_.assign(static_cast<size_t>(cells) + 1, 0);
    occupied = 0;
    for (uint32_t i = 0; i < n; ++i) occupied += start_[cell_of_[i]]++ == 0;
    const double crowding = static_cast<double>(n) / static_cast<double>(occupied);
    if (final || crowding <= 3.0 || max_ext == 0.0f) break;
    // Occupied cells grow like 1/h^2 on surfaces: shrink for ~2 points per occupied cell.
    h *= static_cast<float>(std::max(0.35, std::sqrt(2.0 / crowding)));
  }
  geo.slack = 16.0f * FLT_EPSILON * (max_abs + max_ext + geo.h);
  stats_ = {{geo.g[0], geo.g[1], geo.g[2]}, geo.h, occupied};

  // Counting sort into cell order: inclusive prefix sums are cell ends; filling
  // backwards leaves start_[c] at the cell's first position and keeps input order.
  for (int64_t c = 1; c <= cells; ++c) start_[c] += start_[c - 1];
  sorted_.resize(n);
  for (uint32_t i = n; i-- > 0;) {
    const uint32_t pos = --start_[cell_of_[i]];
    sorted_[pos] = {pts[3 * i], pts[3 * i + 1], pts[3 * i + 2], i};
    cell_of_[i] = pos;  // from here on: where point i sits in the cell order
  }
  start_[cells] = n;
  for (auto* v : {&bufs.sorted_x, &bufs.sorted_y, &bufs.sorted_z}) v->resize(n + KnnBlockView::kChunk);
  bufs.sorted_index.resize(n + KnnBlockView::kChunk);
#pragma omp parallel for schedule(static) if (n64 >= kParallelPrep)
  for (int64_t i = 0; i < n64; ++i)
    bufs.sorted_x[i] = sorted_[i].x, bufs.sorted_y[i] = sorted_[i].y, bufs.sorted_z[i] = sorted_[i].z,
    bufs.sorted_index[i] = sorted_[i].index;
  const SortedSoa soa{bufs.sorted_x.data(), bufs.sorted_y.data(), bufs.sorted_z.data(), bufs.sorted_index.data()};

  // Occupied cells, the unit of parallel work.
  occupied_.clear();
  for (int64_t c = 0; c < cells; ++c)
    if (start_[c + 1] > start_[c]) occupied_.push_back(static_cast<uint32_t>(c));

  const Point* sp = sorted_.data();
  const uint32_t* st = start_.data();
  const auto n_occ = static_cast<int64_t>(occupied_.size());
  auto& mean_sorted = bufs.mean_sorted;
  mean_sorted.resize(n);
#pragma omp parallel
  {
    Block block;
    std::vector<Top3> first;  // each query's top 3 within its block
#pragma omp for schedule(dynamic, 64)
    for (int64_t k = 0; k < n_occ; ++k) {
      const int64_t cell = occupied_[k];
      const int64_t cc[3] = {cell % geo.g[0], (cell / geo.g[0]) % geo.g[1], cell / (geo.g[0] * geo.g[1])};
      // Every query of this cell first scans the same 3x3x3 neighbourhood, gathered once
      // into SoA so the distance loop vectorises; only if that cannot prove the answer
      // does a query search further rings.
      const int64_t x0 = std::max<int64_t>(0, cc[0] - 1), x1 = std::min(geo.g[0] - 1, cc[0] + 1);
      // The query's own row first: the scalar search's 3rd-best bound tightens early and
      // exact duplicates end the search sooner. Cells along x are adjacent in memory.
      uint32_t rows[9][2];
      int n_rows = 0;
      auto row = [&](int64_t y, int64_t z) {
        rows[n_rows][0] = st[geo.id(x0, y, z)], rows[n_rows][1] = st[geo.id(x1, y, z) + 1], ++n_rows;
      };
      row(cc[1], cc[2]);
      for (int64_t z = std::max<int64_t>(0, cc[2] - 1); z <= std::min(geo.g[2] - 1, cc[2] + 1); ++z)
        for (int64_t y = std::max<int64_t>(0, cc[1] - 1); y <= std::min(geo.g[1] - 1, cc[1] + 1); ++y)
          if (y != cc[1] || z != cc[2]) row(y, z);
      block.gather(soa, rows, n_rows);
      first.resize(st[cell + 1] - st[cell]);
      block.search(sp + st[cell], first.size(), first.data());
      for (uint32_t s = st[cell]; s < st[cell + 1]; ++s) {
        const Point q = sp[s];
        Top3 best = first[s - st[cell]];
        if (!covered(geo, q, cc, 1, best)) {
          for (int64_t r = 2;; ++r) {
            ring(geo, sp, st, q, cc, r, best);
            if (covered(geo, q, cc, r, best)) break;
          }
        }
        mean_sorted[s] = best.mean();
      }
    }
    // Back to the caller's order, each thread writing its own stretch of `out`: written in cell
    // order, two threads' stores would share cache lines all the time.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n64; ++i) out[i] = mean_sorted[cell_of_[i]];
  }
}

}  // namespace
}  // namespace HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
HWY_EXPORT(Isa);
HWY_EXPORT(Run);

std::string KnnGrid::isa() { return HWY_DYNAMIC_DISPATCH(Isa)(); }

void KnnGrid::run(const float* pts, int64_t n, float* out) {
  KnnGridBuffers bufs{cell_of_,  start_,        sorted_,      sorted_x_, sorted_y_,
                      sorted_z_, sorted_index_, mean_sorted_, occupied_, stats_};
  HWY_DYNAMIC_DISPATCH(Run)(bufs, pts, n, out);
}
#endif  // HWY_ONCE

}  // namespace mb::cpu
