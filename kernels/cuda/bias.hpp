#pragma once
// Bias kernels of linear and conv2d. Launchers enqueue on `stream` and return
// the launch status (cudaGetLastError); harness code classifies it.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mb::cuda {

// y[i, o] = b[o] for a row-major [rows, cols] y: the C of a beta = 1 GEMM (PyTorch addmm's way).
cudaError_t fill_rows_with_bias(float* y, const float* b, int64_t rows, int64_t cols, cudaStream_t stream);

// y[n, k, :, :] += b[k] for an NCHW [n, k, plane] y.
cudaError_t add_bias_nchw(float* y, const float* b, int64_t n, int64_t k, int64_t plane, cudaStream_t stream);

const void* fill_rows_with_bias_kernel();
const void* add_bias_nchw_kernel();

}  // namespace mb::cuda
