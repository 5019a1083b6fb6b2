#include "cpu_ref/conv2d.hpp"

#include <cmath>

namespace mb::ref {

RefValue conv2d_at(const float* x, const float* w, const float* b, const Conv2dShape& s, int64_t n, int64_t k,
                   int64_t p, int64_t q) {
  const int64_t g = k / s.Kg();
  double acc = b[k];
  double magnitude = std::fabs(static_cast<double>(b[k]));
  for (int64_t c = 0; c < s.Cg(); ++c) {
    const int64_t ci = g * s.Cg() + c;
    for (int64_t r = 0; r < s.R; ++r) {
      const int64_t ih = p * s.stride - s.pad + r;
      if (ih < 0 || ih >= s.H) continue;  // zero padding contributes nothing
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t iw = q * s.stride - s.pad + t;
        if (iw < 0 || iw >= s.W) continue;
        const double xv = x[((n * s.C + ci) * s.H + ih) * s.W + iw];
        const double wv = w[((k * s.Cg() + c) * s.R + r) * s.S + t];
        acc += xv * wv;
        magnitude += std::fabs(xv * wv);
      }
    }
  }
  return {acc, magnitude};
}

void conv2d(const float* x, const float* w, const float* b, const Conv2dShape& s, double* y) {
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) y[((n * s.K + k) * P + p) * Q + q] = conv2d_at(x, w, b, s, n, k, p, q).value;
}

}  // namespace mb::ref
