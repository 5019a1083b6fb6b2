#pragma once
// A wrong constant in the kernels' shared header (issue 22): the host SSIM kernel and the
// SSIM reference built again (tests/CMakeLists.txt) against a copy of
// kernels/common/gaussian.hpp whose taps are sigma 1.6's instead of 1.5's. That build renames
// namespace mb, so its entry points are declared outside it.
#include <cstdint>

namespace wrong_taps {

// cpu::SsimFused of that build on [planes, height, width]: fills map, returns the mean.
double ssim_kernel(const float* x, const float* y, int64_t planes, int64_t height, int64_t width, float* map);

// ref::ssim of that build: fills map, returns the mean.
double ssim_reference(const float* x, const float* y, int64_t planes, int64_t height, int64_t width, double* map);

}  // namespace wrong_taps
