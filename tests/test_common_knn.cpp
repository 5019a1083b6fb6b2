// kernels/common knn math (shared with the CUDA kernels), against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/common/morton.hpp"
#include "kernels/common/top3.hpp"

namespace mb {
namespace {

TEST(Morton, ExpandBitsSpreadsEveryBitThreeApart) {
  EXPECT_EQ(morton_expand_bits(0u), 0u);
  EXPECT_EQ(morton_expand_bits(1u), 1u);
  EXPECT_EQ(morton_expand_bits(2u), 8u);            // bit 1 -> bit 3
  EXPECT_EQ(morton_expand_bits(3u), 9u);            // 0b11 -> 0b1001
  EXPECT_EQ(morton_expand_bits(0x200u), 1u << 27);  // bit 9 -> bit 27
  EXPECT_EQ(morton_expand_bits(0x3FFu), 0x09249249u);
  EXPECT_EQ(morton_expand_bits(0x400u), 0u);  // only 10 bits are used
}

TEST(Morton, EncodeInterleavesXYZ) {
  EXPECT_EQ(morton_encode(1, 0, 0), 1u);
  EXPECT_EQ(morton_encode(0, 1, 0), 2u);
  EXPECT_EQ(morton_encode(0, 0, 1), 4u);
  // x=3 (bits 0,3), y=1 (bit 1), z=2 (bit 5): 1 + 8 + 2 + 32
  EXPECT_EQ(morton_encode(3, 1, 2), 43u);
  EXPECT_EQ(morton_encode(1023, 1023, 1023), (1u << 30) - 1);
}

TEST(Morton, QuantizeMapsBoxToTenBitsAndClamps) {
  EXPECT_EQ(morton_quantize(-1.0f, -1.0f, 1.0f), 0u);
  EXPECT_EQ(morton_quantize(1.0f, -1.0f, 1.0f), 1023u);
  EXPECT_EQ(morton_quantize(0.0f, -1.0f, 1.0f), 511u);  // 0.5 * 1023 = 511.5
  EXPECT_EQ(morton_quantize(5.0f, -1.0f, 1.0f), 1023u);
  EXPECT_EQ(morton_quantize(-5.0f, -1.0f, 1.0f), 0u);
  EXPECT_EQ(morton_quantize(std::nanf(""), -1.0f, 1.0f), 0u);
  EXPECT_EQ(morton_quantize(3.0f, 3.0f, 3.0f), 0u);  // flat axis
}

TEST(Morton, CodeOfBoxCorners) {
  const float lo[3] = {0, 0, 0}, hi[3] = {1, 2, 4};
  EXPECT_EQ(morton_code(0, 0, 0, lo, hi), 0u);
  EXPECT_EQ(morton_code(1, 2, 4, lo, hi), (1u << 30) - 1);
  EXPECT_EQ(morton_code(1, 0, 0, lo, hi), 0x09249249u);
  EXPECT_EQ(morton_code(0, 0, 4, lo, hi), 0x09249249u << 2);
}

TEST(Top3, StartsEmptyAtInfinity) {
  Top3 t = Top3::empty();
  EXPECT_TRUE(std::isinf(t.worst()));
}

TEST(Top3, KeepsThreeSmallestSorted) {
  Top3 t = Top3::empty();
  for (float v : {5.0f, 1.0f, 4.0f, 2.0f, 8.0f, 3.0f}) t.insert(v);
  EXPECT_EQ(t.d[0], 1.0f);
  EXPECT_EQ(t.d[1], 2.0f);
  EXPECT_EQ(t.d[2], 3.0f);
  EXPECT_FLOAT_EQ(t.mean(), 2.0f);
}

TEST(Top3, InsertAtEachPosition) {
  Top3 t{{1.0f, 3.0f, 5.0f}};
  t.insert(6.0f);  // too large: unchanged
  EXPECT_EQ(t.d[2], 5.0f);
  t.insert(4.0f);  // becomes third
  EXPECT_EQ(t.d[1], 3.0f);
  EXPECT_EQ(t.d[2], 4.0f);
  t.insert(2.0f);  // becomes second
  EXPECT_EQ(t.d[0], 1.0f);
  EXPECT_EQ(t.d[1], 2.0f);
  EXPECT_EQ(t.d[2], 3.0f);
  t.insert(0.5f);  // becomes first
  EXPECT_EQ(t.d[0], 0.5f);
  EXPECT_EQ(t.d[1], 1.0f);
  EXPECT_EQ(t.d[2], 2.0f);
}

TEST(Top3, DuplicatesAndZerosAreAllKept) {
  Top3 t = Top3::empty();
  for (float v : {0.0f, 7.0f, 0.0f, 0.0f, 1.0f}) t.insert(v);
  EXPECT_EQ(t.d[0], 0.0f);
  EXPECT_EQ(t.d[1], 0.0f);
  EXPECT_EQ(t.d[2], 0.0f);
  EXPECT_EQ(t.mean(), 0.0f);
}

TEST(Top3, FewerThanThreeValuesLeaveInfinity) {
  Top3 t = Top3::empty();
  t.insert(2.0f);
  t.insert(1.0f);
  EXPECT_EQ(t.d[0], 1.0f);
  EXPECT_EQ(t.d[1], 2.0f);
  EXPECT_TRUE(std::isinf(t.d[2]));
}

TEST(Top3, IgnoresNaN) {
  Top3 t = Top3::empty();
  t.insert(std::nanf(""));
  EXPECT_TRUE(std::isinf(t.d[0]));
}

TEST(Top3, DoubleVariantMean) {
  Top3T<double> t = Top3T<double>::empty();
  for (double v : {9.0, 0.25, 0.5, 0.75}) t.insert(v);
  EXPECT_DOUBLE_EQ(t.mean(), 0.5);
}

}  // namespace
}  // namespace mb
