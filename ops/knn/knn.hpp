#pragma once
// knn (simple-knn distCUDA2, 3DGS scale initialisation): the batch axis is N, the point count.
#include <cstdint>
#include <string>
#include <vector>

#include "harness/op_case.hpp"

namespace mb {

enum class KnnCloud { uniform, clustered };

// Deterministic point sets of ops.md, [n,3] fp32:
// uniform in [-1.3,1.3]^3 (3DGS random init); clustered: a few noisy surfaces
// (spheres, planar patches) plus 1 % outliers in the same box, like an SfM cloud.
// The surfaces depend on the seed only, so larger n densifies the same cloud.
std::vector<float> knn_points(KnnCloud cloud, int64_t n, uint64_t seed);

struct KnnProblem : Problem {
  explicit KnnProblem(int64_t count) : Problem(count), n(count), points(3 * count), out(count) {}
  std::vector<TensorRef> tensors() override {
    return {{"points", Role::input, points.data(), points.size()}, {"out", Role::output, out.data(), out.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<KnnProblem>(*this); }

  int64_t n;
  std::vector<float> points, out;
};

// GPU impls of knn (harness/cuda/, CUDA builds only).
std::unique_ptr<Instance> make_knn_gpu(const std::string& impl, KnnProblem& p, Device& dev);

}  // namespace mb
