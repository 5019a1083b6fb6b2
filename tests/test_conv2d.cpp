// conv2d: the reference against hand-computed values, then every CPU impl
// against the reference over randomised shapes and edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace ref {
// Readable test names and failure messages instead of gtest's byte dump.
void PrintTo(const Conv2dShape& s, std::ostream* os) {
  *os << "N" << s.N << " C" << s.C << " H" << s.H << " W" << s.W << " K" << s.K << " R" << s.R << " S" << s.S
      << " stride" << s.stride << " pad" << s.pad << " groups" << s.groups;
}
}  // namespace ref
namespace {

TEST(Conv2dRef, ThreeByThreePad1Stride2ByHand) {
  // x[h][w] = 4h + w + 1 on a 3x4 image, w[r][t] = 3r + t + 1, bias -1, pad 1, stride 2.
  // P = (3 + 2 - 3)/2 + 1 = 2, Q = (4 + 2 - 3)/2 + 1 = 2. Output (p,q) sees input rows
  // 2p-1..2p+1 and columns 2q-1..2q+1; out-of-image taps are zero:
  //   (0,0): w11 x00 + w12 x01 + w21 x10 + w22 x11 = 5*1 + 6*2 + 8*5 + 9*6 = 111
  //   (0,1): w10 x01 + w11 x02 + w12 x03 + w20 x11 + w21 x12 + w22 x13 = 8+15+24+42+56+72 = 217
  //   (1,0): w01 x10 + w02 x11 + w11 x20 + w12 x21 = 10+18+45+60 = 133
  //   (1,1): w00 x11 + w01 x12 + w02 x13 + w10 x21 + w11 x22 + w12 x23 = 6+14+24+40+55+72 = 211
  const ref::Conv2dShape s{1, 1, 3, 4, 1, 3, 3, 2, 1, 1};
  ASSERT_EQ(s.P(), 2);
  ASSERT_EQ(s.Q(), 2);
  float x[12], w[9];
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i + 1);
  for (int i = 0; i < 9; ++i) w[i] = static_cast<float>(i + 1);
  const float b[] = {-1};
  double y[4];
  ref::conv2d(x, w, b, s, y);
  EXPECT_DOUBLE_EQ(y[0], 110.0);
  EXPECT_DOUBLE_EQ(y[1], 216.0);
  EXPECT_DOUBLE_EQ(y[2], 132.0);
  EXPECT_DOUBLE_EQ(y[3], 210.0);
  // Magnitude: every product is positive, so it is the window sum plus |b|.
  EXPECT_DOUBLE_EQ(ref::conv2d_at(x, w, b, s, 0, 0, 0, 0).magnitude, 112.0);
}

TEST(Conv2dRef, GroupsSeeOnlyTheirChannels) {
  // C=4, K=4, groups=2, 1x1 kernel on a 1x1 image. Group 0 = channels {0,1} -> outputs {0,1},
  // group 1 = channels {2,3} -> outputs {2,3}. w is [K, C/groups=2, 1, 1].
  const ref::Conv2dShape s{1, 4, 1, 1, 4, 1, 1, 1, 0, 2};
  const float x[] = {1, 2, 3, 4};
  const float w[] = {1, 10, 100, 1000, -1, 2, 3, -4};
  const float b[] = {0, 0.5f, 0, 0};
  double y[4];
  ref::conv2d(x, w, b, s, y);
  EXPECT_DOUBLE_EQ(y[0], 1 * 1 + 10 * 2);            // 21
  EXPECT_DOUBLE_EQ(y[1], 100 * 1 + 1000 * 2 + 0.5);  // 2100.5
  EXPECT_DOUBLE_EQ(y[2], -1 * 3 + 2 * 4);            // 5
  EXPECT_DOUBLE_EQ(y[3], 3 * 3 - 4 * 4);             // -7
  EXPECT_DOUBLE_EQ(ref::conv2d_at(x, w, b, s, 0, 3, 0, 0).magnitude, 9.0 + 16.0);
}

