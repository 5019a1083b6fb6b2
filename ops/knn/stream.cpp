#include "ops/knn/stream.hpp"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "harness/status.hpp"
#include "kernels/common/morton.hpp"

namespace mb {
namespace {

constexpr size_t kPoint = sizeof(KnnPoint);
// Per query of a chunk: its point, its top-3 state, its result.
constexpr size_t kChunkBoxBytes = kKnnBoxPoints * (kPoint + sizeof(Top3) + sizeof(float));
// Per box of the tile: its points and its entry in the box list.
constexpr size_t kTileBoxBytes = kKnnBoxPoints * kPoint + sizeof(int32_t);

size_t resident_bytes(int64_t boxes) {
  // Both box bounds and the flags, plus the window halo around a chunk.
  return static_cast<size_t>(boxes) * (2 * kPoint + 1) + 2 * kKnnWindow * kPoint;
}

}  // namespace

size_t knn_stream_bytes(int64_t n, int64_t chunk_boxes, int64_t tile_boxes) {
  return resident_bytes(knn_box_count(n)) + static_cast<size_t>(chunk_boxes) * kChunkBoxBytes +
         static_cast<size_t>(tile_boxes) * kTileBoxBytes;
}

KnnStreamPlan plan_knn_stream(int64_t n, size_t budget) {
  if (n < 4) throw BadInput("knn needs at least 4 points, got " + std::to_string(n));
  KnnStreamPlan p;
  p.n = n;
  p.boxes = knn_box_count(n);
  // One box of queries, and one box of tile unless the cloud is a single box.
  const size_t least = knn_stream_bytes(n, 1, p.boxes > 1 ? 1 : 0);
  if (least > budget)
    throw DeviceFailure(ErrorClass::out_of_memory, "knn chunked needs at least " + std::to_string(least) +
                                                       " device bytes for " + std::to_string(n) + " points, budget " +
                                                       std::to_string(budget));
  if (p.boxes <= kKnnMaxChunkBoxes && knn_stream_bytes(n, p.boxes, 0) <= budget) {
    p.chunk_boxes = p.boxes;  // one chunk: no other boxes, no tile
  } else {
    const size_t spare = budget - resident_bytes(p.boxes);
    p.chunk_boxes = std::clamp<int64_t>(static_cast<int64_t>(spare / 2 / kChunkBoxBytes), 1,
                                        std::min(p.boxes - 1, kKnnMaxChunkBoxes));
    p.tile_boxes =
        std::min<int64_t>(p.boxes - 1, static_cast<int64_t>((spare - p.chunk_boxes * kChunkBoxBytes) / kTileBoxBytes));
  }
  p.device_bytes = knn_stream_bytes(n, p.chunk_boxes, p.tile_boxes);
  return p;
}

void knn_morton_sort(const float* pts, int64_t n, std::vector<uint32_t>& codes, std::vector<uint32_t>& order,
                     KnnPoint* sorted) {
  const size_t un = static_cast<size_t>(n);
  float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
#pragma omp parallel for reduction(min : lo[:3]) reduction(max : hi[:3])
  for (size_t i = 0; i < un; ++i)
    for (int k = 0; k < 3; ++k) {
      lo[k] = std::fmin(lo[k], pts[3 * i + k]);  // fmin/fmax skip NaN
      hi[k] = std::fmax(hi[k], pts[3 * i + k]);
    }
  // 8^bits cells with about 16 points each, at most 2^15 so the counts stay in L2.
  uint32_t bits = 1;
  while (bits < 5 && (int64_t{16} << (3 * (bits + 1))) <= n) ++bits;
  const uint32_t shift = 3 * (kMortonBits - bits);
  const size_t cells = size_t{1} << (3 * bits);
  codes.resize(un);
  order.resize(un);
  // A stable counting sort, split over threads by input range: each thread
  // counts its range, then writes it at its own offsets, so the result does not
  // depend on the thread count.
  std::vector<std::vector<uint32_t>> offsets;
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), t = omp_get_thread_num();
#pragma omp single
    offsets.assign(threads, std::vector<uint32_t>(cells, 0));
    const size_t begin = un * t / threads, end = un * (t + 1) / threads;
    std::vector<uint32_t>& mine = offsets[t];
    for (size_t i = begin; i < end; ++i) {
      codes[i] = morton_code(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2], lo, hi) >> shift;
      ++mine[codes[i]];
    }
