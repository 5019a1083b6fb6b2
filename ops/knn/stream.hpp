#pragma once
// knn's memory-capped GPU variant ("chunked"), apart from CUDA: it plans
// chunk and tile sizes under a byte budget, builds the Morton index on the
// host, and drives the chunk loop through a Device (memory, copies) and
// KnnStreamKernels (the compute steps of kernels/common/knn_search.hpp).
// The device holds every box's bounds (33 bytes per 1024 points), one chunk
// of queries with their top-3 state, and one tile of other boxes' points, so
// a cloud of any size completes in a budget of a few hundred KiB plus about
// 1/31 byte per point. CUDA kernels: harness/cuda/knn_gpu.cpp; the unit tests
// drive the same loop on TestDevice with host loops over the same steps.
//
// Per chunk: upload its queries (plus the window halo), start each query
// from its window and the chunk's own boxes, flag every other box that can
// still hold one of its 3 nearest, download the flags, stream the flagged
// boxes through the tile (one copy per run of consecutive boxes), finish.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/device/device.hpp"
#include "kernels/common/knn_search.hpp"

namespace mb {

struct KnnStreamPlan {
  int64_t n = 0, boxes = 0;
  int64_t chunk_boxes = 0;  // queries per chunk, in boxes
  int64_t tile_boxes = 0;   // other boxes' points resident at once; 0 when one chunk covers the cloud
  size_t device_bytes = 0;  // what the planned buffers take
};

// Largest chunk (in boxes): also bounds one kernel's run time (display watchdogs).
inline constexpr int64_t kKnnMaxChunkBoxes = 1024;

// Device bytes of a plan with the given chunk and tile sizes.
size_t knn_stream_bytes(int64_t n, int64_t chunk_boxes, int64_t tile_boxes);
// The whole cloud as one chunk when it fits, else half of what is left for
// queries and half for the tile. Throws DeviceFailure(out_of_memory) when not
// even one box of each fits.
KnnStreamPlan plan_knn_stream(int64_t n, size_t budget);

// Spatially coherent order: a stable counting sort on the Morton code of
// cells holding about 16 points each (order within a cell is the input order;
// the search is exact for any order, only slower for a poor one).
// codes[i] is point i's cell code, order[k] the point at sorted position k
// (codes[order[k]] nondecreasing), sorted[k] its coordinates.
void knn_morton_sort(const float* points, int64_t n, std::vector<uint32_t>& codes, std::vector<uint32_t>& order,
                     KnnPoint* sorted);

// The compute steps, enqueued on the device's stream in order with its copies.
class KnnStreamKernels {
 public:
  virtual ~KnnStreamKernels() = default;
  virtual void init(const KnnChunkView<KnnPoint>& chunk) = 0;
  // Clears flags[0, boxes) first.
  virtual void mark(const KnnChunkView<KnnPoint>& chunk, unsigned char* flags) = 0;
  virtual void scan(const KnnChunkView<KnnPoint>& chunk, const int32_t* list, int64_t count, const KnnPoint* tile) = 0;
  // out[k] = mean of query q_begin + k's top 3.
  virtual void finish(const KnnChunkView<KnnPoint>& chunk, float* out) = 0;
};

struct KnnStreamStats {
  int64_t chunks = 0, passes = 0, streamed_boxes = 0, copies = 0;
};

class KnnStreamer {
 public:
  // Allocates every device buffer and pins the host staging now (not per call).
  KnnStreamer(Device& dev, KnnStreamKernels& kernels, int64_t n, size_t budget);
  KnnStreamer(const KnnStreamer&) = delete;
  KnnStreamer& operator=(const KnnStreamer&) = delete;

  // points: n xyz triples; out: n results in the points' order. Returns when done.
  void run(const float* points, float* out);

  const KnnStreamPlan& plan() const { return plan_; }
  const KnnStreamStats& last_stats() const { return stats_; }

 private:
  void build_index(const float* points);
  void run_chunk(int64_t q_begin);
  void stream_flagged(const KnnChunkView<KnnPoint>& chunk);

  Device& dev_;
  KnnStreamKernels& kernels_;
  KnnStreamPlan plan_;
  KnnStreamStats stats_;
  // Host side, pinned where async copies read or write it.
  std::vector<uint32_t> codes_, order_;
  std::vector<KnnPoint> sorted_, box_lo_, box_hi_;
  std::vector<float> out_sorted_;
  std::vector<unsigned char> flags_;
  std::vector<int32_t> list_;
  std::vector<std::unique_ptr<PinnedRegion>> pins_;  // after the vectors: unpinned before they go
  // Device side.
  DeviceArray<KnnPoint> d_box_lo_, d_box_hi_, d_queries_, d_tile_;
  DeviceArray<Top3> d_state_;
  DeviceArray<float> d_out_;
  DeviceArray<unsigned char> d_flags_;
  DeviceArray<int32_t> d_list_;
};

// Byte sizes as "1048576", "64k", "256M", "2G" (binary units). Throws BadInput naming `what`.
size_t parse_byte_size(const std::string& text, const std::string& what);

// MODEBENCH_KNN_BUDGET: the chunked variant's device byte budget when set (else 90 % of free
// device memory). Throws BadInput on a malformed value; `modebench run` checks it before any work.
// Inside a ScopedKnnBudget on this thread, that budget instead.
std::optional<size_t> knn_budget_from_env();

// While alive, knn_budget_from_env() on this thread returns `bytes`: the reduced-size check
// of knn (ops/knn/case.cpp) forces the chunked variant through several chunks and tile passes.
class ScopedKnnBudget {
 public:
  explicit ScopedKnnBudget(size_t bytes);
  ~ScopedKnnBudget();
  ScopedKnnBudget(const ScopedKnnBudget&) = delete;
  ScopedKnnBudget& operator=(const ScopedKnnBudget&) = delete;

 private:
  std::optional<size_t> saved_;
};

}  // namespace mb
