// knn: the reference against hand-computed values, then the grid impl against
// the reference on random, clustered and degenerate clouds, then the case struct.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "cpu_ref/knn.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/knn.hpp"
#include "ops/knn/knn.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

std::vector<double> reference(const std::vector<float>& pts) {
  std::vector<double> out(pts.size() / 3);
  ref::knn(pts.data(), static_cast<int64_t>(out.size()), out.data());
  return out;
}

std::vector<float> grid(const std::vector<float>& pts) {
  std::vector<float> out(pts.size() / 3, std::nanf(""));
  cpu::KnnGrid g;
  g.run(pts.data(), static_cast<int64_t>(out.size()), out.data());
  return out;
}

// Per-point relative error of docs/ops.md (absolute where the reference is 0); 1e30 for NaN/Inf.
double max_rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  ErrorMeter m;
  for (size_t i = 0; i < got.size(); ++i) m.add(got[i], RefValue{want[i], want[i]});
  return m.finite() ? m.max_err() : 1e30;
}

TEST(KnnRef, FourPointsByHand) {
  // Squared distances: 0-1: 1, 0-2: 4, 0-3: 9, 1-2: 5, 1-3: 10, 2-3: 13.
  const std::vector<float> p = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  const std::vector<double> r = reference(p);
  EXPECT_DOUBLE_EQ(r[0], 14.0 / 3);
  EXPECT_DOUBLE_EQ(r[1], 16.0 / 3);
  EXPECT_DOUBLE_EQ(r[2], 22.0 / 3);
  EXPECT_DOUBLE_EQ(r[3], 32.0 / 3);
  EXPECT_DOUBLE_EQ(ref::knn_at(p.data(), 4, 2).magnitude, 22.0 / 3);
}