TEST(Conv2dRef, BatchAndChannelsIndexNchw) {
  // N=2, C=2, 2x2 images, K=1, 1x1 kernel w = {1, 100}: y[n] = x[n,0] + 100 x[n,1].
  const ref::Conv2dShape s{2, 2, 2, 2, 1, 1, 1, 1, 0, 1};
  float x[16];
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
  const float w[] = {1, 100}, b[] = {0};
  double y[8];
  ref::conv2d(x, w, b, s, y);
  // n=0: channel 0 = 0..3, channel 1 = 4..7; n=1: channel 0 = 8..11, channel 1 = 12..15.
  EXPECT_DOUBLE_EQ(y[0], 0 + 400);
  EXPECT_DOUBLE_EQ(y[3], 3 + 700);
  EXPECT_DOUBLE_EQ(y[4], 8 + 1200);
  EXPECT_DOUBLE_EQ(y[7], 11 + 1500);
}

struct Inputs {
  std::vector<float> x, w, b;
};

Inputs make_inputs(const ref::Conv2dShape& s, uint64_t seed) {
  Inputs in{std::vector<float>(s.input_size()), std::vector<float>(s.weight_size()), std::vector<float>(s.K)};
  Rng rng(seed);
  rng.fill_uniform(in.x, -1, 1);
  rng.fill_uniform(in.w, -1, 1);
  rng.fill_uniform(in.b, -1, 1);
  return in;
}

// Every output's reference, NCHW [N,K,P,Q] (computed once, compared at every thread count).
std::vector<RefValue> reference(const Inputs& in, const ref::Conv2dShape& s) {
  std::vector<RefValue> r;
  r.reserve(static_cast<size_t>(s.output_size()));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P(); ++p)
        for (int64_t q = 0; q < s.Q(); ++q)
          r.push_back(ref::conv2d_at(in.x.data(), in.w.data(), in.b.data(), s, n, k, p, q));
  return r;
}

double max_rel_error(const std::vector<float>& y, const std::vector<RefValue>& ref) {
  ErrorMeter m;
  for (size_t i = 0; i < y.size(); ++i) m.add(y[i], ref[i]);
  return m.finite() ? m.max_err() : 1e30;
}

std::string describe(const ref::Conv2dShape& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_H" + std::to_string(s.H) + "_W" +
         std::to_string(s.W) + "_K" + std::to_string(s.K) + "_R" + std::to_string(s.R) + "_S" + std::to_string(s.S) +
         "_st" + std::to_string(s.stride) + "_pad" + std::to_string(s.pad) + "_g" + std::to_string(s.groups);
}

class Conv2dImpls : public ::testing::TestWithParam<ref::Conv2dShape> {};

// Every impl at each of kTestThreadCounts (made at that count: the work split is fixed then).
TEST_P(Conv2dImpls, MatchReference) {
  const ref::Conv2dShape s = GetParam();
  ASSERT_TRUE(s.valid()) << describe(s);
  Inputs in = make_inputs(s, static_cast<uint64_t>(s.N * 7919 + s.C * 104729 + s.H * 31 + s.K * 1000003 + s.R));
  const std::vector<RefValue> ref = reference(in, s);
  Inputs again = in;  // state kept across calls (packed weights, staging, column buffer) on new inputs
  Rng(99).fill_uniform(again.x, -1, 1);
  const std::vector<RefValue> ref_again = reference(again, s);
  std::vector<float> y(s.output_size());
  auto expect_right = [&](const std::vector<RefValue>& want, const std::string& what, auto&& run) {
    std::fill(y.begin(), y.end(), std::nanf(""));
    run();
    EXPECT_LE(max_rel_error(y, want), 1e-5) << what;
  };

  const cpu::Conv2dShape ks = kernel_shape(s);
  at_each_thread_count([&](int) {
    cpu::Im2colConv2d im2col(ks);
    expect_right(ref, "im2col", [&] { im2col.run(in.x.data(), in.w.data(), in.b.data(), y.data()); });
    for (auto layout : {cpu::ActivationLayout::primitive_choice, cpu::ActivationLayout::caller_nchw}) {
      cpu::OnednnConv2d dnn(in.w.data(), in.b.data(), ks, layout);
      const std::string what = "onednn " + dnn.impl_info() + " reorder=" + dnn.reorders();
      expect_right(ref, what, [&] { dnn.run(in.x.data(), y.data()); });
      expect_right(ref_again, what + ", second call", [&] { dnn.run(again.x.data(), y.data()); });
    }
    if (cpu::is_depthwise(ks))
      expect_right(ref, "depthwise",
                   [&] { cpu::conv2d_depthwise(in.x.data(), in.w.data(), in.b.data(), y.data(), ks); });
    expect_right(ref_again, "im2col, second call",
                 [&] { im2col.run(again.x.data(), again.w.data(), again.b.data(), y.data()); });
  });
}

