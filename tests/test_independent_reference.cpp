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

#include "cpu_ref/conv1d.hpp"
#include "cpu_ref/conv2d.hpp"
#include "cpu_ref/ssim.hpp"
#include "kernels/common/gaussian.hpp"
#include "kernels/cpu/conv1d.hpp"
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

// conv1d's output length with dilation: window positions, every `stride`, whose taps
// (`dilation` apart) all fit in the padded input; counted here against the reference's
// documented formula and the kernels' own arithmetic.
TEST(IndependentReference, Conv1dOutputLengthsAreTheCountOfDilatedWindowsThatFit) {
  int checked = 0;
  for (int64_t length = 1; length <= 30; ++length)
    for (int64_t kernel = 1; kernel <= 7; ++kernel)
      for (int64_t dilation = 1; dilation <= 5; ++dilation)
        for (int64_t stride = 1; stride <= 3; ++stride)
          for (int64_t pad = 0; pad <= 6; ++pad) {
            int64_t windows = 0;
            auto fits = [&](int64_t w) {
              for (int64_t t = 0; t < kernel; ++t)
                if (w * stride + t * dilation >= length + 2 * pad) return false;
              return true;
            };
            while (fits(windows)) ++windows;
            const ref::Conv1dShape rs{1, 1, length, 1, kernel, stride, pad, dilation, 1};
            const cpu::Conv1dShape ks{1, 1, length, 1, kernel, stride, pad, dilation, 1};
            const std::string at = "L=" + std::to_string(length) + " kernel=" + std::to_string(kernel) +
                                   " dilation=" + std::to_string(dilation) + " stride=" + std::to_string(stride) +
                                   " pad=" + std::to_string(pad);
            ASSERT_EQ(rs.valid(), windows > 0) << at;
            if (windows == 0) continue;
            ASSERT_EQ(rs.Lout(), windows) << at;
            ASSERT_EQ(ks.Lout(), windows) << at;
            ++checked;
          }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace mb
