// cpu_ref/ judges kernels/, so the two share no code in either direction: a constant wrong
// in both would pass validation. The reference computes its own taps; they, and the
// kernels' copy shared by design, are checked here against values computed apart
// (tests/test_planted_bugs.cpp plants a wrong shared constant).
#include <gtest/gtest.h>

#include <cmath>

#include "cpu_ref/ssim.hpp"
#include "kernels/common/gaussian.hpp"

namespace mb {
namespace {

// ops.md: 11 taps, sigma 1.5, exp(-d^2 / (2 sigma^2)) normalised, listed to 10 decimals.
TEST(IndependentReference, SsimTapsAreOpsMdsGaussian) {
  constexpr double kListed[6] = {0.0010283801, 0.0075987581, 0.0360007721, 0.1093606895, 0.2130055377, 0.2660117249};
  long double g[11], sum = 0;
  for (int d = -5; d <= 5; ++d) sum += g[d + 5] = std::exp(-static_cast<long double>(d * d) / 4.5L);
  const auto& ref_taps = ref::ssim_taps();
  double ref_sum = 0;
  for (int i = 0; i < 11; ++i) {
    const double exact = static_cast<double>(g[i] / sum);
    EXPECT_NEAR(ref_taps[i], exact, 1e-16) << "reference tap " << i;
    EXPECT_NEAR(ref_taps[i], kListed[i <= 5 ? i : 10 - i], 5e-11) << "reference tap " << i << " against ops.md";
    // The kernels' table, shared by the host and CUDA kernels by design, against the same value.
    EXPECT_NEAR(common::kGaussTapValues[i], exact, 5.1e-11) << "kernels' tap " << i;
    EXPECT_NEAR(common::gauss_tap(i), exact, 2e-8) << "kernels' fp32 tap " << i;  // half an fp32 ulp
    ref_sum += ref_taps[i];
  }
  EXPECT_NEAR(ref_sum, 1.0, 1e-15);
}

}  // namespace
}  // namespace mb
