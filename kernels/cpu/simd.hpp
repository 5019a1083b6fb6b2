#pragma once
// Runtime SIMD dispatch of the host kernels (docs/ops.md, "SIMD targets"): ssim.cpp, knn.cpp and
// conv2d_depthwise.cpp are compiled once per Highway target (AVX-512, AVX2 and SSE4 on x86-64; NEON
// and SVE on aarch64; a portable C++ fallback on both), and each call runs the best one this CPU has.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mb::cpu {

// The label value (`isa=`) of a Highway target: "avx512", "avx2", "sse4", "neon", "sve", "sve2",
// "emu128" or "scalar" (the portable fallbacks: plain C++), ...
const char* isa_name(int64_t hwy_target);

// The targets compiled into the host kernels that this CPU can run, best first: what the tests
// force in turn (hwy::SetSupportedTargetsForTest), each through the same dispatch as a run.
std::vector<int64_t> simd_targets();

// MODEBENCH_SIMD=<isa>: the host kernels run that target rather than the best (to measure one
// against another). False when `isa` is none of simd_targets()' names (nothing changed then).
bool limit_simd_target(const std::string& isa);

// `storage` made `count` zeroed floats plus slack; returns the first of them on a 64-byte line, so
// every target's aligned whole-vector loads (16 floats at most) work from there.
float* zeroed_aligned_floats(std::vector<float>& storage, size_t count);

}  // namespace mb::cpu
