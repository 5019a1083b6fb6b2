// ssim: the reference against hand-derived cases and a direct (non-separable)
// 11x11 window sum, then the fused CPU kernel against the reference over
// randomised and edge-case shapes, then the registered cases' validation.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cpu_ref/ssim.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/validate.hpp"
#include "kernels/common/ssim_math.hpp"
#include "kernels/cpu/ssim.hpp"
#include "ops/ssim/ssim.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

constexpr double kC1 = 1e-4, kC2 = 9e-4;
// docs/ops.md's taps from their definition (exp(-d^2 / (2 * 1.5^2)), normalised), computed here
// apart from the reference's own; IndependentReference.SsimTapsAreOpsMdsGaussian checks
// both against the 10 decimals docs/ops.md lists.
const std::array<double, 11> kTaps = [] {
  std::array<double, 11> t{};
  double sum = 0;
  for (int d = -5; d <= 5; ++d) sum += t[d + 5] = std::exp(-d * d / 4.5);
  for (double& v : t) v /= sum;
  return t;
}();

// Closed form for the pixel of two constant images a, b whose window keeps coverage S
// (the sum of the 2-D weights inside the image): mu = aS, E[x^2] = a^2 S, var = a^2 S(1-S).
double constant_pair_ssim(double a, double b, double s) {
  const double mx = a * s, my = b * s, vx = a * a * s * (1 - s), vy = b * b * s * (1 - s), cov = a * b * s * (1 - s);
  return (2 * mx * my + kC1) * (2 * cov + kC2) / ((mx * mx + my * my + kC1) * (vx + vy + kC2));
}

// Sum of the 1-D taps whose offset from i stays inside [0, n).
double coverage_1d(int64_t i, int64_t n) {
  double s = 0;
  for (int k = -5; k <= 5; ++k)
    if (i + k >= 0 && i + k < n) s += kTaps[k + 5];
  return s;
}

// Direct 2-D window (weights t_i t_j), no separation: an independent oracle.
double direct_ssim_at(const float* x, const float* y, int64_t h, int64_t w, int64_t r, int64_t c) {
  double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
  for (int i = -5; i <= 5; ++i)
    for (int j = -5; j <= 5; ++j) {
      if (r + i < 0 || r + i >= h || c + j < 0 || c + j >= w) continue;
      const double wt = kTaps[i + 5] * kTaps[j + 5], xv = x[(r + i) * w + c + j], yv = y[(r + i) * w + c + j];
      mx += wt * xv, my += wt * yv, exx += wt * xv * xv, eyy += wt * yv * yv, exy += wt * xv * yv;
    }
  const double vx = std::max(0.0, exx - mx * mx), vy = std::max(0.0, eyy - my * my), cov = exy - mx * my;
  const double v = (2 * mx * my + kC1) * (2 * cov + kC2) / ((mx * mx + my * my + kC1) * (vx + vy + kC2));
  return std::clamp(v, -1.0, 1.0);
}

struct Images {
  std::vector<float> x, y;
};

// X uniform [0,1]; Y = X + noise (clamped) when `noise` >= 0, else Y independent of X.
Images make_images(const ref::SsimShape& s, uint64_t seed, float noise) {
  Rng rng(seed);
  Images im{std::vector<float>(static_cast<size_t>(s.pixels())), std::vector<float>(static_cast<size_t>(s.pixels()))};
  rng.fill_uniform(im.x, 0, 1);
  for (size_t i = 0; i < im.y.size(); ++i)
    im.y[i] = noise >= 0 ? std::clamp(im.x[i] + rng.uniform(-noise, noise), 0.0f, 1.0f) : rng.uniform01();
  return im;
}

TEST(SsimRef, ImageWithItselfIsOne) {
  const ref::SsimShape s{2, 3, 13, 17};
  const Images im = make_images(s, 1, 0.0f);
  std::vector<double> map(static_cast<size_t>(s.pixels()));
  EXPECT_NEAR(ref::ssim(im.x.data(), im.x.data(), s, map.data()), 1.0, 1e-12);
  for (double v : map) ASSERT_NEAR(v, 1.0, 1e-12);
}

