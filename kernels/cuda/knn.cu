#include <cfloat>
#include <climits>

#include "kernels/common/knn_search.hpp"
#include "kernels/common/morton.hpp"
#include "kernels/cuda/knn.hpp"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/radix_sort.hpp"

namespace mb::cuda {
namespace {

constexpr int kBoxThreads = 256;

// Block-wide min of lo[6] / max of hi[6] into s (6 x blockDim.x floats), result in s[k * blockDim.x].
__device__ void block_minmax(float lo[3], float hi[3], float* s) {
  const int t = threadIdx.x, nt = blockDim.x;
  for (int k = 0; k < 3; ++k) {
    s[k * nt + t] = lo[k];
    s[(k + 3) * nt + t] = hi[k];
  }
  __syncthreads();
  for (int stride = nt / 2; stride > 0; stride >>= 1) {
    if (t < stride)
      for (int k = 0; k < 3; ++k) {
        s[k * nt + t] = fminf(s[k * nt + t], s[k * nt + t + stride]);
        s[(k + 3) * nt + t] = fmaxf(s[(k + 3) * nt + t], s[(k + 3) * nt + t + stride]);
      }
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kThreads) knn_bounds_k(const float* __restrict__ p, int64_t n, float* bounds) {
  __shared__ float s[6 * kThreads];
  float lo[3] = {FLT_MAX, FLT_MAX, FLT_MAX}, hi[3] = {-FLT_MAX, -FLT_MAX, -FLT_MAX};
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    for (int k = 0; k < 3; ++k) {
      lo[k] = fminf(lo[k], p[3 * i + k]);  // fminf/fmaxf skip NaN
      hi[k] = fmaxf(hi[k], p[3 * i + k]);
    }
  block_minmax(lo, hi, s);
  if (threadIdx.x == 0)
    for (int k = 0; k < 6; ++k) bounds[6 * blockIdx.x + k] = s[k * kThreads];
}

__global__ void __launch_bounds__(kThreads) knn_bounds_total_k(float* bounds, int blocks) {
  __shared__ float s[6 * kThreads];
  float lo[3] = {FLT_MAX, FLT_MAX, FLT_MAX}, hi[3] = {-FLT_MAX, -FLT_MAX, -FLT_MAX};
  for (int b = threadIdx.x; b < blocks; b += kThreads)
    for (int k = 0; k < 3; ++k) {
      lo[k] = fminf(lo[k], bounds[6 * b + k]);
      hi[k] = fmaxf(hi[k], bounds[6 * b + 3 + k]);
    }
  block_minmax(lo, hi, s);
  if (threadIdx.x == 0)
    for (int k = 0; k < 6; ++k) bounds[6 * kKnnBoundBlocks + k] = s[k * kThreads];
}

__global__ void knn_morton_k(const float* __restrict__ p, int64_t n, const float* __restrict__ bounds,
                             uint32_t* __restrict__ codes, uint32_t* __restrict__ index) {
  const float* total = bounds + 6 * kKnnBoundBlocks;
  const float lo[3] = {total[0], total[1], total[2]}, hi[3] = {total[3], total[4], total[5]};
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    codes[i] = morton_code(p[3 * i], p[3 * i + 1], p[3 * i + 2], lo, hi);
    index[i] = static_cast<uint32_t>(i);
  }
}

__global__ void knn_gather_k(const float* __restrict__ p, const uint32_t* __restrict__ order, int64_t n,
                             float4* __restrict__ sorted) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int64_t j = order[i];
    sorted[i] = make_float4(p[3 * j], p[3 * j + 1], p[3 * j + 2], 0.0f);
  }
}