TEST(KnnRef, DuplicatesContributeZeroButSelfDoesNot) {
  // A and B coincide: each is the other's nearest at distance 0; self is never counted.
  const std::vector<float> p = {0, 0, 0, 0, 0, 0, 1, 0, 0, 3, 0, 0, 0, 1, 0};
  const std::vector<double> r = reference(p);
  EXPECT_DOUBLE_EQ(r[0], 2.0 / 3);  // 0, 1, 1
  EXPECT_DOUBLE_EQ(r[1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r[2], 4.0 / 3);   // 1, 1, 2
  EXPECT_DOUBLE_EQ(r[3], 22.0 / 3);  // 4, 9, 9
  EXPECT_DOUBLE_EQ(r[4], 4.0 / 3);   // 1, 1, 2
}

TEST(KnnRef, AllIdenticalIsZero) {
  const std::vector<float> p(3 * 6, 0.25f);
  for (double v : reference(p)) EXPECT_EQ(v, 0.0);
}

TEST(KnnRef, FewerThanFourPointsRejected) {
  const std::vector<float> p = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  EXPECT_THROW(ref::knn_at(p.data(), 3, 0), std::invalid_argument);
}

TEST(KnnGrid, FourPointsByHand) {
  const std::vector<float> p = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  const std::vector<float> g = grid(p);
  EXPECT_FLOAT_EQ(g[0], 14.0f / 3);
  EXPECT_FLOAT_EQ(g[1], 16.0f / 3);
  EXPECT_FLOAT_EQ(g[2], 22.0f / 3);
  EXPECT_FLOAT_EQ(g[3], 32.0f / 3);
}

TEST(KnnGrid, DuplicatesByHand) {
  const std::vector<float> p = {0, 0, 0, 0, 0, 0, 1, 0, 0, 3, 0, 0, 0, 1, 0};
  const std::vector<float> g = grid(p);
  EXPECT_FLOAT_EQ(g[0], 2.0f / 3);
  EXPECT_FLOAT_EQ(g[1], 2.0f / 3);
  EXPECT_FLOAT_EQ(g[2], 4.0f / 3);
  EXPECT_FLOAT_EQ(g[3], 22.0f / 3);
  EXPECT_FLOAT_EQ(g[4], 4.0f / 3);
}

// 41 points in few cells, so one block spans several 8-wide chunks: the nearest
// neighbours of a query sit in different lanes and chunks of the block scan.
TEST(KnnGrid, LineWithDuplicateByHand) {
  std::vector<float> p;
  for (int i = 0; i < 40; ++i) p.insert(p.end(), {static_cast<float>(i), 0, 0});
  p.insert(p.end(), {20, 0, 0});  // index 40 duplicates index 20
  const std::vector<float> g = grid(p);
  ASSERT_EQ(g.size(), 41u);
  EXPECT_FLOAT_EQ(g[0], (1 + 4 + 9) / 3.0f);
  EXPECT_FLOAT_EQ(g[39], (1 + 4 + 9) / 3.0f);
  EXPECT_FLOAT_EQ(g[1], (1 + 1 + 4) / 3.0f);
  EXPECT_FLOAT_EQ(g[10], (1 + 1 + 4) / 3.0f);
  EXPECT_FLOAT_EQ(g[20], (0 + 1 + 1) / 3.0f);
  EXPECT_FLOAT_EQ(g[40], (0 + 1 + 1) / 3.0f);
  EXPECT_FLOAT_EQ(g[19], (1 + 1 + 1) / 3.0f);
  EXPECT_FLOAT_EQ(g[21], (1 + 1 + 1) / 3.0f);
}

TEST(KnnGrid, FewerThanFourPointsRejected) {
  const std::vector<float> p = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  float out[3];
  cpu::KnnGrid g;
  EXPECT_THROW(g.run(p.data(), 3, out), std::invalid_argument);
}

struct CloudCase {
  const char* name;
  std::vector<float> points;
};

// The grid at each of kTestThreadCounts against one reference.
void expect_matches_reference(const std::vector<float>& pts, const std::string& what) {
  const std::vector<double> want = reference(pts);
  at_each_thread_count(
      [&](int) { EXPECT_LE(max_rel_error(grid(pts), want), 1e-5) << what << " n=" << pts.size() / 3; });
}

TEST(KnnGrid, UniformManySizes) {
  for (int64_t n : {4, 5, 6, 7, 10, 17, 33, 100, 257, 1000, 3001}) {
    const std::vector<float> p = knn_points(KnnCloud::uniform, n, 1234 + static_cast<uint64_t>(n));
    expect_matches_reference(p, "uniform");
  }
}

TEST(KnnGrid, ClusteredManySizes) {
  for (int64_t n : {4, 9, 50, 200, 1000, 5000}) {
    const std::vector<float> p = knn_points(KnnCloud::clustered, n, 99 + static_cast<uint64_t>(n));
    expect_matches_reference(p, "clustered");
  }
}

TEST(KnnGrid, RandomBoxesScalesAndOffsets) {
  // Anisotropic boxes, tiny and large scales, far-off centres (cancellation in differences).
  Rng rng(5);
  for (int trial = 0; trial < 12; ++trial) {
    const auto n = static_cast<int64_t>(4 + rng.below(1500));
    const float scale = std::pow(10.0f, rng.uniform(-3.0f, 3.0f));
    const float off = rng.uniform(-1.0f, 1.0f) * scale * 50.0f;
    const float sx = rng.uniform(0.01f, 1.0f), sy = rng.uniform(0.01f, 1.0f), sz = rng.uniform(0.01f, 1.0f);
    std::vector<float> p(3 * n);
    for (int64_t i = 0; i < n; ++i) {
      p[3 * i] = off + scale * sx * rng.uniform(-1, 1);
      p[3 * i + 1] = off + scale * sy * rng.uniform(-1, 1);
      p[3 * i + 2] = off + scale * sz * rng.uniform(-1, 1);
    }
    expect_matches_reference(p, "random box trial " + std::to_string(trial));
  }
}

TEST(KnnGrid, DegenerateClouds) {
  Rng rng(77);
  const int64_t n = 1200;
  std::vector<CloudCase> cases;
  {
    std::vector<float> p(3 * n, 0.5f);  // all identical
    cases.push_back({"identical", p});
  }
  {
    std::vector<float> p(3 * n, 0.0f);  // on the x axis
    for (int64_t i = 0; i < n; ++i) p[3 * i] = rng.uniform(-1, 1);
    cases.push_back({"axis line", p});
  }
  {
    std::vector<float> p(3 * n);  // on the diagonal: the bounding box is a full cube
    for (int64_t i = 0; i < n; ++i) p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = rng.uniform(-1, 1);
    cases.push_back({"diagonal line", p});
  }
  {
    std::vector<float> p(3 * n, 0.3f);  // z = 0.3 plane
    for (int64_t i = 0; i < n; ++i) p[3 * i] = rng.uniform(-1, 1), p[3 * i + 1] = rng.uniform(-1, 1);
    cases.push_back({"axis plane", p});
  }
  {
    std::vector<float> p(3 * n);  // tilted plane x + y + z = 0
    for (int64_t i = 0; i < n; ++i) {
      const float a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
      p[3 * i] = a, p[3 * i + 1] = b, p[3 * i + 2] = -a - b;
    }
    cases.push_back({"tilted plane", p});
  }
  {
    std::vector<float> p(3 * n);  // integer lattice: exact ties, points on cell boundaries
    for (int64_t i = 0; i < n; ++i)
      p[3 * i] = static_cast<float>(i % 11), p[3 * i + 1] = static_cast<float>((i / 11) % 11),
            p[3 * i + 2] = static_cast<float>(i / 121);
    cases.push_back({"lattice", p});
  }
  {
    std::vector<float> p(3 * n);  // few distinct points, each repeated many times, plus one far outlier
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<float>(i % 5);
      p[3 * i] = k, p[3 * i + 1] = -k, p[3 * i + 2] = 2 * k;
    }
    p[0] = 100.0f;
    cases.push_back({"repeated + outlier", p});
  }
  {
    std::vector<float> p(3 * n);  // two tight clusters far apart, with empty space between
    for (int64_t i = 0; i < n; ++i) {
      const float c = i % 2 ? 10.0f : -10.0f;
      for (int a = 0; a < 3; ++a) p[3 * i + a] = c + 1e-3f * rng.uniform(-1, 1);
    }
    cases.push_back({"two clusters", p});
  }
  for (const CloudCase& c : cases) expect_matches_reference(c.points, c.name);
}

