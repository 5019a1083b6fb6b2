#pragma once
// 30-bit 3D Morton (Z-order) codes from coordinates quantised to 10 bits per
// axis, bit layout as simple-knn's coord2Morton: x in bit 0, y in bit 1, z in
// bit 2 of every triple. Sorting points by this code groups spatial neighbours.
#include <cstdint>

#include "kernels/common/hd.hpp"

namespace mb {

inline constexpr uint32_t kMortonBits = 10;
inline constexpr uint32_t kMortonMax = (1u << kMortonBits) - 1;  // 1023

// Spreads the low 10 bits of v so that bit k lands at bit 3k.
MB_HD uint32_t morton_expand_bits(uint32_t v) {
  v &= 0x3FFu;
  v = (v | (v << 16)) & 0x030000FFu;
  v = (v | (v << 8)) & 0x0300F00Fu;
  v = (v | (v << 4)) & 0x030C30C3u;
  v = (v | (v << 2)) & 0x09249249u;
  return v;
}

// Interleaves three 10-bit cell coordinates.
MB_HD uint32_t morton_encode(uint32_t x, uint32_t y, uint32_t z) {
  return morton_expand_bits(x) | (morton_expand_bits(y) << 1) | (morton_expand_bits(z) << 2);
}

// Maps v in [lo, hi] to 0..1023; outside values and NaN clamp, a flat axis (hi == lo) gives 0.
MB_HD uint32_t morton_quantize(float v, float lo, float hi) {
  const float extent = hi - lo;
  if (!(extent > 0.0f)) return 0;
  const float t = (v - lo) / extent * static_cast<float>(kMortonMax);
  if (!(t > 0.0f)) return 0;  // also catches NaN
  if (t >= static_cast<float>(kMortonMax)) return kMortonMax;
  return static_cast<uint32_t>(t);
}

// Morton code of point p inside the bounding box [lo, hi].
MB_HD uint32_t morton_code(float x, float y, float z, const float lo[3], const float hi[3]) {
  return morton_encode(morton_quantize(x, lo[0], hi[0]), morton_quantize(y, lo[1], hi[1]),
                       morton_quantize(z, lo[2], hi[2]));
}

}  // namespace mb
