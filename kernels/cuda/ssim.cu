#include "kernels/common/gaussian.hpp"
#include "kernels/common/ssim_math.hpp"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ssim.hpp"

namespace mb::cuda {
namespace {

using common::gauss_tap;
using common::kGaussRadius;
using common::kGaussTaps;

constexpr int kTile = 16;                        // output tile edge; block = kTile x kTile threads
constexpr int kHalo = kTile + 2 * kGaussRadius;  // input tile edge with the 5-pixel halo
constexpr int kTileThreads = kTile * kTile;
constexpr int kMeanThreads = 1024;

// Sum of v over the block (blockDim.x * blockDim.y * blockDim.z threads, a multiple of 32);
// the result is valid in thread 0. `scratch` holds one float per warp.
__device__ float block_sum(float v, float* scratch) {
  const int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int nthreads = blockDim.x * blockDim.y * blockDim.z;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if ((tid & 31) == 0) scratch[tid >> 5] = v;
  __syncthreads();
  float s = 0.0f;
  if (tid == 0)
    for (int i = 0; i < nthreads / 32; ++i) s += scratch[i];
  __syncthreads();  // scratch may be reused by the caller's next round
  return s;
}

// One 16x16 output tile of one plane per block: load the 26x26 input tile of x
// and y (zero outside the image), horizontal 11-tap pass of x, y, x^2, y^2, xy
// over all 26 rows, vertical pass, SSIM per pixel, one partial sum per tile.
__global__ void __launch_bounds__(kTileThreads)
    ssim_fused_k(const float* __restrict__ x, const float* __restrict__ y, float* __restrict__ map,
                 float* __restrict__ partials, int64_t planes, int64_t h, int64_t w) {
  __shared__ float sx[kHalo][kHalo + 1];
  __shared__ float sy[kHalo][kHalo + 1];
  __shared__ float hs[5][kHalo][kTile];
  __shared__ float warp_sums[kTileThreads / 32];

  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t plane_size = h * w;

  for (int64_t plane = blockIdx.z; plane < planes; plane += gridDim.z) {
    const float* px = x + plane * plane_size;
    const float* py = y + plane * plane_size;
    __syncthreads();  // the previous plane's reads of shared memory are done
    for (int i = tid; i < kHalo * kHalo; i += kTileThreads) {
      const int r = i / kHalo, c = i % kHalo;
      const int64_t gr = row0 + r - kGaussRadius, gc = col0 + c - kGaussRadius;
      const bool inside = gr >= 0 && gr < h && gc >= 0 && gc < w;
      sx[r][c] = inside ? px[gr * w + gc] : 0.0f;
      sy[r][c] = inside ? py[gr * w + gc] : 0.0f;
    }
    __syncthreads();
    for (int i = tid; i < kHalo * kTile; i += kTileThreads) {
      const int r = i / kTile, c = i % kTile;
      float ax = 0.0f, ay = 0.0f, axx = 0.0f, ayy = 0.0f, axy = 0.0f;
#pragma unroll
      for (int t = 0; t < kGaussTaps; ++t) {
        const float g = gauss_tap(t), a = sx[r][c + t], b = sy[r][c + t];
        ax += g * a;
        ay += g * b;
        axx += g * a * a;
        ayy += g * b * b;
        axy += g * a * b;
      }
      hs[0][r][c] = ax;
      hs[1][r][c] = ay;
      hs[2][r][c] = axx;
      hs[3][r][c] = ayy;
      hs[4][r][c] = axy;
    }
    __syncthreads();
    float m[5] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int t = 0; t < kGaussTaps; ++t) {
      const float g = gauss_tap(t);
#pragma unroll
      for (int k = 0; k < 5; ++k) m[k] += g * hs[k][ty + t][tx];
    }
    const int64_t gr = row0 + ty, gc = col0 + tx;
    float v = 0.0f;
    if (gr < h && gc < w) {
      v = common::ssim_value(m[0], m[1], m[2], m[3], m[4]);
      map[plane * plane_size + gr * w + gc] = v;
    }
    const float s = block_sum(v, warp_sums);
    if (tid == 0) partials[(plane * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x] = s;
  }
}

__global__ void multiply_k(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                           int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = a[i] * b[i];
}

__global__ void __launch_bounds__(kThreads)
    ssim_map_k(const float* __restrict__ mu_x, const float* __restrict__ mu_y, const float* __restrict__ e_xx,
               const float* __restrict__ e_yy, const float* __restrict__ e_xy, float* __restrict__ map,
               float* __restrict__ partials, int64_t n) {
  __shared__ float warp_sums[kThreads / 32];
  float acc = 0.0f;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const float v = common::ssim_value(mu_x[i], mu_y[i], e_xx[i], e_yy[i], e_xy[i]);
    map[i] = v;
    acc += v;
  }
  const float s = block_sum(acc, warp_sums);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kMeanThreads)
    ssim_mean_k(const float* __restrict__ partials, int64_t count, int64_t pixels, float* __restrict__ mean) {
  __shared__ double sums[kMeanThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += kMeanThreads) acc += partials[i];
  sums[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = kMeanThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) sums[threadIdx.x] += sums[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) mean[0] = static_cast<float>(sums[0] / static_cast<double>(pixels));
}

// Launch grid of the fused kernel; {0,0,0} when the image is too tall for gridDim.y.
dim3 fused_grid(int64_t planes, int64_t h, int64_t w) {
  const int64_t gx = (w + kTile - 1) / kTile, gy = (h + kTile - 1) / kTile;
  if (gx > 0x7fffffff || gy > 65535 || planes <= 0) return dim3(0, 0, 0);
  return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy),
              static_cast<unsigned>(planes < 65535 ? planes : 65535));
}

}  // namespace

