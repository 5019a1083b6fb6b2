#pragma once
// Launch geometry shared by our kernels (grid-stride loops over 64-bit counts, so any count
// works with a capped grid) and the one way they are launched: MB_LAUNCH is <<<>>> under nvcc
// and the simulated device's SIMT executor when the sources are compiled by the host compiler
// (MODEBENCH_CUDA=SIM, sim/simt.hpp). Every launch goes through it, so the simulation runs the
// same kernels and launch sites a GPU does.
#include <cuda_runtime.h>
#if defined(MODEBENCH_SIM)
#include <tuple>  // the arguments are taken at the launch, as <<<>>> takes them

#include "sim/simt.hpp"
#endif

#include <algorithm>
#include <cstdint>

#if defined(MODEBENCH_SIM)
#define MB_LAUNCH(kernel, grid, block, stream, ...)           \
  ::mb::sim::launch(#kernel, dim3(grid), dim3(block), stream, \
                    [args = std::make_tuple(__VA_ARGS__)] { std::apply(kernel, args); })
#else
#define MB_LAUNCH(kernel, grid, block, stream, ...) kernel<<<grid, block, 0, stream>>>(__VA_ARGS__)
#endif

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