TEST(KnnGrid, ReusedAcrossSizes) {
  cpu::KnnGrid g;
  for (int64_t n : {2000, 10, 700}) {
    const std::vector<float> p = knn_points(KnnCloud::clustered, n, 3);
    std::vector<float> out(n, std::nanf(""));
    g.run(p.data(), n, out.data());
    EXPECT_LE(max_rel_error(out, reference(p)), 1e-5) << "n=" << n;
  }
}

TEST(KnnGrid, LargeClusteredSampled) {
  const int64_t n = 200'000;
  const std::vector<float> p = knn_points(KnnCloud::clustered, n, 42);
  const std::vector<float> g = grid(p);
  ErrorMeter m;
  const CheckSet sample(static_cast<size_t>(n), kFullCheckBudgetNs);  // priced above the budget: sampled
  for (size_t k = 0; k < sample.size(); ++k) m.add(g[sample[k]], ref::knn_at(p.data(), n, sample[k]));
  EXPECT_TRUE(m.finite());
  EXPECT_LE(m.max_err(), 1e-5);
}

const OpCase& knn_case(const std::string& name) { return registered_case("knn/" + name); }

TEST(KnnCase, RegistersBothCloudsWithBatchAxisN) {
  for (const char* name : {"uniform", "clustered"}) {
    const OpCase& c = knn_case(name);
    EXPECT_EQ(c.batches(Profile::quick), (std::vector<int64_t>{10'000, 100'000}));
    EXPECT_EQ(c.batches(Profile::full).front(), 10'000);
    EXPECT_EQ(c.batches(Profile::full).back(), 2'000'000);
    EXPECT_EQ(c.bytes(1000), 16000.0);
    EXPECT_EQ(own_impl_names(c, Placement::host), std::vector<std::string>{"grid"});
    EXPECT_EQ(own_impl_names(c, Placement::device), (std::vector<std::string>{"exact", "chunked"}));
  }
}

TEST(KnnCase, FewerThanFourPointsIsBadInput) {
  const OpCase& c = knn_case("uniform");
  EXPECT_THROW(c.check_batch(3), BadInput);
  EXPECT_THROW(c.check_batch(0), BadInput);
  EXPECT_NO_THROW(c.check_batch(4));
}

TEST(KnnCase, GridValidatesAndCorruptionIsCaught) {
  for (const char* name : {"uniform", "clustered"}) {
    const OpCase& c = knn_case(name);
    auto prob = c.make_problem(5000, 7);
    prob->poison_outputs();
    auto inst = make_cpu_instance(c, "grid", *prob);
    inst->run();
    Validation v = c.validate(*prob, Precision::fp32);
    EXPECT_TRUE(v.ok()) << name << " max_err=" << v.max_err;
    EXPECT_EQ(v.check, "full");
    auto& p = static_cast<KnnProblem&>(*prob);
    p.out[1234] *= 1.00001f;  // 1e-5 relative: must fail the 1e-6 tolerance
    EXPECT_FALSE(c.validate(*prob, Precision::fp32).ok()) << name;
  }
}

// Both clouds hold exact duplicates, so self-exclusion by index is checked in every run;
// the clustered one has groups of four, whose references are exactly 0.
TEST(KnnCase, CloudsHoldExactDuplicates) {
  for (KnnCloud cloud : {KnnCloud::uniform, KnnCloud::clustered}) {
    const int64_t n = 20'000;
    const std::vector<float> p = knn_points(cloud, n, 42);
    int64_t copies = 0;
    for (int64_t i = 1; i < n; ++i) copies += std::equal(&p[3 * i], &p[3 * i + 3], &p[3 * (i - 1)]);
    const std::vector<float> out = grid(p);
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; ++i)
      if (out[i] == 0.0f) {
        ++zeros;
        EXPECT_EQ(ref::knn_at(p.data(), n, i).value, 0.0) << i;
      }
    const char* name = cloud == KnnCloud::uniform ? "uniform" : "clustered";
    std::printf("[knn duplicates] %s, %lld points: %lld copies, %lld zero references\n", name,
                static_cast<long long>(n), static_cast<long long>(copies), static_cast<long long>(zeros));
    EXPECT_GT(copies, 0) << name;
    if (cloud == KnnCloud::clustered) {
      EXPECT_GT(zeros, 0);
    }
  }
}

