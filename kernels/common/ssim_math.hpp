#pragma once
// The per-pixel SSIM formula of docs/ops.md, "ssim" (fused-ssim forward), shared by
// the host kernels and the CUDA kernels. Inputs are the Gaussian-blurred
// statistics of one pixel: mu_x, mu_y, E[x^2], E[y^2], E[xy].
#include "kernels/common/hd.hpp"

namespace mb::common {

// max/min as selects: same result as fmaxf(a, b)/fminf(a, b) when only a can be NaN
// (both return b), but GCC vectorises these without -ffast-math and cannot vectorise
// fmaxf/fminf calls; on the device they compile to the same max/min instructions.
MB_HD float max_f(float a, float b) { return a > b ? a : b; }
MB_HD float min_f(float a, float b) { return a < b ? a : b; }

inline constexpr float kSsimC1 = 0.01f * 0.01f;
inline constexpr float kSsimC2 = 0.03f * 0.03f;

MB_HD float ssim_value(float mu_x, float mu_y, float e_xx, float e_yy, float e_xy) {
  const float mx2 = mu_x * mu_x, my2 = mu_y * mu_y, mxy = mu_x * mu_y;
  // E[x^2] - mu^2 can round below zero on flat regions: a variance is never negative.
  const float var_x = max_f(e_xx - mx2, 0.0f);
  const float var_y = max_f(e_yy - my2, 0.0f);
  const float cov = e_xy - mxy;
  const float num = (2.0f * mxy + kSsimC1) * (2.0f * cov + kSsimC2);
  const float den = (mx2 + my2 + kSsimC1) * (var_x + var_y + kSsimC2);
  return min_f(max_f(num / den, -1.0f), 1.0f);
}

// The same formula from E[x^2] + E[y^2] blurred as one statistic (4 blurs instead of 5):
// sigma_x^2 + sigma_y^2 only enters as a sum, so the sum is clamped at 0 instead of each
// term. Differs from ssim_value only at rounding level when a variance rounds below 0.
// The statistics may be of x - shift_x and y - shift_y (zero padding becoming -shift): the
// variances and the covariance do not change (to about 1e-10: the taps sum to 1 - 1e-10),
// and E[x^2] - mu^2 cancels less in fp32 when the shifted values are near 0.
MB_HD float ssim_value_sq_sum(float mu_x, float mu_y, float e_sq_sum, float e_xy, float shift_x = 0.0f,
                              float shift_y = 0.0f) {
  const float var_sum = max_f(e_sq_sum - (mu_x * mu_x + mu_y * mu_y), 0.0f);
  const float cov = e_xy - mu_x * mu_y;
  const float mx = mu_x + shift_x, my = mu_y + shift_y;
  const float mxy = mx * my, m2 = mx * mx + my * my;
  const float num = (2.0f * mxy + kSsimC1) * (2.0f * cov + kSsimC2);
  const float den = (m2 + kSsimC1) * (var_sum + kSsimC2);
  return min_f(max_f(num / den, -1.0f), 1.0f);
}

}  // namespace mb::common
