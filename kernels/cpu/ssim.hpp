#pragma once
// Fast host SSIM (fused-ssim forward, docs/ops.md, "ssim"): one pass over the inputs
// and the map; the four blurred statistics (mu_x, mu_y, E[x^2 + y^2], E[xy]) live
// only in a per-thread ring of row tiles that stays in L1/L2.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mb::cpu {

class SsimFused {
 public:
  // Planes of height x width; scratch for every OpenMP thread is allocated here, not per call.
  // max_tile: widest column tile (tests use small ones to cover many tiles on small images).
  // fetch_ahead_bytes: runs whose x, y and map are larger prefetch image lines a few rows ahead
  // (tests pass 0 to run that path on small images).
  SsimFused(int64_t height, int64_t width, int64_t max_tile = kDefaultMaxTile,
            double fetch_ahead_bytes = kDefaultFetchAheadBytes);
  static constexpr int64_t kDefaultMaxTile = 256;
  // Smaller runs mostly hit the caches, where the prefetches cost 4-5 % (3 x 256 x 256, and
  // nerf_800 B = 1: 23 MB); larger ones gain 3-12 % (ssim.cpp, Ahead).
  static constexpr double kDefaultFetchAheadBytes = 32.0 * (1 << 20);
  // x, y, map: `planes` planes of height x width, row-major. Returns the mean of the map.
  // The mean does not depend on the thread count (per-row sums in double, reduced in order).
  double run(const float* x, const float* y, float* map, int64_t planes);

  int threads() const { return threads_; }
  // The SIMD target run() runs now (kernels/cpu/simd.hpp): the label's isa=.
  static std::string isa();

 private:
  float* scratch(int thread) { return base_ + static_cast<std::size_t>(thread) * per_thread_; }

  int64_t height_, width_;
  int64_t tile_w_;  // column tile width (multiple of 16)
  int64_t tiles_;   // column tiles per row
  int threads_;
  double fetch_ahead_bytes_;
  std::size_t per_thread_;        // floats of scratch per thread (a multiple of 16: 64-byte aligned blocks)
  std::vector<float> storage_;    // all threads' scratch
  float* base_ = nullptr;         // storage_ rounded up to 64 bytes
  std::vector<double> row_sums_;  // [plane][tile][row]
};

// The per-pixel formula as the kernel's SIMD target evaluates it (common::ssim_value_sq_sum on
// statistics of x - cx and y - cy), n pixels; exposed so tests can reach its clamps directly.
void ssim_formula(const float* mu_x, const float* mu_y, const float* e_sq_sum, const float* e_xy, float cx, float cy,
                  float* out, int64_t n);

}  // namespace mb::cpu