int64_t ssim_fused_partials(int64_t planes, int64_t h, int64_t w) {
  return planes * ((h + kTile - 1) / kTile) * ((w + kTile - 1) / kTile);
}

cudaError_t ssim_fused(const float* x, const float* y, float* map, float* partials, int64_t planes, int64_t h,
                       int64_t w, cudaStream_t stream) {
  const dim3 grid = fused_grid(planes, h, w);
  if (grid.x == 0) return cudaErrorInvalidValue;
  MB_LAUNCH(ssim_fused_k, grid, dim3(kTile, kTile), stream, x, y, map, partials, planes, h, w);
  return cudaGetLastError();
}

cudaError_t multiply(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  MB_LAUNCH(multiply_k, blocks_for(n), kThreads, stream, a, b, out, n);
  return cudaGetLastError();
}

int64_t ssim_map_partials(int64_t n) { return blocks_for(n); }

cudaError_t ssim_map_from_moments(const float* mu_x, const float* mu_y, const float* e_xx, const float* e_yy,
                                  const float* e_xy, float* map, float* partials, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaErrorInvalidValue;
  MB_LAUNCH(ssim_map_k, blocks_for(n), kThreads, stream, mu_x, mu_y, e_xx, e_yy, e_xy, map, partials, n);
  return cudaGetLastError();
}

cudaError_t ssim_mean(const float* partials, int64_t count, int64_t pixels, float* mean, cudaStream_t stream) {
  if (count <= 0 || pixels <= 0) return cudaErrorInvalidValue;
  MB_LAUNCH(ssim_mean_k, 1, kMeanThreads, stream, partials, count, pixels, mean);
  return cudaGetLastError();
}

const void* ssim_fused_kernel() { return reinterpret_cast<const void*>(&ssim_fused_k); }
const void* multiply_kernel() { return reinterpret_cast<const void*>(&multiply_k); }
const void* ssim_map_kernel() { return reinterpret_cast<const void*>(&ssim_map_k); }
const void* ssim_mean_kernel() { return reinterpret_cast<const void*>(&ssim_mean_k); }

}  // namespace mb::cuda
