// cpu_ref/ judges kernels/, so the two share no code in either direction: a constant or a
// size wrong in both would pass validation. The reference computes its own taps and output
// sizes; they, and the kernels' copies shared by design, are checked here against values
// computed apart (tests/test_planted_bugs.cpp plants a wrong shared constant).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "cpu_ref/ssim.hpp"
#include "kernels/common/gaussian.hpp"
#include "kernels/cpu/conv2d.hpp"

namespace mb {
namespace {

// Every #include "<prefix>..." line of the C++ and CUDA files under `dir`.
std::vector<std::string> includes_of(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string ext = f.path().extension().string();
    if (ext != ".cpp" && ext != ".hpp" && ext != ".cu" && ext != ".cuh") continue;
    std::ifstream in(f.path());
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("#include \"" + prefix)) found.push_back(f.path().string() + ": " + line);
  }
  return found;
}

TEST(IndependentReference, CpuRefAndKernelsIncludeNothingOfEachOther) {
  const std::filesystem::path root = MODEBENCH_SOURCE_DIR;
  for (const std::string& line : includes_of(root / "cpu_ref", "kernels/")) ADD_FAILURE() << line;
  for (const std::string& line : includes_of(root / "kernels", "cpu_ref/")) ADD_FAILURE() << line;
}

// docs/ops.md: 11 taps, sigma 1.5, exp(-d^2 / (2 sigma^2)) normalised, listed to 10 decimals.
TEST(IndependentReference, SsimTapsAreOpsMdsGaussian) {
  constexpr double kListed[6] = {0.0010283801, 0.0075987581, 0.0360007721, 0.1093606895, 0.2130055377, 0.2660117249};
  long double g[11], sum = 0;
  for (int d = -5; d <= 5; ++d) sum += g[d + 5] = std::exp(-static_cast<long double>(d * d) / 4.5L);
  const auto& ref_taps = ref::ssim_taps();
  double ref_sum = 0;
  for (int i = 0; i < 11; ++i) {
    const double exact = static_cast<double>(g[i] / sum);
    EXPECT_NEAR(ref_taps[i], exact, 1e-16) << "reference tap " << i;
    EXPECT_NEAR(ref_taps[i], kListed[i <= 5 ? i : 10 - i], 5e-11) << "reference tap " << i << " against docs/ops.md";
    // The kernels' table, shared by the host and CUDA kernels by design, against the same value.
    EXPECT_NEAR(common::kGaussTapValues[i], exact, 5.1e-11) << "kernels' tap " << i;
    EXPECT_NEAR(common::gauss_tap(i), exact, 2e-8) << "kernels' fp32 tap " << i;  // half an fp32 ulp
    ref_sum += ref_taps[i];
  }
  EXPECT_NEAR(ref_sum, 1.0, 1e-15);
}

// Output rows (and, the same code, columns): the number of window positions, every
// `stride`, that fit in the padded input; counted here, against the reference's documented
// formula and the kernels' own arithmetic, with the last window's padding on the bottom.
TEST(IndependentReference, Conv2dOutputSizesAreTheCountOfWindowsThatFit) {
  int checked = 0;
  for (int64_t h = 1; h <= 40; ++h)
    for (int64_t r = 1; r <= 7; ++r)
      for (int64_t stride = 1; stride <= 4; ++stride)
        for (int64_t pad = 0; pad <= 4; ++pad) {
          if (h + 2 * pad < r) continue;
          int64_t windows = 0;
          while (windows * stride + r <= h + 2 * pad) ++windows;
          const ref::Conv2dShape rs{1, 1, h, h + 1, 1, r, r, stride, pad, 1};
          const cpu::Conv2dShape ks{1, 1, h, h + 1, 1, r, r, stride, pad, 1};
          const std::string at = "H=" + std::to_string(h) + " R=" + std::to_string(r) +
                                 " stride=" + std::to_string(stride) + " pad=" + std::to_string(pad);
          ASSERT_EQ(rs.P(), windows) << at;
          ASSERT_EQ(ks.P(), windows) << at;
          int64_t columns = 0;
          while (columns * stride + r <= h + 1 + 2 * pad) ++columns;
          ASSERT_EQ(rs.Q(), columns) << at;
          ASSERT_EQ(ks.Q(), columns) << at;
          // The last window ends inside the bottom padding, never past it.
          const int64_t bottom = (windows - 1) * stride + r - h - pad;
          ASSERT_LE(bottom, pad) << at;
          ASSERT_GT(bottom + stride, pad) << at << ": one more window would fit";
          ++checked;
        }
  EXPECT_GT(checked, 5000);
}

}  // namespace
}  // namespace mb
