#include "kernels/cpu/simd.hpp"

#include <hwy/highway.h>

#include <memory>

namespace mb::cpu {

const char* isa_name(int64_t hwy_target) {
  switch (hwy_target) {
    case HWY_AVX3: return "avx512";
    case HWY_AVX3_DL: return "avx512_dl";
    case HWY_AVX2: return "avx2";
    case HWY_SSE4: return "sse4";
    case HWY_SSSE3: return "ssse3";
    case HWY_SVE2_128: return "sve2_128";
    case HWY_SVE_256: return "sve_256";
    case HWY_SVE2: return "sve2";
    case HWY_SVE: return "sve";
    case HWY_NEON: return "neon";
    case HWY_EMU128: return "emu128";
    case HWY_SCALAR: return "scalar";
    default: return "other";
  }
}

// HWY_TARGETS here is the kernels' (one CMake target, one set of compile definitions).
std::vector<int64_t> simd_targets() { return hwy::SupportedAndGeneratedTargets(); }

bool limit_simd_target(const std::string& isa) {
  for (int64_t target : simd_targets())
    if (isa == isa_name(target)) {
      hwy::DisableTargets(target - 1);  // every better target: the lower bits
      return true;
    }
  return false;
}

float* zeroed_aligned_floats(std::vector<float>& storage, size_t count) {
  constexpr size_t kLine = 64;
  storage.assign(count + kLine / sizeof(float), 0.0f);
  void* p = storage.data();
  size_t space = storage.size() * sizeof(float);
  return static_cast<float*>(std::align(kLine, count * sizeof(float), p, space));
}

}  // namespace mb::cpu