#pragma omp barrier
#pragma omp single
    {
      uint32_t next = 0;
      for (size_t c = 0; c < cells; ++c)
        for (int u = 0; u < threads; ++u) {
          const uint32_t count = offsets[u][c];
          offsets[u][c] = next;
          next += count;
        }
    }
    for (size_t i = begin; i < end; ++i) {
      const uint32_t pos = mine[codes[i]]++;
      order[pos] = static_cast<uint32_t>(i);
      sorted[pos] = {pts[3 * i], pts[3 * i + 1], pts[3 * i + 2], 0.0f};
    }
  }
}

KnnStreamer::KnnStreamer(Device& dev, KnnStreamKernels& kernels, int64_t n, size_t budget)
    : dev_(dev), kernels_(kernels), plan_(plan_knn_stream(n, budget)) {
  if (n > std::numeric_limits<int32_t>::max())
    throw BadInput("knn chunked takes at most 2^31-1 points, got " + std::to_string(n));
  const size_t un = static_cast<size_t>(n), boxes = static_cast<size_t>(plan_.boxes);
  const size_t chunk = static_cast<size_t>(plan_.chunk_boxes * kKnnBoxPoints);
  codes_.resize(un);
  order_.resize(un);
  sorted_.resize(un);
  box_lo_.resize(boxes);
  box_hi_.resize(boxes);
  out_sorted_.resize(un);
  flags_.resize(boxes);
  list_.resize(boxes);
  for (auto [p, bytes] : {std::pair<void*, size_t>{sorted_.data(), un * kPoint},
                          {box_lo_.data(), boxes * kPoint},
                          {box_hi_.data(), boxes * kPoint},
                          {out_sorted_.data(), un * sizeof(float)},
                          {flags_.data(), boxes},
                          {list_.data(), boxes * sizeof(int32_t)}})
    pins_.push_back(std::make_unique<PinnedRegion>(dev, p, bytes));
  d_box_lo_ = DeviceArray<KnnPoint>(dev, boxes);
  d_box_hi_ = DeviceArray<KnnPoint>(dev, boxes);
  d_flags_ = DeviceArray<unsigned char>(dev, boxes);
  d_queries_ = DeviceArray<KnnPoint>(dev, chunk + 2 * kKnnWindow);
  d_state_ = DeviceArray<Top3>(dev, chunk);
  d_out_ = DeviceArray<float>(dev, chunk);
  if (plan_.tile_boxes > 0) {
    d_tile_ = DeviceArray<KnnPoint>(dev, static_cast<size_t>(plan_.tile_boxes * kKnnBoxPoints));
    d_list_ = DeviceArray<int32_t>(dev, static_cast<size_t>(plan_.tile_boxes));
  }
}

void KnnStreamer::build_index(const float* pts) {
  knn_morton_sort(pts, plan_.n, codes_, order_, sorted_.data());
#pragma omp parallel for
  for (int64_t b = 0; b < plan_.boxes; ++b) {
    const KnnPoint* p = sorted_.data() + b * kKnnBoxPoints;
    KnnPoint lo = p[0], hi = p[0];
    for (int64_t k = 1; k < knn_box_size(b, plan_.n); ++k) {
      lo = {std::fmin(lo.x, p[k].x), std::fmin(lo.y, p[k].y), std::fmin(lo.z, p[k].z), 0.0f};
      hi = {std::fmax(hi.x, p[k].x), std::fmax(hi.y, p[k].y), std::fmax(hi.z, p[k].z), 0.0f};
    }
    box_lo_[b] = lo;
    box_hi_[b] = hi;
  }
}

void KnnStreamer::run(const float* points, float* out) {
  stats_ = {};
  build_index(points);
  dev_.copy_async(d_box_lo_.data(), box_lo_.data(), d_box_lo_.bytes(), CopyKind::host_to_device);
  dev_.copy_async(d_box_hi_.data(), box_hi_.data(), d_box_hi_.bytes(), CopyKind::host_to_device);
  for (int64_t q = 0; q < plan_.n; q += plan_.chunk_boxes * kKnnBoxPoints) run_chunk(q);
  dev_.synchronize();
  const int64_t n = plan_.n;
#pragma omp parallel for
  for (int64_t k = 0; k < n; ++k) out[order_[k]] = out_sorted_[k];
}

