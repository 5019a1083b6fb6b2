#include "cpu_ref/linear.hpp"

#include <cmath>

namespace mb::ref {

RefValue linear_at(const float* x, const float* w, const float* b, const LinearShape& s, int64_t i, int64_t o) {
  double acc = b[o];
  double magnitude = std::fabs(static_cast<double>(b[o]));
  for (int64_t k = 0; k < s.in; ++k) {
    double term = static_cast<double>(x[i * s.in + k]) * static_cast<double>(w[o * s.in + k]);
    acc += term;
    magnitude += std::fabs(term);
  }
  return {acc, magnitude};
}

void linear(const float* x, const float* w, const float* b, const LinearShape& s, double* y) {
  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t o = 0; o < s.out; ++o) y[i * s.out + o] = linear_at(x, w, b, s, i, o).value;
}

}  // namespace mb::ref