TEST(SsimRef, TwoConstantImagesMatchClosedForm) {
  const int64_t h = 20, w = 23;
  const double a = 0.625, b = 0.25;  // exact in float
  std::vector<float> x(h * w, static_cast<float>(a)), y(h * w, static_cast<float>(b));
  std::vector<double> map(h * w);
  const double sum = ref::ssim_plane(x.data(), y.data(), h, w, map.data());
  // Interior pixels see the full window: (2ab + C1) / (a^2 + b^2 + C1) = 0.3126 / 0.453225 (the
  // taps sum to 1 in double; the docs/ops.md decimals, 1 - 1e-10, were 3.5e-8 off here).
  EXPECT_NEAR(map[10 * w + 11], 0.3126 / 0.453225, 1e-12);
  double expected_sum = 0;
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c) {
      const double want = constant_pair_ssim(a, b, coverage_1d(r, h) * coverage_1d(c, w));
      ASSERT_NEAR(map[r * w + c], want, 1e-9) << r << "," << c;
      expected_sum += want;
    }
  EXPECT_NEAR(sum, expected_sum, 1e-9);
  // The corner keeps half the window plus half the centre tap in each direction.
  const double corner_cov = (0.5 + kTaps[5] / 2) * (0.5 + kTaps[5] / 2);
  EXPECT_NEAR(map[0], constant_pair_ssim(a, b, corner_cov), 1e-9);
}

TEST(SsimRef, MatchesDirectWindowIncludingImagesSmallerThanTheWindow) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {3, 4}, {5, 7}, {10, 10}, {11, 11}, {16, 29}}) {
    const Images im = make_images({1, 1, h, w}, static_cast<uint64_t>(h * 100 + w), -1.0f);
    std::vector<double> map(static_cast<size_t>(h * w));
    ref::ssim_plane(im.x.data(), im.y.data(), h, w, map.data());
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        const double want = direct_ssim_at(im.x.data(), im.y.data(), h, w, r, c);
        ASSERT_NEAR(map[r * w + c], want, 1e-12) << h << "x" << w << " at " << r << "," << c;
        ASSERT_NEAR(ref::ssim_map_at(im.x.data(), im.y.data(), h, w, r, c), want, 1e-12);
      }
  }
}

TEST(SsimRef, MeanIsOverEveryPlane) {
  const ref::SsimShape s{2, 3, 6, 9};
  const Images im = make_images(s, 5, 0.2f);
  std::vector<double> map(static_cast<size_t>(s.pixels())), plane(static_cast<size_t>(s.plane_size()));
  const double mean = ref::ssim(im.x.data(), im.y.data(), s, map.data());
  double sum = 0;
  for (int64_t p = 0; p < s.planes(); ++p) {
    const int64_t off = p * s.plane_size();
    sum += ref::ssim_plane(im.x.data() + off, im.y.data() + off, s.height, s.width, plane.data());
    for (int64_t i = 0; i < s.plane_size(); ++i) ASSERT_EQ(map[off + i], plane[i]);
  }
  EXPECT_NEAR(mean, sum / static_cast<double>(s.pixels()), 1e-15);
}

struct Shape {
  int64_t batch, height, width;
};

// The fused kernel (default tiles, 16-wide tiles, and 24-wide ones on every SIMD target) at each
// of kTestThreadCounts against one reference.
void expect_fused_matches_ref(const Shape& sh, float noise, uint64_t seed) {
  const ref::SsimShape s{sh.batch, 3, sh.height, sh.width};
  const Images im = make_images(s, seed, noise);
  std::vector<double> ref_map(static_cast<size_t>(s.pixels()));
  const double ref_mean = ref::ssim(im.x.data(), im.y.data(), s, ref_map.data());
  std::vector<float> map(static_cast<size_t>(s.pixels()));
  auto expect_right = [&](cpu::SsimFused& k, const std::string& what) {
    std::fill(map.begin(), map.end(), std::nanf(""));
    const double mean = k.run(im.x.data(), im.y.data(), map.data(), s.planes());
    double err = 0;
    for (size_t i = 0; i < map.size(); ++i)
      err = std::isfinite(map[i]) ? std::max(err, std::fabs(map[i] - ref_map[i])) : 1e30;
    EXPECT_LE(err, 1e-4) << "map, " << what << ", noise " << noise;
    EXPECT_LE(std::fabs(mean - ref_mean), 1e-5) << "mean, " << what << ", noise " << noise;
  };
  at_each_thread_count([&](int) {
    cpu::SsimFused k(s.height, s.width);
    expect_right(k, "default tiles");
    // Narrow column tiles: many tile edges and halos inside a small image.
    cpu::SsimFused narrow(s.height, s.width, 16);
    expect_right(narrow, "16-wide tiles");
    // Every SIMD target (the portable EMU128 too), with tile edges, and with the prefetches that
    // only large runs make (band and image ends).
    at_each_simd_target([&](const std::string& isa) {
      cpu::SsimFused each(s.height, s.width, 24);
      expect_right(each, "24-wide tiles, isa=" + isa);
      cpu::SsimFused ahead(s.height, s.width, 24, 0.0);
      expect_right(ahead, "24-wide tiles fetching ahead, isa=" + isa);
    });
  });
}

class SsimFusedShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(SsimFusedShapes, MatchReference) {
  const Shape sh = GetParam();
  const auto seed = static_cast<uint64_t>(sh.batch * 1000003 + sh.height * 1009 + sh.width);
  expect_fused_matches_ref(sh, 0.05f, seed);  // near 1, as in training
  expect_fused_matches_ref(sh, -1.0f, seed);  // unrelated images: values near 0 and negative
}

std::vector<Shape> ssim_shapes() {
  // Tiny and smaller than the window, odd sizes, several column tiles (tiles are <= 512 wide), B > 1.
  std::vector<Shape> v = {{1, 1, 1},   {1, 5, 7},   {1, 7, 5},    {2, 3, 4},     {1, 11, 11},  {1, 12, 13},
                          {1, 64, 64}, {2, 33, 97}, {1, 40, 513}, {1, 37, 1100}, {3, 65, 520}, {1, 200, 9}};
  Rng rng(11);
  for (int i = 0; i < 10; ++i)
    v.push_back({1 + static_cast<int64_t>(rng.below(3)), 1 + static_cast<int64_t>(rng.below(90)),
                 1 + static_cast<int64_t>(rng.below(700))});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Shapes, SsimFusedShapes, ::testing::ValuesIn(ssim_shapes()),
                         [](const ::testing::TestParamInfo<Shape>& i) {
                           return "b" + std::to_string(i.param.batch) + "_h" + std::to_string(i.param.height) + "_w" +
                                  std::to_string(i.param.width) + "_" + std::to_string(i.index);
                         });

TEST(SsimFused, ConstantImagesAndFlatRegions) {
  // Zero variance everywhere in the interior exercises the variance clamp.
  const int64_t h = 30, w = 41;
  std::vector<float> x(3 * h * w, 0.6f), y(3 * h * w, 0.3f), map(3 * h * w);
  std::vector<double> ref_map(3 * h * w);
  const double ref_mean = ref::ssim(x.data(), y.data(), {1, 3, h, w}, ref_map.data());
  cpu::SsimFused k(h, w);
  EXPECT_NEAR(k.run(x.data(), y.data(), map.data(), 3), ref_mean, 1e-5);
  for (size_t i = 0; i < map.size(); ++i) ASSERT_NEAR(map[i], ref_map[i], 1e-4) << i;
}

// Flat regions are where fp32 E[x^2] - mu^2 cancels worst (every interior pixel then has the
// same rounding error, so it goes straight into the mean). Unshifted, 0.6/0.3 was 1.5e-5 off
// in the mean; the kernel's per-tile shift must keep constant planes 4x inside tolerance.
TEST(SsimFused, FlatBrightImages) {
  const int64_t h = 24, w = 50;
  for (auto [a, b] : {std::pair<float, float>{1.0f, 1.0f}, {1.0f, 0.95f}, {0.9f, 0.6f}, {0.0f, 0.02f}}) {
    std::vector<float> x(3 * h * w, a), y(3 * h * w, b), map(3 * h * w);
    std::vector<double> ref_map(3 * h * w);
    const double ref_mean = ref::ssim(x.data(), y.data(), {1, 3, h, w}, ref_map.data());
    at_each_simd_target([&](const std::string& isa) {
      cpu::SsimFused k(h, w, 16);
      const double mean_err = std::fabs(k.run(x.data(), y.data(), map.data(), 3) - ref_mean);
      double err = 0;
      for (size_t i = 0; i < map.size(); ++i) err = std::max(err, std::fabs(map[i] - ref_map[i]));
      std::printf("[ssim flat] %.2f/%.2f isa=%s: max |map - ref| %.2e, |mean - ref| %.2e\n", a, b, isa.c_str(), err,
                  mean_err);
      EXPECT_LE(err, 2.5e-5) << a << " " << b;
      EXPECT_LE(mean_err, 2.5e-6) << a << " " << b;
    });
  }
}