// A zero reference guards a result that must be exactly 0; it is checked against the
// smallest positive reference, not an absolute 1e-5 (larger than the median output of the
// clustered 2M cloud), which let a real distance pass where there is none.
TEST(KnnCase, ZeroReferenceIsCheckedAgainstTheSmallestOutput) {
  const OpCase& c = knn_case("clustered");
  auto prob = c.make_problem(10'000, 42);
  make_cpu_instance(c, "grid", *prob)->run();
  auto& p = static_cast<KnnProblem&>(*prob);
  ASSERT_TRUE(c.validate(p, Precision::fp32).ok());
  const auto zero = std::find(p.out.begin(), p.out.end(), 0.0f);
  ASSERT_NE(zero, p.out.end()) << "the cloud has a point with three duplicates";
  float smallest = INFINITY;
  for (float v : p.out)
    if (v > 0.0f) smallest = std::min(smallest, v);
  // Not 0 where three points coincide: wrong however small (the fp32 distance of equal
  // points is exactly 0), even a thousandth of the cloud's smallest output, far below the
  // absolute error an unscaled zero reference would allow.
  *zero = smallest / 1000;
  EXPECT_FALSE(c.validate(p, Precision::fp32).ok());
}

TEST(KnnCase, PointsAreDeterministicAndInTheBox) {
  const auto a = knn_points(KnnCloud::clustered, 3000, 11), b = knn_points(KnnCloud::clustered, 3000, 11);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, knn_points(KnnCloud::clustered, 3000, 12));
  for (float v : a) EXPECT_TRUE(v >= -1.3f && v <= 1.3f);
  for (float v : knn_points(KnnCloud::uniform, 3000, 11)) EXPECT_TRUE(v >= -1.3f && v <= 1.3f);
}

}  // namespace
}  // namespace mb
