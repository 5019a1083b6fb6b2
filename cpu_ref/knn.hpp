#pragma once
// Reference of simple-knn's distCUDA2: out[i] = mean of the three smallest
// squared Euclidean distances from point i to every point j != i (self
// excluded by index, so duplicates of i contribute 0). Points are [N,3] fp32.
#include <cstdint>

#include "cpu_ref/ref_value.hpp"

namespace mb::ref {

// Output i in double, by brute force over all N points (O(N)); requires N >= 4.
// Its error scale is the value itself (docs/ops.md: per-point relative error).
RefValue knn_at(const float* points, int64_t n, int64_t i);

// Every output, O(N^2): for small N and tests.
void knn(const float* points, int64_t n, double* out);

}  // namespace mb::ref
