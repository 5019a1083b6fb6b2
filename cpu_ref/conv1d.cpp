#include "cpu_ref/conv1d.hpp"

#include <cmath>

namespace mb::ref {

RefValue conv1d_at(const float* x, const float* w, const float* b, const Conv1dShape& s, int64_t n, int64_t k,
                   int64_t l) {
  const int64_t g = k / s.Kg();
  double acc = b[k];
  double magnitude = std::fabs(static_cast<double>(b[k]));
  for (int64_t c = 0; c < s.Cg(); ++c) {
    const int64_t ci = g * s.Cg() + c;
    for (int64_t t = 0; t < s.kernel; ++t) {
      const int64_t il = l * s.stride - s.pad + t * s.dilation;
      if (il < 0 || il >= s.L) continue;  // zero padding contributes nothing
      const double xv = x[(n * s.C + ci) * s.L + il];
      const double wv = w[(k * s.Cg() + c) * s.kernel + t];
      acc += xv * wv;
      magnitude += std::fabs(xv * wv);
    }
  }
  return {acc, magnitude};
}

void conv1d(const float* x, const float* w, const float* b, const Conv1dShape& s, double* y) {
  const int64_t Lo = s.Lout();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t l = 0; l < Lo; ++l) y[(n * s.K + k) * Lo + l] = conv1d_at(x, w, b, s, n, k, l).value;
}

}  // namespace mb::ref