TEST(SsimFused, MeanDoesNotDependOnThreadCountAndRepeats) {
  const ref::SsimShape s{2, 3, 150, 700};
  const Images im = make_images(s, 3, 0.05f);
  std::vector<float> map(static_cast<size_t>(s.pixels()));
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  cpu::SsimFused one(s.height, s.width);
  omp_set_num_threads(std::max(2, before));
  cpu::SsimFused many(s.height, s.width);
  omp_set_num_threads(before);
  ASSERT_EQ(one.threads(), 1);
  const double m1 = one.run(im.x.data(), im.y.data(), map.data(), s.planes());
  const std::vector<float> map1 = map;
  const double m2 = many.run(im.x.data(), im.y.data(), map.data(), s.planes());
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(map1, map);
  EXPECT_EQ(many.run(im.x.data(), im.y.data(), map.data(), s.planes()), m2);
}

// Blurring x^2 + y^2 as one statistic (clamping var_x + var_y at 0, not each term) and the
// fp32 row kernels must stay at rounding level: 10x inside the docs/ops.md tolerances.
TEST(SsimFused, ErrorsWellInsideTolerance) {
  const ref::SsimShape s{2, 3, 120, 530};
  for (float noise : {0.05f, -1.0f}) {
    const Images im = make_images(s, 77, noise);
    std::vector<double> ref_map(static_cast<size_t>(s.pixels()));
    const double ref_mean = ref::ssim(im.x.data(), im.y.data(), s, ref_map.data());
    at_each_simd_target([&](const std::string& isa) {
      std::vector<float> map(static_cast<size_t>(s.pixels()));
      cpu::SsimFused k(s.height, s.width);
      const double mean = k.run(im.x.data(), im.y.data(), map.data(), s.planes());
      double err = 0;
      for (size_t i = 0; i < map.size(); ++i) err = std::max(err, std::fabs(map[i] - ref_map[i]));
      std::printf("[ssim errors] noise %.2f isa=%s: max |map - ref| %.2e, |mean - ref| %.2e\n", noise, isa.c_str(), err,
                  std::fabs(mean - ref_mean));
      EXPECT_LE(err, 1e-5) << "noise " << noise;
      EXPECT_LE(std::fabs(mean - ref_mean), 1e-6) << "noise " << noise;
    });
  }
}

// Y = 1 - X: covariance = -variance, so the map is close to -1 everywhere; a lower clamp
// tighter than -1 (or a wrong sign anywhere in the formula) shows here.
TEST(SsimFused, AntiCorrelatedImagesNearMinusOne) {
  const ref::SsimShape s{1, 3, 40, 90};
  Images im = make_images(s, 9, 0.0f);
  for (size_t i = 0; i < im.y.size(); ++i) im.y[i] = 1.0f - im.x[i];
  std::vector<double> ref_map(static_cast<size_t>(s.pixels()));
  const double ref_mean = ref::ssim(im.x.data(), im.y.data(), s, ref_map.data());
  EXPECT_LT(*std::min_element(ref_map.begin(), ref_map.end()), -0.95);
  at_each_simd_target([&](const std::string&) {
    std::vector<float> map(static_cast<size_t>(s.pixels()));
    cpu::SsimFused k(s.height, s.width, 32);
    EXPECT_NEAR(k.run(im.x.data(), im.y.data(), map.data(), s.planes()), ref_mean, 1e-5);
    for (size_t i = 0; i < map.size(); ++i) ASSERT_NEAR(map[i], ref_map[i], 1e-4) << i;
  });
}

TEST(SsimFused, ImageWithItselfIsOne) {
  const ref::SsimShape s{1, 3, 33, 70};
  const Images im = make_images(s, 4, 0.0f);
  std::vector<float> map(static_cast<size_t>(s.pixels()));
  cpu::SsimFused k(s.height, s.width);
  EXPECT_NEAR(k.run(im.x.data(), im.x.data(), map.data(), s.planes()), 1.0, 1e-6);
  for (float v : map) ASSERT_NEAR(v, 1.0f, 1e-6f);
}

