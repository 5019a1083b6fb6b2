#pragma once
// knn (simple-knn distCUDA2, 3DGS scale initialisation): the batch axis is N, the point
// count. The point clouds, the problem, and the device impls' factories (gpu.cpp, CUDA
// builds only). The cases and the impl table: case.cpp; the memory-capped variant's
// device-independent chunk loop: stream.hpp.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu_ref/checked_size.hpp"
#include "harness/device/device.hpp"
#include "harness/op_case.hpp"

namespace mb {

enum class KnnCloud { uniform, clustered, ties, one_point };

// Deterministic point sets of docs/ops.md, [n,3] fp32:
// uniform in [-1.3,1.3]^3 (3DGS random init); clustered: a few noisy surfaces
// (spheres, planar patches) plus 1 % outliers in the same box, like an SfM cloud.
// The surfaces depend on the seed only, so larger n densifies the same cloud. Both
// hold exact duplicates (groups of 2 to 4 identical points; 0.1 % of uniform's points
// start one, 0.4 % of clustered's), so self-exclusion by index is checked in every run.
// ties (docs/ops.md, "Structured inputs"): a stack of identical points, a lattice and a
// line of evenly spaced points (many neighbours at exactly the same distance), tight
// clusters of 8 points within 1e-5, the rest uniform: the ties and degenerate geometry
// a search must get exactly right. one_point: one point n times (every result 0).
std::vector<float> knn_points(KnnCloud cloud, int64_t n, uint64_t seed);

struct KnnProblem : Problem {
  explicit KnnProblem(int64_t count) : Problem(count), n(count), points(checked_product({3, count})), out(count) {}
  std::vector<TensorRef> tensors() override {
    return {{"points", Role::input, points.data(), points.size()}, {"out", Role::output, out.data(), out.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<KnnProblem>(*this); }

  int64_t n;
  std::vector<float> points, out;
};

// A knn case of a validation shape: its batches are point counts; random inputs are the
// uniform cloud, structured ones the ties cloud, flat ones one_point (docs/ops.md,
// "Validation shapes").
std::unique_ptr<OpCase> make_knn_case(const ShapeSpec& s);

// "exact": everything resident, index built on the device; "chunked": memory-capped (gpu.cpp).
std::unique_ptr<Instance> make_exact_knn(KnnProblem& p, Device& dev);
std::unique_ptr<Instance> make_chunked_knn(KnnProblem& p, Device& dev);
std::vector<KernelRef> exact_knn_kernels();
std::vector<KernelRef> chunked_knn_kernels();

}  // namespace mb
