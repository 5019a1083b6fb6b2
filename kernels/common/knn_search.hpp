#pragma once
// Exact 3-NN search over Morton-sorted points grouped into boxes of
// kKnnBoxPoints consecutive sorted points (simple-knn's scheme), written as
// per-query steps that the CUDA kernels and host code share.
//
// A query i starts from its sorted neighbours i-3..i+3 (its "window"): they
// bound its third-best distance, so far boxes are pruned from the start.
// Window points are then skipped when their box is scanned, so no point is
// counted twice. A box is skipped when its lower-bound distance exceeds the
// current third best; each rounding step of that bound is monotone, so it
// never exceeds the rounded distance to a point inside: pruning stays exact.
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.hpp"
#include "kernels/common/top3.hpp"

namespace mb {

inline constexpr int64_t kKnnBoxPoints = 1024;  // as simple-knn
inline constexpr int64_t kKnnWindow = 3;

// Host-side point with the layout of CUDA's float4 (w unused).
struct alignas(16) KnnPoint {
  float x, y, z, w;
};

MB_HD int64_t knn_box_count(int64_t n) { return (n + kKnnBoxPoints - 1) / kKnnBoxPoints; }
MB_HD int64_t knn_box_size(int64_t box, int64_t n) {
  const int64_t rest = n - box * kKnnBoxPoints;
  return rest < kKnnBoxPoints ? rest : kKnnBoxPoints;
}

template <class P>
MB_HD float knn_dist2(const P& a, const P& b) {
  const float dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  return dx * dx + dy * dy + dz * dz;
}

// Lower bound of the squared distance from q to any point in [lo, hi].
template <class P>
MB_HD float knn_box_dist2(const P& q, const P& lo, const P& hi) {
  const float dx = fmaxf(fmaxf(lo.x - q.x, q.x - hi.x), 0.0f);
  const float dy = fmaxf(fmaxf(lo.y - q.y, q.y - hi.y), 0.0f);
  const float dz = fmaxf(fmaxf(lo.z - q.z, q.z - hi.z), 0.0f);
  return dx * dx + dy * dy + dz * dz;
}

MB_HD bool knn_in_window(int64_t i, int64_t j) { return j >= i - kKnnWindow && j <= i + kKnnWindow; }

// Top 3 over the window of sorted query i (n >= 4, so at least 3 points);
// pts[k] is sorted point first + k and covers the window clipped to [0, n).
template <class P>
MB_HD Top3 knn_window_top3(const P* pts, int64_t first, int64_t n, int64_t i) {
  const int64_t lo = i >= kKnnWindow ? i - kKnnWindow : 0;
  const int64_t hi = i + kKnnWindow < n ? i + kKnnWindow : n - 1;
  const P q = pts[i - first];
  Top3 best = Top3::empty();
  for (int64_t j = lo; j <= hi; ++j)
    if (j != i) best.insert(knn_dist2(q, pts[j - first]));
  return best;
}

// Scans a box (pts[k] is sorted point base + k) unless pruned, skipping i's window.
template <class P>
MB_HD void knn_visit_box(const P& q, int64_t i, const P& lo, const P& hi, const P* pts, int64_t base, int64_t count,
                         Top3& best) {
  if (knn_box_dist2(q, lo, hi) > best.worst()) return;
  if (base > i + kKnnWindow || base + count <= i - kKnnWindow) {
    for (int64_t k = 0; k < count; ++k) best.insert(knn_dist2(q, pts[k]));
  } else {
    for (int64_t k = 0; k < count; ++k)
      if (!knn_in_window(i, base + k)) best.insert(knn_dist2(q, pts[k]));
  }
}

// One chunk of queries of the streamed search: the device holds every box's
// bounds but only the chunk's own points (plus the window halo) and one tile
// of other boxes' points at a time.
template <class P>
struct KnnChunkView {
  const P* box_lo;
  const P* box_hi;
  int64_t n;         // points in the cloud
  const P* queries;  // queries[k] is sorted point first + k
  int64_t first;     // q_begin minus the halo
  int64_t q_begin;   // queries are sorted points [q_begin, q_end),
  int64_t q_end;     //   box-aligned (q_end may be n)
  Top3* state;       // per query of the chunk, state[i - q_begin]
};

template <class P>
MB_HD int64_t knn_chunk_first_box(const KnnChunkView<P>& c) {
  return c.q_begin / kKnnBoxPoints;
}
template <class P>
MB_HD int64_t knn_chunk_end_box(const KnnChunkView<P>& c) {
  return knn_box_count(c.q_end);
}

// Step 1 for query i: window, then the chunk's own boxes.
template <class P>
MB_HD void knn_chunk_init(const KnnChunkView<P>& c, int64_t i) {
  const P q = c.queries[i - c.first];
  Top3 best = knn_window_top3(c.queries, c.first, c.n, i);
  for (int64_t b = knn_chunk_first_box(c); b < knn_chunk_end_box(c); ++b)
    knn_visit_box(q, i, c.box_lo[b], c.box_hi[b], c.queries + (b * kKnnBoxPoints - c.first), b * kKnnBoxPoints,
                  knn_box_size(b, c.n), best);
  c.state[i - c.q_begin] = best;
}

// Sets a box's flag, which several queries may set at once (each stores 1). On the device a
// plain byte store (the PTX memory model gives a race of such stores one of the values stored);
// in host code (CPU threads, the simulated device) a relaxed atomic store, since there a race of
// plain stores is undefined behaviour, and ThreadSanitizer reports it (ctest -L tsan).
MB_HD void knn_set_flag(unsigned char* flag) {
#if defined(__CUDA_ARCH__)
  *flag = 1;
#else
  // The GCC/Clang builtin, not std::atomic_ref: this header is also compiled as C++17 (nvcc).
  __atomic_store_n(flag, static_cast<unsigned char>(1), __ATOMIC_RELAXED);
#endif
}

// Step 2 for query i: flags every other box that may still hold one of its 3 nearest.
template <class P>
MB_HD void knn_chunk_mark(const KnnChunkView<P>& c, int64_t i, unsigned char* flags) {
  const P q = c.queries[i - c.first];
  const float worst = c.state[i - c.q_begin].worst();
  const int64_t own_begin = knn_chunk_first_box(c), own_end = knn_chunk_end_box(c), boxes = knn_box_count(c.n);
  for (int64_t b = 0; b < boxes; ++b)
    if ((b < own_begin || b >= own_end) && !(knn_box_dist2(q, c.box_lo[b], c.box_hi[b]) > worst))
      knn_set_flag(flags + b);
}

// Step 3 for query i, once per tile: tile holds boxes list[0..count) back to back.
template <class P>
MB_HD void knn_chunk_scan(const KnnChunkView<P>& c, int64_t i, const int32_t* list, int64_t count, const P* tile) {
  const P q = c.queries[i - c.first];
  Top3 best = c.state[i - c.q_begin];
  for (int64_t k = 0; k < count; ++k) {
    const int64_t b = list[k];
    knn_visit_box(q, i, c.box_lo[b], c.box_hi[b], tile + k * kKnnBoxPoints, b * kKnnBoxPoints, knn_box_size(b, c.n),
                  best);
  }
  c.state[i - c.q_begin] = best;
}

}  // namespace mb
