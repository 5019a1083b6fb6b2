// kernels/common knn math (shared with the CUDA kernels), against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/common/knn_search.hpp"
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

TEST(KnnSearch, BoxDistanceNeverExceedsThePointDistanceAfterRounding) {
  // Pruning is exact only if the rounded box bound stays <= every rounded point distance.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int t = 0; t < 20000; ++t) {
    KnnPoint a{u(rng), u(rng), u(rng), 0}, b{u(rng), u(rng), u(rng), 0}, q{u(rng), u(rng), u(rng), 0};
    const KnnPoint lo{std::fmin(a.x, b.x), std::fmin(a.y, b.y), std::fmin(a.z, b.z), 0};
    const KnnPoint hi{std::fmax(a.x, b.x), std::fmax(a.y, b.y), std::fmax(a.z, b.z), 0};
    const float bound = knn_box_dist2(q, lo, hi);
    ASSERT_LE(bound, knn_dist2(q, a));
    ASSERT_LE(bound, knn_dist2(q, b));
    const KnnPoint corner{lo.x, hi.y, lo.z, 0};
    ASSERT_LE(bound, knn_dist2(q, corner));
  }
  const KnnPoint lo{0, 0, 0, 0}, hi{1, 1, 1, 0};
  EXPECT_EQ(knn_box_dist2(KnnPoint{0.5f, 0.5f, 0.5f, 0}, lo, hi), 0.0f);  // inside
  EXPECT_EQ(knn_box_dist2(KnnPoint{3, 0.5f, -2, 0}, lo, hi), 8.0f);       // 2^2 + 0 + 2^2
}

TEST(KnnSearch, WindowIsClippedAtBothEnds) {
  // Points on a line at 0, 1, 2, ..., 7: the window of i is i-3..i+3 minus i.
  std::vector<KnnPoint> p;
  for (int i = 0; i < 8; ++i) p.push_back({float(i), 0, 0, 0});
  Top3 t = knn_window_top3(p.data(), 0, 8, 0);  // 1, 4, 9
  EXPECT_EQ(t.mean(), 14.0f / 3);
  t = knn_window_top3(p.data(), 0, 8, 7);  // 1, 4, 9 from 6, 5, 4
  EXPECT_EQ(t.mean(), 14.0f / 3);
  t = knn_window_top3(p.data(), 0, 8, 4);  // 1, 1, 4
  EXPECT_EQ(t.mean(), 2.0f);
  // A buffer that starts at sorted point 2 (a chunk with its halo) gives the same answer.
  t = knn_window_top3(p.data() + 2, 2, 8, 5);  // 1, 1, 4
  EXPECT_EQ(t.mean(), 2.0f);
}

TEST(KnnSearch, VisitBoxSkipsTheWindowAndPrunesFarBoxes) {
  std::vector<KnnPoint> p;
  for (int i = 0; i < 10; ++i) p.push_back({float(i), 0, 0, 0});
  const KnnPoint lo{0, 0, 0, 0}, hi{9, 0, 0, 0};
  // Query 5 starting from its window (1, 1, 4): the box adds only 0..1 and 9, all farther.
  Top3 best = knn_window_top3(p.data(), 0, 10, 5);
  knn_visit_box(p[5], 5, lo, hi, p.data(), 0, 10, best);
  EXPECT_EQ(best.d[0], 1.0f);
  EXPECT_EQ(best.d[1], 1.0f);
  EXPECT_EQ(best.d[2], 4.0f);  // window points were not counted a second time
  // A box farther than the third best is not scanned even though it holds a closer duplicate.
  Top3 far = Top3::empty();
  for (float v : {1.0f, 1.0f, 1.0f}) far.insert(v);
  const KnnPoint dup = p[5];
  knn_visit_box(p[5], 5, KnnPoint{7, 0, 0, 0}, KnnPoint{9, 0, 0, 0}, &dup, 100, 1, far);
  EXPECT_EQ(far.d[0], 1.0f);
  // Outside the window a duplicate counts as 0.
  knn_visit_box(p[5], 5, lo, hi, &dup, 100, 1, best);
  EXPECT_EQ(best.d[0], 0.0f);
}

}  // namespace
}  // namespace mb
