#pragma once
// SIMT emulation of our kernels for the simulated device: kernels/cuda/*.cu compiled by the host
// compiler (MODEBENCH_CUDA=SIM) include this through kernels/cuda/launch.cuh, after the real
// CUDA headers. Each CUDA thread of a block is a fiber; a block's fibers run on one host
// thread, switching at __syncthreads and warp shuffles, which are barriers over the block or
// the warp. Blocks are taken in a seeded, shuffled order (MODEBENCH_SIM_SEED) by one host thread
// per core (MODEBENCH_SIM_THREADS), and the threads of a block run in a shuffled order between
// barriers, so a kernel that depends on either order fails.
// A divergent barrier (some threads wait where others have exited or wait elsewhere) fails the
// launch with cudaErrorLaunchFailure, which is sticky, as the hang or undefined behaviour it is
// on a GPU should be.
// Under ThreadSanitizer (MB_SIM_OS_THREADS) each CUDA thread is an OS thread instead and the
// barriers are real ones, so that TSan sees the races between the threads of a block; blocks then
// run one at a time (sim/simt.cpp).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <source_location>
#include <type_traits>

namespace mb::sim {

struct ThreadIds {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

// The running CUDA thread's indices (valid inside a kernel only).
const ThreadIds& ids();
// Block-wide barrier, reached at file:line (every thread of the block must reach the same one).
void sync_block(const char* file, unsigned line);
// Exchanges one 64-bit value per lane among the lanes named by `mask` (which must include the
// caller and name only live lanes of its warp); returns the value of lane `src_lane`.
uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane);
int lane_id();

// Checks the launch (image for the device, configuration, the kernel's declared launch shape)
// and enqueues the grid on the stream; the error goes to the last-error slot, as a launch's does.
void launch(const char* kernel, dim3 grid, dim3 block, cudaStream_t stream, std::function<void()> body);

template <class T>
T shfl_down(unsigned mask, T value, unsigned delta, int width) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>);
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  const int lane = lane_id();
  const int src = (lane % width) + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  const uint64_t got = warp_exchange(mask, bits, src);
  T out;
  std::memcpy(&out, &got, sizeof(T));
  return out;
}

}  // namespace mb::sim

#if defined(__SANITIZE_THREAD__)
#define MB_SIM_OS_THREADS 1
#else
#define MB_SIM_OS_THREADS 0
#endif

// The CUDA keywords for host compilation of kernel sources. __shared__ is one storage per running
// block: per host thread with fibers (each host thread runs one block at a time), one for the
// process with OS threads (one block at a time).
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __launch_bounds__
#undef __forceinline__
#define __global__
#define __device__
#define __host__
#if MB_SIM_OS_THREADS
#define __shared__ static
#else
#define __shared__ static thread_local
#endif
#define __launch_bounds__(...)
#define __forceinline__ inline

#define threadIdx (::mb::sim::ids().thread_idx)
#define blockIdx (::mb::sim::ids().block_idx)
#define blockDim (::mb::sim::ids().block_dim)
#define gridDim (::mb::sim::ids().grid_dim)

inline void __syncthreads(std::source_location at = std::source_location::current()) {
  ::mb::sim::sync_block(at.file_name(), at.line());
}

template <class T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return ::mb::sim::shfl_down(mask, value, delta, width);
}
