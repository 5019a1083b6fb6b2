#pragma once
// Exact 3-NN mean squared distance (simple-knn's distCUDA2): Morton-sort the
// points, bound every run of kKnnBox sorted points by a box, then per query
// scan every box, pruning boxes farther than the current third-best distance.
// Launchers enqueue on `stream` and return the launch status.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/common/knn_search.hpp"

namespace mb::cuda {

inline constexpr int kKnnBoundBlocks = 256;                        // blocks of the bounding-box reduction
inline constexpr int kKnnBoundFloats = 6 * (kKnnBoundBlocks + 1);  // per-block lo/hi, then the total

// Scratch bytes of the radix sort of n (code, index) pairs; n <= INT32_MAX.
cudaError_t knn_sort_temp_bytes(int64_t n, size_t* bytes);

// bounds: kKnnBoundFloats floats; the cloud's lo[3], hi[3] end up at bounds + 6 * kKnnBoundBlocks.
cudaError_t knn_bounds(const float* points, int64_t n, float* bounds, cudaStream_t stream);
// codes[i] = Morton code of point i in the cloud's box, index[i] = i.
cudaError_t knn_morton(const float* points, int64_t n, const float* bounds, uint32_t* codes, uint32_t* index,
                       cudaStream_t stream);
// Sorts (codes_in, index_in) by code into (codes_out, order).
cudaError_t knn_sort(void* temp, size_t temp_bytes, const uint32_t* codes_in, uint32_t* codes_out,
                     const uint32_t* index_in, uint32_t* order, int64_t n, cudaStream_t stream);
// sorted[i] = points[order[i]] (xyz, w unused); box_lo/hi[b] bound sorted[b*kKnnBoxPoints, (b+1)*kKnnBoxPoints).
cudaError_t knn_gather_and_box(const float* points, const uint32_t* order, int64_t n, float4* sorted, float4* box_lo,
                               float4* box_hi, cudaStream_t stream);
// Sorted queries [q_begin, q_end) against every box; query i's result goes to out[order[i]]
// (the points' own order). Callers bound q_end - q_begin: each query scans every box, so one
// launch over a large cloud could outlast a display GPU's watchdog.
cudaError_t knn_query(const float4* sorted, const float4* box_lo, const float4* box_hi, int64_t n, int64_t q_begin,
                      int64_t q_end, const uint32_t* order, float* out, cudaStream_t stream);

// The memory-capped variant's steps over one chunk (harness/knn_stream.hpp), one thread per query.
cudaError_t enqueue_knn_chunk_init(const KnnChunkView<KnnPoint>& chunk, cudaStream_t stream);
// Clears flags[0, box count) first.
cudaError_t enqueue_knn_chunk_mark(const KnnChunkView<KnnPoint>& chunk, unsigned char* flags, cudaStream_t stream);
cudaError_t enqueue_knn_chunk_scan(const KnnChunkView<KnnPoint>& chunk, const int32_t* list, int64_t count,
                                   const KnnPoint* tile, cudaStream_t stream);
cudaError_t enqueue_knn_chunk_finish(const KnnChunkView<KnnPoint>& chunk, float* out, cudaStream_t stream);

const void* knn_query_kernel();
const void* knn_chunk_scan_kernel();
// Every knn kernel of ours (for the kernel list).
struct KnnKernelRefs {
  const void *bounds, *bounds_total, *morton, *gather, *boxes, *query;
  const void *chunk_init, *chunk_mark, *chunk_scan, *chunk_finish;
};
KnnKernelRefs knn_kernels();

}  // namespace mb::cuda