void KnnStreamer::run_chunk(int64_t q_begin) {
  const int64_t n = plan_.n;
  const int64_t q_end = std::min(n, q_begin + plan_.chunk_boxes * kKnnBoxPoints);
  const int64_t first = std::max<int64_t>(0, q_begin - kKnnWindow), last = std::min(n, q_end + kKnnWindow);
  dev_.copy_async(d_queries_.data(), sorted_.data() + first, static_cast<size_t>(last - first) * kPoint,
                  CopyKind::host_to_device);
  const KnnChunkView<KnnPoint> chunk{d_box_lo_.data(), d_box_hi_.data(), n, d_queries_.data(), first, q_begin, q_end,
                                     d_state_.data()};
  kernels_.init(chunk);
  if (plan_.tile_boxes > 0) stream_flagged(chunk);
  kernels_.finish(chunk, d_out_.data());
  dev_.copy_async(out_sorted_.data() + q_begin, d_out_.data(), static_cast<size_t>(q_end - q_begin) * sizeof(float),
                  CopyKind::device_to_host);
  ++stats_.chunks;
}

void KnnStreamer::stream_flagged(const KnnChunkView<KnnPoint>& chunk) {
  kernels_.mark(chunk, d_flags_.data());
  dev_.copy_async(flags_.data(), d_flags_.data(), d_flags_.bytes(), CopyKind::device_to_host);
  // Also completes the previous chunk's copies out of list_ before it is rewritten.
  dev_.synchronize();
  int64_t flagged = 0;
  for (int64_t b = 0; b < plan_.boxes; ++b)
    if (flags_[b]) list_[flagged++] = static_cast<int32_t>(b);
  for (int64_t pass = 0; pass < flagged; pass += plan_.tile_boxes) {
    const int64_t count = std::min(plan_.tile_boxes, flagged - pass);
    const int32_t* list = list_.data() + pass;
    dev_.copy_async(d_list_.data(), list, static_cast<size_t>(count) * sizeof(int32_t), CopyKind::host_to_device);
    for (int64_t k = 0; k < count;) {  // one copy per run of consecutive boxes
      int64_t run = 1;
      while (k + run < count && list[k + run] == list[k] + run) ++run;
      const int64_t begin = int64_t{list[k]} * kKnnBoxPoints;
      const int64_t end = std::min(plan_.n, (int64_t{list[k]} + run) * kKnnBoxPoints);
      dev_.copy_async(d_tile_.data() + k * kKnnBoxPoints, sorted_.data() + begin,
                      static_cast<size_t>(end - begin) * kPoint, CopyKind::host_to_device);
      ++stats_.copies;
      k += run;
    }
    kernels_.scan(chunk, d_list_.data(), count, d_tile_.data());
    ++stats_.passes;
  }
  stats_.streamed_boxes += flagged;
}

size_t parse_byte_size(const std::string& text, const std::string& what) {
  const auto bad = [&] {
    return BadInput(what + " must be a byte count like 1048576, 64k, 256M or 2G, got '" + text + "'");
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) throw bad();
  const std::string unit = text.substr(digits);
  int shift = 0;
  if (unit == "k" || unit == "K")
    shift = 10;
  else if (unit == "m" || unit == "M")
    shift = 20;
  else if (unit == "g" || unit == "G")
    shift = 30;
  else if (!unit.empty())
    throw bad();
  const size_t value = std::stoull(text.substr(0, digits));
  if (value == 0 || value > (std::numeric_limits<size_t>::max() >> shift)) throw bad();
  return value << shift;
}

namespace {
thread_local std::optional<size_t> scoped_budget;
}  // namespace

ScopedKnnBudget::ScopedKnnBudget(size_t bytes) : saved_(scoped_budget) { scoped_budget = bytes; }
ScopedKnnBudget::~ScopedKnnBudget() { scoped_budget = saved_; }

std::optional<size_t> knn_budget_from_env() {
  if (scoped_budget) return scoped_budget;
  const char* env = std::getenv("MODEBENCH_KNN_BUDGET");
  if (!env || !*env) return std::nullopt;
  return parse_byte_size(env, "MODEBENCH_KNN_BUDGET");
}

}  // namespace mb