// The summed-variance formula by hand: mu_x = 0.5, mu_y = 0.25 give mu_x^2 + mu_y^2 = 0.3125
// and mu_x mu_y = 0.125 (all exact in float).
TEST(SsimMath, SquareSumFormulaByHand) {
  using common::ssim_value_sq_sum;
  const double c1 = kC1;
  // Zero variances and covariance: only the luminance term is left.
  EXPECT_NEAR(ssim_value_sq_sum(0.5f, 0.25f, 0.3125f, 0.125f), (0.25 + c1) / (0.3125 + c1), 1e-6);
  // E[x^2 + y^2] below mu_x^2 + mu_y^2 (rounding on flat regions): the variance sum is 0, not negative.
  EXPECT_NEAR(ssim_value_sq_sum(0.5f, 0.25f, 0.3f, 0.125f), (0.25 + c1) / (0.3125 + c1), 1e-6);
  // var_x + var_y = 0.0475, cov = 0.02: (0.2501)(0.0409) / ((0.3126)(0.0484)).
  EXPECT_NEAR(ssim_value_sq_sum(0.5f, 0.25f, 0.36f, 0.145f), 0.2501 * 0.0409 / (0.3126 * 0.0484), 1e-6);
  // Out-of-range statistics clamp to [-1, 1].
  EXPECT_EQ(ssim_value_sq_sum(0.0f, 0.0f, 0.0f, 1.0f), 1.0f);
  EXPECT_EQ(ssim_value_sq_sum(0.0f, 0.0f, 0.0f, -1.0f), -1.0f);
  // Same as the five-statistic formula whenever both variances are >= 0.
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const float mx = rng.uniform01(), my = rng.uniform01();
    const float exx = mx * mx + rng.uniform(0, 0.1f), eyy = my * my + rng.uniform(0, 0.1f);
    const float exy = mx * my + rng.uniform(-0.05f, 0.05f);
    ASSERT_NEAR(ssim_value_sq_sum(mx, my, exx + eyy, exy), common::ssim_value(mx, my, exx, eyy, exy), 1e-5);
    // Statistics of x - c and y - c: E[(x-c)^2] = E[x^2] - 2c mu_x + c^2, E[(x-c)(y-c)] = E[xy] - c(mu_x + mu_y) + c^2.
    const float c = 0.5f;
    const float sq_c = exx + eyy - 2 * c * (mx + my) + 2 * c * c, xy_c = exy - c * (mx + my) + c * c;
    ASSERT_NEAR(ssim_value_sq_sum(mx - c, my - c, sq_c, xy_c, c, c), common::ssim_value(mx, my, exx, eyy, exy), 1e-5);
  }
}

// The kernel's formula on every SIMD target (37 pixels: two 16-lane vectors and a tail), the same
// hand cases: catches a missing or misplaced variance clamp and the [-1, 1] clamps.
TEST(SsimFused, FormulaClampsOnEverySimdTarget) {
  const double c1 = kC1;
  struct Case {
    float mx, my, sq, xy;
    double want;
  };
  const std::vector<Case> cases = {
      {0.5f, 0.25f, 0.3125f, 0.125f, (0.25 + c1) / (0.3125 + c1)},
      {0.5f, 0.25f, 0.3f, 0.125f, (0.25 + c1) / (0.3125 + c1)},  // variance sum rounds below 0: taken as 0
      {0.5f, 0.25f, 0.36f, 0.145f, 0.2501 * 0.0409 / (0.3126 * 0.0484)},
      {0.0f, 0.0f, 0.0f, 1.0f, 1.0},
      {0.0f, 0.0f, 0.0f, -1.0f, -1.0}};
  at_each_simd_target([&](const std::string&) {
    for (const Case& c : cases) {
      // Shifted by (0.25, 0.125): mu - shift, E[(x-cx)^2 + (y-cy)^2], E[(x-cx)(y-cy)].
      const float cx = 0.25f, cy = 0.125f;
      const float smx = c.mx - cx, smy = c.my - cy;
      const float ssq = c.sq - 2 * cx * c.mx - 2 * cy * c.my + cx * cx + cy * cy;
      const float sxy = c.xy - cx * c.my - cy * c.mx + cx * cy;
      std::vector<float> mx(37, c.mx), my(37, c.my), sq(37, c.sq), xy(37, c.xy), out(37, 0.0f);
      cpu::ssim_formula(mx.data(), my.data(), sq.data(), xy.data(), 0.0f, 0.0f, out.data(), 37);
      for (float v : out) ASSERT_NEAR(v, c.want, 1e-6) << c.mx << " " << c.sq << " " << c.xy;
      std::fill(mx.begin(), mx.end(), smx);
      std::fill(my.begin(), my.end(), smy);
      std::fill(sq.begin(), sq.end(), ssq);
      std::fill(xy.begin(), xy.end(), sxy);
      cpu::ssim_formula(mx.data(), my.data(), sq.data(), xy.data(), cx, cy, out.data(), 37);
      for (float v : out) ASSERT_NEAR(v, c.want, 1e-5) << "shifted " << c.mx << " " << c.sq << " " << c.xy;
    }
  });
}

