#include "cpu_ref/knn.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mb::ref {

RefValue knn_at(const float* points, int64_t n, int64_t i) {
  if (n < 4) throw std::invalid_argument("knn needs at least 4 points");
  const double inf = std::numeric_limits<double>::infinity();
  double best[3] = {inf, inf, inf};  // ascending
  const float* p = points + 3 * i;
  for (int64_t j = 0; j < n; ++j) {
    if (j == i) continue;
    const float* q = points + 3 * j;
    double d = 0.0;
    for (int a = 0; a < 3; ++a) {
      const double diff = static_cast<double>(q[a]) - static_cast<double>(p[a]);
      d += diff * diff;
    }
    if (d < best[2]) {
      best[2] = d;
      std::sort(best, best + 3);
    }
  }
  const double mean = (best[0] + best[1] + best[2]) / 3.0;
  return {mean, mean};
}

void knn(const float* points, int64_t n, double* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = knn_at(points, n, i).value;
}

}  // namespace mb::ref
