#pragma once
// Launch geometry shared by our kernels: grid-stride loops over 64-bit counts,
// so any count works with a capped grid.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace mb::cuda {

inline constexpr int kThreads = 256;
// Enough blocks to fill any current GPU; grid-stride loops cover the rest.
inline constexpr int64_t kMaxBlocks = 65535;

inline unsigned blocks_for(int64_t count, int threads = kThreads) {
  const int64_t b = (count + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<int64_t>(b, 1, kMaxBlocks));
}

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace mb::cuda