TEST(SsimCase, RegisteredCasesAndBatches) {
  for (const char* id : {"ssim/nerf_800", "ssim/mip_1600", "ssim/hd_1080p"}) {
    const OpCase& c = registered_case(id);
    EXPECT_EQ(c.batches(Profile::quick), (std::vector<int64_t>{1, 4})) << id;
    EXPECT_EQ(c.batches(Profile::full), (std::vector<int64_t>{1, 2, 4, 8, 16})) << id;
    EXPECT_EQ(own_impl_names(c, Placement::host), std::vector<std::string>{"fused"});
    EXPECT_EQ(own_impl_names(c, Placement::device), (std::vector<std::string>{"fused", "cudnn"}));
  }
  // mip_1600 is W = 1600, H = 1066.
  auto p = registered_case("ssim/mip_1600").make_problem(1, 1);
  const auto& s = static_cast<SsimProblem&>(*p).shape;
  EXPECT_EQ(s.width, 1600);
  EXPECT_EQ(s.height, 1066);
  EXPECT_EQ(s.channels, 3);
}

TEST(SsimCase, ValidationPassesFusedAndCatchesOnePixelOrTheMean) {
  const OpCase& c = registered_case("ssim/nerf_800");
  auto prob = c.make_problem(1, 42);
  auto& p = static_cast<SsimProblem&>(*prob);
  for (size_t i = 0; i < p.x.size(); i += 9973) {
    ASSERT_GE(p.y[i], 0.0f);
    ASSERT_LE(p.y[i], 1.0f);
  }
  prob->poison_outputs();
  make_cpu_instance(c, "fused", *prob)->run();
  Validation v = c.validate(*prob, Precision::fp32);
  EXPECT_TRUE(v.ok()) << v.max_err;
  EXPECT_EQ(v.check, "full");
  EXPECT_GT(p.mean[0], 0.9f);  // Y is X plus small noise

  const float map_was = p.map[123457], mean_was = p.mean[0];
  p.map[123457] += 1e-4f;
  EXPECT_FALSE(c.validate(*prob, Precision::fp32).ok()) << "one map pixel off by 1e-4";
  p.map[123457] = map_was;
  p.mean[0] += 5e-7f;
  EXPECT_FALSE(c.validate(*prob, Precision::fp32).ok()) << "mean off by 5e-7";
  p.mean[0] = mean_was;
  p.map.back() = std::nanf("");
  EXPECT_FALSE(c.validate(*prob, Precision::fp32).finite);
}

// The sampled check (the re-check of a last timed call): the fused kernel passes; a sampled
// pixel (an edge) off by 1e-4, or a mean that is not the mean of the map, fails.
TEST(SsimCase, SampledCheckPassesFusedAndCatchesAnEdgePixelOrTheMean) {
  const OpCase& c = registered_case("ssim/nerf_800");
  auto prob = c.make_problem(2, 42);
  auto& p = static_cast<SsimProblem&>(*prob);
  prob->poison_outputs();
  make_cpu_instance(c, "fused", *prob)->run();
  ScopedSampledCheck sampled;
  const Validation v = c.validate(*prob, Precision::fp32);
  EXPECT_TRUE(v.ok()) << v.max_err;
  EXPECT_TRUE(v.check.starts_with("sampled:")) << v.check;
  EXPECT_LT(v.max_err, v.tolerance / 5);  // the mean stored as fp32 (<= 3e-8, x100 in map units)

  const size_t edge = p.map.size() - 5;  // the last row of the last image's last plane
  const float map_was = p.map[edge], mean_was = p.mean[0];
  p.map[edge] += 1e-4f;
  EXPECT_FALSE(c.validate(*prob, Precision::fp32).ok()) << "an edge pixel off by 1e-4";
  p.map[edge] = map_was;
  p.mean[0] += 5e-7f;
  EXPECT_FALSE(c.validate(*prob, Precision::fp32).ok()) << "mean off by 5e-7";
  p.mean[0] = mean_was;
  EXPECT_TRUE(c.validate(*prob, Precision::fp32).ok());
}

}  // namespace
}  // namespace mb
