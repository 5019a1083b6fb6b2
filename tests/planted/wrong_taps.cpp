// Built with mb renamed and kernels/common/gaussian.hpp replaced (tests/CMakeLists.txt).
#include "tests/planted/wrong_taps.hpp"

#include "cpu_ref/ssim.hpp"
#include "kernels/cpu/ssim.hpp"

namespace wrong_taps {

double ssim_kernel(const float* x, const float* y, int64_t planes, int64_t height, int64_t width, float* map) {
  return mb::cpu::SsimFused(height, width).run(x, y, map, planes);
}

double ssim_reference(const float* x, const float* y, int64_t planes, int64_t height, int64_t width, double* map) {
  return mb::ref::ssim(x, y, mb::ref::SsimShape{planes, 1, height, width}, map);
}

}  // namespace wrong_taps
