#pragma once
// Reference of torch.nn.functional.linear: Y[B,out] = X[B,in] * W[out,in]^T + b[out].
#include <cstdint>

#include "cpu_ref/ref_value.hpp"

namespace mb::ref {

struct LinearShape {
  int64_t batch, in, out;
};

// Output (i, o) in double, with its error scale sum_k |x_ik w_ok| + |b_o|.
RefValue linear_at(const float* x, const float* w, const float* b, const LinearShape& s, int64_t i, int64_t o);

// Every output (for small problems and tests).
void linear(const float* x, const float* w, const float* b, const LinearShape& s, double* y);

}  // namespace mb::ref
