#pragma once
// SSIM kernels (docs/ops.md, "ssim"): the fused tile kernel, the pieces of the
// framework way (elementwise product, SSIM map from blurred moments) and the
// final mean. Launchers return the launch status.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mb::cuda {

// Number of per-block partial sums ssim_fused writes for planes of h x w.
int64_t ssim_fused_partials(int64_t planes, int64_t h, int64_t w);
// map (same layout as x) and one partial map sum per 16x16 tile of each plane.
cudaError_t ssim_fused(const float* x, const float* y, float* map, float* partials, int64_t planes, int64_t h,
                       int64_t w, cudaStream_t stream);

// out[i] = a[i] * b[i] (the framework's img1 * img2).
cudaError_t multiply(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream);

// Number of partial sums ssim_map_from_moments writes for n pixels.
int64_t ssim_map_partials(int64_t n);
// map[i] from the blurred moments mu_x, mu_y, E[x^2], E[y^2], E[xy]; partial map sums per block.
cudaError_t ssim_map_from_moments(const float* mu_x, const float* mu_y, const float* e_xx, const float* e_yy,
                                  const float* e_xy, float* map, float* partials, int64_t n, cudaStream_t stream);

// mean[0] = sum(partials) / pixels, summed in double by one block (deterministic).
cudaError_t ssim_mean(const float* partials, int64_t count, int64_t pixels, float* mean, cudaStream_t stream);

const void* ssim_fused_kernel();
const void* multiply_kernel();
const void* ssim_map_kernel();
const void* ssim_mean_kernel();

}  // namespace mb::cuda
