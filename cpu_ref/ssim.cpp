#include "cpu_ref/ssim.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mb::ref {
namespace {

// docs/ops.md's window, computed here so the reference shares no constant with the kernels
// (kernels/common/gaussian.hpp): 11 taps, sigma 1.5, exp(-d^2 / (2 sigma^2)) normalised.
constexpr int kGaussRadius = 5;
constexpr double kGaussSigma = 1.5;
static_assert(2 * kGaussRadius + 1 == kSsimTaps);

std::array<double, kSsimTaps> make_taps() {
  std::array<double, kSsimTaps> t{};
  double sum = 0.0;
  for (int d = -kGaussRadius; d <= kGaussRadius; ++d)
    sum += t[d + kGaussRadius] = std::exp(-d * d / (2.0 * kGaussSigma * kGaussSigma));
  for (double& v : t) v /= sum;
  return t;
}

// The 5 statistics the formula needs, in the order mu_x, mu_y, E[x^2], E[y^2], E[xy].
constexpr int kStats = 5;

void pixel_stats(double xv, double yv, double out[kStats]) {
  out[0] = xv;
  out[1] = yv;
  out[2] = xv * xv;
  out[3] = yv * yv;
  out[4] = xv * yv;
}

constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

double formula(const double s[kStats]) {
  const double mx = s[0], my = s[1];
  const double var_x = std::max(0.0, s[2] - mx * mx);
  const double var_y = std::max(0.0, s[3] - my * my);
  const double cov = s[4] - mx * my;
  const double v = (2 * mx * my + kC1) * (2 * cov + kC2) / ((mx * mx + my * my + kC1) * (var_x + var_y + kC2));
  return std::clamp(v, -1.0, 1.0);
}

// E[(v-s)^2] + (mu-s)^2 = E[v^2] + mu^2 - 4 s mu + 2 s^2 is convex in s: its largest value for a
// shift s in [0, 1] is at s = 0 or s = 1.
double second_moment_scale(double mu, double e_sq) { return e_sq + mu * mu + std::max(0.0, 2.0 - 4.0 * mu); }

// Horizontal blur of the 5 statistics at (row, col); pixels outside the row are zero.
void hblur_at(const float* x, const float* y, int64_t width, int64_t row, int64_t col, double out[kStats]) {
  const std::array<double, kSsimTaps>& g = ssim_taps();
  std::fill(out, out + kStats, 0.0);
  for (int k = -kGaussRadius; k <= kGaussRadius; ++k) {
    const int64_t c = col + k;
    if (c < 0 || c >= width) continue;
    double s[kStats];
    pixel_stats(x[row * width + c], y[row * width + c], s);
    for (int q = 0; q < kStats; ++q) out[q] += g[k + kGaussRadius] * s[q];
  }
}

}  // namespace

double ssim_conditioning(const double s[kStats]) {
  const double mx = s[0], my = s[1];
  const double var_x = std::max(0.0, s[2] - mx * mx);
  const double var_y = std::max(0.0, s[3] - my * my);
  const double lum = (2 * mx * my + kC1) / (mx * mx + my * my + kC1);
  const double m = second_moment_scale(mx, s[2]) + second_moment_scale(my, s[3]);
  return (std::fabs(lum) + std::fabs(formula(s))) * m / (var_x + var_y + kC2);
}

const std::array<double, kSsimTaps>& ssim_taps() {
  static const std::array<double, kSsimTaps> taps = make_taps();
  return taps;
}

double ssim_plane(const float* x, const float* y, int64_t height, int64_t width, double* map, double* conditioning) {
  const int64_t n = height * width;
  const std::array<double, kSsimTaps>& g = ssim_taps();
  std::vector<double> h(kStats * n);  // horizontal pass, stat-major
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      double s[kStats];
      hblur_at(x, y, width, r, c, s);
      for (int q = 0; q < kStats; ++q) h[q * n + r * width + c] = s[q];
    }
  double sum = 0.0;
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      double s[kStats] = {};
      for (int k = -kGaussRadius; k <= kGaussRadius; ++k) {
        const int64_t rr = r + k;
        if (rr < 0 || rr >= height) continue;
        for (int q = 0; q < kStats; ++q) s[q] += g[k + kGaussRadius] * h[q * n + rr * width + c];
      }
      map[r * width + c] = formula(s);
      if (conditioning) conditioning[r * width + c] = ssim_conditioning(s);
      sum += map[r * width + c];
    }
  return sum;
}

double ssim_map_at(const float* x, const float* y, int64_t height, int64_t width, int64_t row, int64_t col,
                   double* conditioning) {
  const std::array<double, kSsimTaps>& g = ssim_taps();
  double s[kStats] = {};
  for (int k = -kGaussRadius; k <= kGaussRadius; ++k) {
    const int64_t rr = row + k;
    if (rr < 0 || rr >= height) continue;
    double h[kStats];
    hblur_at(x, y, width, rr, col, h);
    for (int q = 0; q < kStats; ++q) s[q] += g[k + kGaussRadius] * h[q];
  }
  if (conditioning) *conditioning = ssim_conditioning(s);
  return formula(s);
}

double ssim(const float* x, const float* y, const SsimShape& s, double* map) {
  const int64_t n = s.plane_size();
  double sum = 0.0;
  for (int64_t p = 0; p < s.planes(); ++p) sum += ssim_plane(x + p * n, y + p * n, s.height, s.width, map + p * n);
  return s.pixels() > 0 ? sum / static_cast<double>(s.pixels()) : 0.0;
}

}  // namespace mb::ref