std::vector<ref::Conv2dShape> conv_shapes() {
  // {N, C, H, W, K, R, S, stride, pad, groups}
  std::vector<ref::Conv2dShape> v = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 1},       // smallest
      {1, 3, 7, 5, 4, 3, 3, 2, 1, 1},       // odd sizes, stride 2
      {2, 8, 9, 9, 8, 3, 3, 1, 1, 8},       // depthwise
      {3, 16, 13, 11, 16, 3, 3, 2, 1, 16},  // depthwise, stride 2, odd
      {1, 5, 6, 6, 5, 5, 5, 1, 2, 5},       // depthwise 5x5
      {2, 4, 7, 56, 4, 3, 3, 1, 1, 4},      // depthwise: 16- and 8-column tiles, odd row count
      {1, 3, 4, 29, 3, 3, 3, 1, 1, 3},      // depthwise: 16 + 8 + scalar column tail
      {2, 12, 10, 10, 6, 1, 1, 1, 0, 1},    // pointwise (im2col skipped)
      {2, 12, 10, 10, 6, 1, 1, 1, 0, 3},    // grouped pointwise
      {1, 6, 9, 9, 12, 1, 1, 2, 0, 1},      // 1x1 with stride: im2col not skipped
      {2, 4, 2, 2, 3, 5, 5, 1, 2, 1},       // kernel larger than the input, padding
      {1, 2, 3, 3, 2, 5, 5, 2, 3, 2},       // kernel larger, pad > kernel/2, groups
      {1, 8, 11, 13, 12, 3, 3, 1, 1, 4},    // groups with Kg > 1 and Cg > 1
      {1, 3, 32, 32, 16, 3, 3, 2, 1, 1},    // stem-like
      {4, 16, 14, 14, 32, 3, 3, 1, 1, 1},   // resnet-like, batch > 1
      {1, 4, 8, 8, 8, 3, 3, 1, 1, 4},       // groups == C but K = 2C: not depthwise
      {1, 3, 5, 7, 2, 2, 3, 3, 0, 1},       // rectangular kernel, stride 3, no padding
  };
  Rng rng(2024);
  auto pick = [&rng](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng.below(hi - lo + 1)); };
  while (v.size() < 40) {
    ref::Conv2dShape s{};
    s.groups = pick(1, 3) == 1 ? 1 : pick(1, 6);
    const bool dw = pick(0, 3) == 0;
    s.C = s.groups * pick(1, 4);
    if (dw) s.groups = s.C;
    s.K = dw ? s.C : s.groups * pick(1, 4);
    s.N = pick(1, 4);
    s.H = pick(1, 20);
    s.W = pick(1, 20);
    s.R = pick(1, 5);
    s.S = pick(1, 5);
    s.stride = pick(1, 3);
    s.pad = pick(0, 3);
    if (s.valid()) v.push_back(s);
  }
  return v;
}

std::string shape_name(const ::testing::TestParamInfo<ref::Conv2dShape>& p) {
  return std::to_string(p.index) + "_" + describe(p.param);
}

INSTANTIATE_TEST_SUITE_P(Randomised, Conv2dImpls, ::testing::ValuesIn(conv_shapes()), shape_name);

TEST(Conv2dDepthwise, RejectsNonDepthwiseShapes) {
  const ref::Conv2dShape s{1, 4, 4, 4, 8, 3, 3, 1, 1, 4};
  std::vector<float> x(s.input_size()), w(s.weight_size()), b(s.K), y(s.output_size());
  EXPECT_THROW(cpu::conv2d_depthwise(x.data(), w.data(), b.data(), y.data(), kernel_shape(s)), std::invalid_argument);
}

