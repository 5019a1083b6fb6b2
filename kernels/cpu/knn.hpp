#pragma once
// Fast host knn (simple-knn's distCUDA2): out[i] = mean of the three smallest
// squared distances from point i to the other points. Exact: a uniform grid
// searched ring by ring until no unsearched cell can hold a closer point.
#include <cstdint>
#include <string>
#include <vector>

namespace mb::cpu {

struct KnnGridStats {
  int64_t dims[3] = {0, 0, 0};
  float cell_size = 0.0f;
  int64_t occupied_cells = 0;
};

// Keeps its buffers between calls so repeated runs on the same N do not allocate.
class KnnGrid {
 public:
  // points [n,3] fp32, out [n]; n >= 4 (throws std::invalid_argument otherwise).
  // OpenMP threads; memory O(n): the grid has at most ~4n cells.
  void run(const float* points, int64_t n, float* out);
  const KnnGridStats& stats() const { return stats_; }
  // The SIMD target the block scan runs now (kernels/cpu/simd.hpp): the label's isa=.
  static std::string isa();

  struct Point {
    float x, y, z;
    uint32_t index;  // position in the caller's array, for self-exclusion and output
  };

 private:
  // Per input point: its cell, then (once sorted) its position in the cell order.
  std::vector<uint32_t> cell_of_;
  std::vector<uint32_t> start_;  // per cell: first sorted position; start_[cells] = n
  std::vector<Point> sorted_;    // points in cell order
  // The same, SoA, with a block chunk of slack: the block gathers whole chunks from them.
  std::vector<float> sorted_x_, sorted_y_, sorted_z_;
  std::vector<uint32_t> sorted_index_;
  std::vector<float> mean_sorted_;  // the answers, in cell order
  std::vector<uint32_t> occupied_;  // non-empty cells
  KnnGridStats stats_;
};

}  // namespace mb::cpu
