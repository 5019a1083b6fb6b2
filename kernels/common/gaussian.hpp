#pragma once
// The 11-tap Gaussian (sigma 1.5, normalised) of docs/ops.md, "ssim", shared by the
// reference, the host kernels and the CUDA kernels.
#include "kernels/common/hd.hpp"

namespace mb::common {

inline constexpr int kGaussTaps = 11;
inline constexpr int kGaussRadius = 5;
inline constexpr double kGaussSigma = 1.5;

// The taps exactly as docs/ops.md lists them (exp(-d^2 / (2 sigma^2)) / sum, to 10 decimals).
// Host code only: device code reads them through gauss_tap().
inline constexpr double kGaussTapValues[kGaussTaps] = {0.0010283801, 0.0075987581, 0.0360007721, 0.1093606895,
                                                       0.2130055377, 0.2660117249, 0.2130055377, 0.1093606895,
                                                       0.0360007721, 0.0075987581, 0.0010283801};

// Tap i in [0, 11), i.e. offset i - 5 from the centre. A function-local table
// because namespace-scope arrays are not visible in device code.
MB_HD float gauss_tap(int i) {
  constexpr float half[kGaussRadius + 1] = {0.0010283801f, 0.0075987581f, 0.0360007721f,
                                            0.1093606895f, 0.2130055377f, 0.2660117249f};
  return half[i <= kGaussRadius ? i : kGaussTaps - 1 - i];
}

}  // namespace mb::common