// The registered cases: the shapes of docs/ops.md, impls only where they apply, and each
// impl validating on the case's own inputs through the harness path (batch 1).
TEST(Conv2dCases, RegisteredShapesAndImpls) {
  int seen = 0;
  for (const auto& c : registry().cases()) {
    if (c->op() != "conv2d") continue;
    ++seen;
    auto prob = c->make_problem(1, 42);
    auto& p = static_cast<Conv2dProblem&>(*prob);
    const auto impls = own_impl_names(*c, Placement::host);
    const bool dw = std::find(impls.begin(), impls.end(), "depthwise") != impls.end();
    EXPECT_EQ(dw, c->name() == "mbv2_depthwise");
    EXPECT_EQ(c->plain_host_impl().name, "im2col");
    const std::map<std::string, std::string> best = {{"resnet_3x3", "onednn"},
                                                     {"mbv2_depthwise", "depthwise"},
                                                     {"mbv2_pointwise", "onednn_nchw"},
                                                     {"mbv2_stem", "onednn_nchw"}};
    EXPECT_EQ(c->best_host_impl(1).name, best.at(c->name()));
    if (c->name() == "mbv2_stem") {
      EXPECT_EQ(p.shape.P(), 112);
      EXPECT_DOUBLE_EQ(c->flops(2), 2.0 * 2 * 32 * 112 * 112 * 3 * 9);
      EXPECT_DOUBLE_EQ(c->bytes(2), 4.0 * (2 * 3 * 224 * 224 + 32 * 3 * 9 + 32 + 2 * 32 * 112 * 112));
    }
    if (c->name() == "mbv2_depthwise") {
      EXPECT_DOUBLE_EQ(c->flops(1), 2.0 * 144 * 56 * 56 * 9);
    }
    if (!dw) {
      EXPECT_THROW(make_cpu_instance(*c, "depthwise", p), BadInput);
    }
    EXPECT_THROW(make_cpu_instance(*c, "nonsense", p), BadInput);
    for (const auto& impl : impls) {
      auto inst = make_cpu_instance(*c, impl, p);
      p.poison_outputs();
      inst->run();
      const Validation v = c->validate(p, Precision::fp32);
      EXPECT_TRUE(v.ok()) << c->id() << " " << impl << " max_err=" << v.max_err;
      EXPECT_EQ(v.check, "full") << c->id() << ": one image is checked in full";
    }
    // A wrong output is caught: flip one sampled element.
    const Validation good = c->validate(p, Precision::fp32);
    ASSERT_TRUE(good.ok());
    p.y[0] += 1.0f;
    EXPECT_FALSE(c->validate(p, Precision::fp32).ok()) << c->id();
  }
  EXPECT_EQ(seen, 4);
}

// A sampled batch is backed by a reduced run of the same channels, kernel, stride,
// padding and groups with at least two images (first and last differ), checked in full.
TEST(Conv2dCases, ReducedRunsKeepTheStructureAndAreCheckedInFull) {
  for (const auto& c : registry().cases()) {
    if (c->op() != "conv2d") continue;
    const int64_t batch = c->batches(Profile::quick).back();
    const auto whole = c->make_problem(1, 42);
    const auto& s = static_cast<Conv2dProblem&>(*whole).shape;
    std::optional<ReducedRun> reduced = c->reduced_run(batch, 42);
    ASSERT_TRUE(reduced) << c->id() << " N=" << batch;
    auto& p = static_cast<Conv2dProblem&>(*reduced->problem);
    const auto& r = p.shape;
    EXPECT_GE(r.N, 2) << c->id();
    EXPECT_LT(r.N * r.H * r.W, batch * s.H * s.W) << c->id();
    EXPECT_EQ(std::tie(r.C, r.K, r.R, r.S, r.stride, r.pad, r.groups),
              std::tie(s.C, s.K, s.R, s.S, s.stride, s.pad, s.groups))
        << c->id();
    make_cpu_instance(*c, c->best_host_impl(r.N).name, p)->run();
    const Validation v = c->validate(p, Precision::fp32);
    EXPECT_EQ(v.check, "full") << c->id() << " reduced " << reduced->size;
    EXPECT_TRUE(v.ok()) << c->id() << " reduced " << reduced->size;
    std::printf("[conv2d reduced run] %s N=%lld: reduced=full@%s\n", c->id().c_str(), static_cast<long long>(batch),
                reduced->size.c_str());
  }
}

}  // namespace
}  // namespace mb
