#include "kernels/cuda/bias.hpp"
#include "kernels/cuda/launch.cuh"

namespace mb::cuda {
namespace {

__global__ void fill_rows_with_bias_k(float* __restrict__ y, const float* __restrict__ b, int64_t rows, int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) y[i] = b[i % cols];
}

__global__ void add_bias_nchw_k(float* __restrict__ y, const float* __restrict__ b, int64_t n, int64_t k,
                                int64_t plane) {
  const int64_t total = n * k * plane;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) y[i] += b[(i / plane) % k];
}

}  // namespace

cudaError_t fill_rows_with_bias(float* y, const float* b, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows * cols == 0) return cudaSuccess;
  MB_LAUNCH(fill_rows_with_bias_k, blocks_for(rows * cols), kThreads, stream, y, b, rows, cols);
  return cudaGetLastError();
}

cudaError_t add_bias_nchw(float* y, const float* b, int64_t n, int64_t k, int64_t plane, cudaStream_t stream) {
  if (n * k * plane == 0) return cudaSuccess;
  MB_LAUNCH(add_bias_nchw_k, blocks_for(n * k * plane), kThreads, stream, y, b, n, k, plane);
  return cudaGetLastError();
}

const void* fill_rows_with_bias_kernel() { return reinterpret_cast<const void*>(&fill_rows_with_bias_k); }
const void* add_bias_nchw_kernel() { return reinterpret_cast<const void*>(&add_bias_nchw_k); }

}  // namespace mb::cuda