// One block per box.
__global__ void __launch_bounds__(kBoxThreads) knn_boxes_k(const float4* __restrict__ sorted, int64_t n,
                                                           float4* __restrict__ box_lo, float4* __restrict__ box_hi) {
  __shared__ float s[6 * kBoxThreads];
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * kKnnBoxPoints;
  const int64_t end = begin + knn_box_size(blockIdx.x, n);
  float lo[3] = {FLT_MAX, FLT_MAX, FLT_MAX}, hi[3] = {-FLT_MAX, -FLT_MAX, -FLT_MAX};
  for (int64_t i = begin + threadIdx.x; i < end; i += kBoxThreads) {
    const float4 q = sorted[i];
    lo[0] = fminf(lo[0], q.x), lo[1] = fminf(lo[1], q.y), lo[2] = fminf(lo[2], q.z);
    hi[0] = fmaxf(hi[0], q.x), hi[1] = fmaxf(hi[1], q.y), hi[2] = fmaxf(hi[2], q.z);
  }
  block_minmax(lo, hi, s);
  if (threadIdx.x == 0) {
    box_lo[blockIdx.x] = make_float4(s[0], s[kBoxThreads], s[2 * kBoxThreads], 0.0f);
    box_hi[blockIdx.x] = make_float4(s[3 * kBoxThreads], s[4 * kBoxThreads], s[5 * kBoxThreads], 0.0f);
  }
}

__global__ void knn_query_k(const float4* __restrict__ sorted, const float4* __restrict__ box_lo,
                            const float4* __restrict__ box_hi, int64_t n, int64_t q_begin, int64_t q_end,
                            const uint32_t* __restrict__ order, float* __restrict__ out) {
  const int64_t boxes = knn_box_count(n);
  for (int64_t i = q_begin + global_thread(); i < q_end; i += grid_threads()) {
    const float4 q = sorted[i];
    Top3 best = knn_window_top3(sorted, 0, n, i);
    for (int64_t b = 0; b < boxes; ++b)
      knn_visit_box(q, i, box_lo[b], box_hi[b], sorted + b * kKnnBoxPoints, b * kKnnBoxPoints, knn_box_size(b, n),
                    best);
    out[order[i]] = best.mean();
  }
}

// The chunk kernels: one thread per query of the chunk, the steps of kernels/common/knn_search.hpp.
__global__ void knn_chunk_init_k(KnnChunkView<KnnPoint> c) {
  for (int64_t i = c.q_begin + global_thread(); i < c.q_end; i += grid_threads()) knn_chunk_init(c, i);
}

__global__ void knn_chunk_mark_k(KnnChunkView<KnnPoint> c, unsigned char* __restrict__ flags) {
  for (int64_t i = c.q_begin + global_thread(); i < c.q_end; i += grid_threads()) knn_chunk_mark(c, i, flags);
}

__global__ void knn_chunk_scan_k(KnnChunkView<KnnPoint> c, const int32_t* __restrict__ list, int64_t count,
                                 const KnnPoint* __restrict__ tile) {
  for (int64_t i = c.q_begin + global_thread(); i < c.q_end; i += grid_threads())
    knn_chunk_scan(c, i, list, count, tile);
}

__global__ void knn_chunk_finish_k(const Top3* __restrict__ state, int64_t count, float* __restrict__ out) {
  for (int64_t k = global_thread(); k < count; k += grid_threads()) out[k] = state[k].mean();
}

bool valid_chunk(const KnnChunkView<KnnPoint>& c) {
  return c.n >= 4 && c.q_begin >= 0 && c.q_begin < c.q_end && c.q_end <= c.n && c.first <= c.q_begin &&
         c.q_begin % kKnnBoxPoints == 0;
}

}  // namespace

cudaError_t knn_sort_temp_bytes(int64_t n, size_t* bytes) {
  if (n <= 0 || n > INT_MAX) return cudaErrorInvalidValue;
  return radix_sort_pairs(nullptr, *bytes, nullptr, nullptr, nullptr, nullptr, static_cast<int>(n), 0,
                          static_cast<int>(3 * kMortonBits), nullptr);
}

cudaError_t knn_bounds(const float* points, int64_t n, float* bounds, cudaStream_t stream) {
  if (n <= 0) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_bounds_k, kKnnBoundBlocks, kThreads, stream, points, n, bounds);
  MB_LAUNCH(knn_bounds_total_k, 1, kThreads, stream, bounds, kKnnBoundBlocks);
  return cudaGetLastError();
}

cudaError_t knn_morton(const float* points, int64_t n, const float* bounds, uint32_t* codes, uint32_t* index,
                       cudaStream_t stream) {
  if (n <= 0) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_morton_k, blocks_for(n), kThreads, stream, points, n, bounds, codes, index);
  return cudaGetLastError();
}

