// kernels/common SSIM math (shared with the CUDA kernels), tested on the host:
// the Gaussian taps against their definition, the per-pixel formula against
// hand-computed values, and its clamps.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/common/gaussian.hpp"
#include "kernels/common/ssim_math.hpp"

namespace mb {
namespace {

using common::gauss_tap;
using common::kGaussTaps;
using common::kGaussTapValues;
using common::ssim_value;

TEST(CommonGaussian, TapsMatchNormalisedGaussianSigma15) {
  double g[kGaussTaps], sum = 0.0;
  for (int i = 0; i < kGaussTaps; ++i) sum += g[i] = std::exp(-(i - 5) * (i - 5) / (2.0 * 1.5 * 1.5));
  for (int i = 0; i < kGaussTaps; ++i) EXPECT_NEAR(kGaussTapValues[i], g[i] / sum, 6e-11) << "tap " << i;
}

TEST(CommonGaussian, TapsSumToOneAndAreSymmetric) {
  double sum_d = 0.0;
  float sum_f = 0.0f;
  for (int i = 0; i < kGaussTaps; ++i) {
    sum_d += kGaussTapValues[i];
    sum_f += gauss_tap(i);
    EXPECT_EQ(gauss_tap(i), gauss_tap(kGaussTaps - 1 - i)) << i;
    EXPECT_EQ(kGaussTapValues[i], kGaussTapValues[kGaussTaps - 1 - i]) << i;
    EXPECT_EQ(gauss_tap(i), static_cast<float>(kGaussTapValues[i])) << i;
  }
  EXPECT_NEAR(sum_d, 1.0, 1e-9);  // 11 values rounded to 10 decimals
  EXPECT_NEAR(sum_f, 1.0f, 1e-6f);
  for (int i = 0; i < 5; ++i) EXPECT_LT(gauss_tap(i), gauss_tap(i + 1)) << "rises to the centre";
  EXPECT_FLOAT_EQ(gauss_tap(5), 0.2660117249f);
}

TEST(CommonSsimMath, IdenticalStatisticsGiveOne) {
  // mu_x = mu_y = m, var_x = var_y = cov = v.
  for (float m : {0.0f, 0.1f, 0.5f, 0.97f})
    for (float v : {0.0f, 0.001f, 0.05f}) EXPECT_NEAR(ssim_value(m, m, m * m + v, m * m + v, m * m + v), 1.0f, 1e-6f);
}

TEST(CommonSsimMath, HandComputedValues) {
  // mu = (0.5, 0.25), var = (0.01, 0.04), cov = 0.02:
  // (2*0.125 + 1e-4)(2*0.02 + 9e-4) / ((0.25 + 0.0625 + 1e-4)(0.05 + 9e-4)) = 0.2501*0.0409 / (0.3126*0.0509)
  EXPECT_NEAR(ssim_value(0.5f, 0.25f, 0.26f, 0.1025f, 0.145f), 0.64288049, 2e-6);
  // Anti-correlated: mu = 0.5 both, var 0.01 each, cov -0.01: (-0.02 + 9e-4) / (0.02 + 9e-4)
  EXPECT_NEAR(ssim_value(0.5f, 0.5f, 0.26f, 0.26f, 0.24f), -0.91387560, 2e-6);
  // Constant patches a = 0.6, b = 0.3: (2ab + C1) / (a^2 + b^2 + C1) = 0.3601 / 0.4501
  EXPECT_NEAR(ssim_value(0.6f, 0.3f, 0.36f, 0.09f, 0.18f), 0.3601 / 0.4501, 1e-6);
}

TEST(CommonSsimMath, NegativeVarianceFromRoundingIsClampedToZero) {
  // E[x^2] below mu^2: with the clamp var = cov = 0 and the value is exactly 1;
  // without it the denominator's second factor (-0.002 + C2) would be negative.
  EXPECT_FLOAT_EQ(ssim_value(0.5f, 0.5f, 0.249f, 0.249f, 0.25f), 1.0f);
}

TEST(CommonSsimMath, ResultIsClampedToMinusOneOne) {
  // Inconsistent statistics (cov far above the variances) push the raw ratio past +-1.
  EXPECT_EQ(ssim_value(0.0f, 0.0f, 0.0f, 0.0f, 1.0f), 1.0f);    // raw (2 + C2) / C2
  EXPECT_EQ(ssim_value(0.0f, 0.0f, 0.0f, 0.0f, -1.0f), -1.0f);  // raw (-2 + C2) / C2
}

TEST(CommonSsimMath, MaxMinHelpersMatchFmaxfFminf) {
  for (float a : {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f})
    for (float b : {-1.0f, 0.0f, 1.0f}) {
      EXPECT_EQ(common::max_f(a, b), std::fmax(a, b)) << a << " " << b;
      EXPECT_EQ(common::min_f(a, b), std::fmin(a, b)) << a << " " << b;
    }
  EXPECT_EQ(common::max_f(NAN, 0.0f), 0.0f);
  EXPECT_EQ(common::min_f(NAN, 1.0f), 1.0f);
}

}  // namespace
}  // namespace mb
