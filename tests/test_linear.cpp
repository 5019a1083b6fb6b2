// linear: the reference against hand-computed values, then every CPU impl
// against the reference over randomised shapes and edge cases.
#include <gtest/gtest.h>

#include "cpu_ref/linear.hpp"
#include "harness/rng.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/linear.hpp"
#include "tests/support/thread_counts.hpp"

namespace mb {
namespace {

TEST(LinearRef, TwoByTwoByHand) {
  // X = [[1,2],[3,4]], W = [[5,6],[7,8]], b = [0.5,-1]:
  // Y = X W^T + b = [[1*5+2*6+.5, 1*7+2*8-1], [3*5+4*6+.5, 3*7+4*8-1]] = [[17.5,22],[39.5,52]]
  const float x[] = {1, 2, 3, 4}, w[] = {5, 6, 7, 8}, b[] = {0.5f, -1};
  double y[4];
  ref::linear(x, w, b, {2, 2, 2}, y);
  EXPECT_DOUBLE_EQ(y[0], 17.5);
  EXPECT_DOUBLE_EQ(y[1], 22.0);
  EXPECT_DOUBLE_EQ(y[2], 39.5);
  EXPECT_DOUBLE_EQ(y[3], 52.0);
  // Magnitude of output (1,0): |3*5| + |4*6| + |0.5|
  EXPECT_DOUBLE_EQ(ref::linear_at(x, w, b, {2, 2, 2}, 1, 0).magnitude, 39.5);
}

TEST(LinearRef, NonSquareShapeIndexesRowMajor) {
  // B=1, in=3, out=2: W rows are output features.
  const float x[] = {1, -1, 2}, w[] = {1, 0, 0, 0, 0, 1}, b[] = {0, 10};
  double y[2];
  ref::linear(x, w, b, {1, 3, 2}, y);
  EXPECT_DOUBLE_EQ(y[0], 1.0);
  EXPECT_DOUBLE_EQ(y[1], 12.0);
}

struct Shape {
  int64_t batch, in, out;
};

double max_rel_error(const std::vector<float>& y, const std::vector<float>& x, const std::vector<float>& w,
                     const std::vector<float>& b, const ref::LinearShape& s) {
  ErrorMeter m;
  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t o = 0; o < s.out; ++o) m.add(y[i * s.out + o], ref::linear_at(x.data(), w.data(), b.data(), s, i, o));
  return m.finite() ? m.max_err() : 1e30;
}

class LinearImpls : public ::testing::TestWithParam<Shape> {};

// Both impls at each of kTestThreadCounts (oneDNN's primitive is made at that count).
TEST_P(LinearImpls, MatchReference) {
  const Shape sh = GetParam();
  const ref::LinearShape s{sh.batch, sh.in, sh.out};
  Rng rng(static_cast<uint64_t>(sh.batch * 1000003 + sh.in * 1009 + sh.out));
  std::vector<float> x(s.batch * s.in), w(s.out * s.in), b(s.out), y(s.batch * s.out);
  rng.fill_uniform(x, -1, 1);
  rng.fill_uniform(w, -1, 1);
  rng.fill_uniform(b, -1, 1);
  std::vector<float> x2(x.size());  // new inputs for a second call
  rng.fill_uniform(x2, -1, 1);

  at_each_thread_count([&](int) {
    std::fill(y.begin(), y.end(), std::nanf(""));
    cpu::linear_openblas(x.data(), w.data(), b.data(), y.data(), s.batch, s.in, s.out);
    EXPECT_LE(max_rel_error(y, x, w, b, s), 1e-5) << "openblas";

    std::fill(y.begin(), y.end(), std::nanf(""));
    cpu::OnednnLinear lin(w.data(), b.data(), s.batch, s.in, s.out);
    lin.run(x.data(), y.data());
    EXPECT_LE(max_rel_error(y, x, w, b, s), 1e-5) << "onednn";
    // Packed weights are reused: a second call on new inputs is still right.
    std::fill(y.begin(), y.end(), std::nanf(""));
    lin.run(x2.data(), y.data());
    EXPECT_LE(max_rel_error(y, x2, w, b, s), 1e-5) << "onednn, second call";
  });
}

std::vector<Shape> linear_shapes() {
  std::vector<Shape> v = {{1, 1, 1}, {1, 1024, 1024}, {1, 7, 13}, {2, 3, 5}, {8, 1280, 1000}, {17, 33, 65}};
  Rng rng(7);
  for (int i = 0; i < 12; ++i)
    v.push_back({1 + static_cast<int64_t>(rng.below(70)), 1 + static_cast<int64_t>(rng.below(300)),
                 1 + static_cast<int64_t>(rng.below(300))});
  return v;
}

std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  return "b" + std::to_string(p.param.batch) + "_in" + std::to_string(p.param.in) + "_out" +
         std::to_string(p.param.out);
}

INSTANTIATE_TEST_SUITE_P(Randomised, LinearImpls, ::testing::ValuesIn(linear_shapes()), shape_name);

}  // namespace
}  // namespace mb