cudaError_t knn_sort(void* temp, size_t temp_bytes, const uint32_t* codes_in, uint32_t* codes_out,
                     const uint32_t* index_in, uint32_t* order, int64_t n, cudaStream_t stream) {
  if (n <= 0 || n > INT_MAX) return cudaErrorInvalidValue;
  const cudaError_t e = radix_sort_pairs(temp, temp_bytes, codes_in, codes_out, index_in, order, static_cast<int>(n), 0,
                                         static_cast<int>(3 * kMortonBits), stream);
  return e != cudaSuccess ? e : cudaGetLastError();
}

cudaError_t knn_gather_and_box(const float* points, const uint32_t* order, int64_t n, float4* sorted, float4* box_lo,
                               float4* box_hi, cudaStream_t stream) {
  const int64_t boxes = knn_box_count(n);
  if (n <= 0 || boxes > INT_MAX) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_gather_k, blocks_for(n), kThreads, stream, points, order, n, sorted);
  MB_LAUNCH(knn_boxes_k, static_cast<unsigned>(boxes), kBoxThreads, stream, sorted, n, box_lo, box_hi);
  return cudaGetLastError();
}

cudaError_t knn_query(const float4* sorted, const float4* box_lo, const float4* box_hi, int64_t n, int64_t q_begin,
                      int64_t q_end, const uint32_t* order, float* out, cudaStream_t stream) {
  if (n < 4 || q_begin < 0 || q_begin >= q_end || q_end > n) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_query_k, blocks_for(q_end - q_begin), kThreads, stream, sorted, box_lo, box_hi, n, q_begin, q_end,
            order, out);
  return cudaGetLastError();
}

cudaError_t enqueue_knn_chunk_init(const KnnChunkView<KnnPoint>& c, cudaStream_t stream) {
  if (!valid_chunk(c)) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_chunk_init_k, blocks_for(c.q_end - c.q_begin), kThreads, stream, c);
  return cudaGetLastError();
}

cudaError_t enqueue_knn_chunk_mark(const KnnChunkView<KnnPoint>& c, unsigned char* flags, cudaStream_t stream) {
  if (!valid_chunk(c)) return cudaErrorInvalidValue;
  const cudaError_t e = cudaMemsetAsync(flags, 0, static_cast<size_t>(knn_box_count(c.n)), stream);
  if (e != cudaSuccess) return e;
  MB_LAUNCH(knn_chunk_mark_k, blocks_for(c.q_end - c.q_begin), kThreads, stream, c, flags);
  return cudaGetLastError();
}

cudaError_t enqueue_knn_chunk_scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count,
                                   const KnnPoint* tile, cudaStream_t stream) {
  if (!valid_chunk(c) || count <= 0) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_chunk_scan_k, blocks_for(c.q_end - c.q_begin), kThreads, stream, c, list, count, tile);
  return cudaGetLastError();
}

cudaError_t enqueue_knn_chunk_finish(const KnnChunkView<KnnPoint>& c, float* out, cudaStream_t stream) {
  if (!valid_chunk(c)) return cudaErrorInvalidValue;
  MB_LAUNCH(knn_chunk_finish_k, blocks_for(c.q_end - c.q_begin), kThreads, stream, c.state, c.q_end - c.q_begin, out);
  return cudaGetLastError();
}

const void* knn_query_kernel() { return reinterpret_cast<const void*>(&knn_query_k); }
const void* knn_chunk_scan_kernel() { return reinterpret_cast<const void*>(&knn_chunk_scan_k); }

KnnKernelRefs knn_kernels() {
  return {reinterpret_cast<const void*>(&knn_bounds_k),     reinterpret_cast<const void*>(&knn_bounds_total_k),
          reinterpret_cast<const void*>(&knn_morton_k),     reinterpret_cast<const void*>(&knn_gather_k),
          reinterpret_cast<const void*>(&knn_boxes_k),      reinterpret_cast<const void*>(&knn_query_k),
          reinterpret_cast<const void*>(&knn_chunk_init_k), reinterpret_cast<const void*>(&knn_chunk_mark_k),
          reinterpret_cast<const void*>(&knn_chunk_scan_k), reinterpret_cast<const void*>(&knn_chunk_finish_k)};
}

}  // namespace mb::cuda
