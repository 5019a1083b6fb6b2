#pragma once
// Exact 3-NN mean squared distance (simple-knn's distCUDA2): Morton-sort the
// points, bound every run of kKnnBox sorted points by a box, then per query
// scan every box, pruning boxes farther than the current third-best distance.
// Launchers enqueue on `stream` and return the launch status.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace mb::cuda {

inline constexpr int64_t kKnnBox = 1024;                           // sorted points per box (as simple-knn)
inline constexpr int kKnnBoundBlocks = 256;                        // blocks of the bounding-box reduction
inline constexpr int kKnnBoundFloats = 6 * (kKnnBoundBlocks + 1);  // per-block lo/hi, then the total

inline int64_t knn_box_count(int64_t n) { return (n + kKnnBox - 1) / kKnnBox; }

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
// sorted[i] = points[order[i]] (xyz, w unused); box_lo/hi[b] bound sorted[b*kKnnBox, (b+1)*kKnnBox).
cudaError_t knn_gather_and_box(const float* points, const uint32_t* order, int64_t n, float4* sorted, float4* box_lo,
                               float4* box_hi, cudaStream_t stream);
// Queries sorted[begin, end): the result of sorted query i goes to out[scatter[i]] when scatter
// is given (original order), else to out[i - begin] (a chunk in sorted order).
cudaError_t knn_query(const float4* sorted, const float4* box_lo, const float4* box_hi, int64_t n, int64_t begin,
                      int64_t end, const uint32_t* scatter, float* out, cudaStream_t stream);

const void* knn_query_kernel();
// Every knn kernel of ours (for the kernel list).
struct KnnKernelRefs {
  const void *bounds, *bounds_total, *morton, *gather, *boxes, *query;
};
KnnKernelRefs knn_kernels();

}  // namespace mb::cuda
