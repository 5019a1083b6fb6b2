#pragma once
// Fast host SSIM (fused-ssim forward, ops.md "ssim"): one pass over the inputs
// and the map; the five blurred statistics live only in a per-thread ring of
// row tiles that stays in L2.
#include <cstdint>
#include <vector>

namespace mb::cpu {

class SsimFused {
 public:
  // Planes of height x width; scratch for every OpenMP thread is allocated here, not per call.
  // max_tile: widest column tile (tests use small ones to cover many tiles on small images).
  SsimFused(int64_t height, int64_t width, int64_t max_tile = kDefaultMaxTile);
  static constexpr int64_t kDefaultMaxTile = 512;
  // x, y, map: `planes` planes of height x width, row-major. Returns the mean of the map.
  // The mean does not depend on the thread count (per-row sums in double, reduced in order).
  double run(const float* x, const float* y, float* map, int64_t planes);

  int threads() const { return threads_; }

 private:
  void band(const float* x, const float* y, float* map, int64_t plane, int64_t row0, int64_t row1, int thread);

  int64_t height_, width_;
  int64_t tile_w_;  // column tile width (multiple of 8)
  int threads_;
  std::vector<std::vector<float>> scratch_;  // per thread: ring, padded rows, vertical results
  std::vector<double> row_sums_;
};

}  // namespace mb::cpu
