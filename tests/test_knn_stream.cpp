// knn's memory-capped GPU variant without a GPU: the real driver
// (ops/knn/stream.cpp) on the test device, with the kernels replaced by
// host loops over the same per-query steps the CUDA kernels run
// (kernels/common/knn_search.hpp). Results are compared with the reference.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "cpu_ref/knn.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "ops/knn/knn.hpp"
#include "ops/knn/stream.hpp"
#include "tests/support/knn_stream_host.hpp"
#include "tests/support/test_device.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

struct StreamRun {
  std::vector<float> out;
  KnnStreamPlan plan;
  KnnStreamStats stats;
  size_t peak_device_bytes;
};

// Runs the streamed search twice (the second run reuses every buffer) on a
// test device that refuses to allocate beyond the budget.
StreamRun stream(const std::vector<float>& pts, size_t budget) {
  const int64_t n = static_cast<int64_t>(pts.size() / 3);
  TestDevice dev;
  dev.set_memory_limit(budget);
  HostKnnStreamKernels kernels(dev);
  KnnStreamer s(dev, kernels, n, budget);
  StreamRun r{std::vector<float>(n, std::nanf("")), s.plan(), {}, dev.live_bytes()};
  s.run(pts.data(), r.out.data());
  std::vector<float> again(n, std::nanf(""));
  s.run(pts.data(), again.data());
  EXPECT_EQ(0, std::memcmp(again.data(), r.out.data(), again.size() * sizeof(float)));
  r.stats = s.last_stats();
  EXPECT_EQ(dev.pending_async_copies(), 0u);
  return r;
}

double max_rel_error(const std::vector<float>& pts, const std::vector<float>& got) {
  const int64_t n = static_cast<int64_t>(got.size());
  ErrorMeter m;
  for (int64_t i = 0; i < n; ++i) m.add(got[i], ref::knn_at(pts.data(), n, i));
  return m.finite() ? m.max_err() : 1e30;
}

// Budget for a chunk of `chunk` boxes and a tile of `tile` boxes.
size_t budget_for(int64_t n, int64_t chunk, int64_t tile) { return knn_stream_bytes(n, chunk, tile); }

TEST(KnnStreamPlan, WholeCloudIsOneChunkWhenItFits) {
  const KnnStreamPlan p = plan_knn_stream(10'000, size_t{1} << 30);
  EXPECT_EQ(p.boxes, 10);
  EXPECT_EQ(p.chunk_boxes, 10);
  EXPECT_EQ(p.tile_boxes, 0);
  EXPECT_EQ(p.device_bytes, knn_stream_bytes(10'000, 10, 0));
}

TEST(KnnStreamPlan, SplitsQueriesAndTileUnderTheBudget) {
  const int64_t n = 2'000'000;
  for (size_t budget : {size_t{200} << 10, size_t{1} << 20, size_t{16} << 20, size_t{1} << 30}) {
    const KnnStreamPlan p = plan_knn_stream(n, budget);
    EXPECT_LE(p.device_bytes, budget) << budget;
    EXPECT_GE(p.chunk_boxes, 1);
    EXPECT_LE(p.chunk_boxes, kKnnMaxChunkBoxes);
    EXPECT_GE(p.tile_boxes, 1);
    EXPECT_LT(p.tile_boxes, p.boxes);
  }
  // More budget, bigger chunks.
  EXPECT_LT(plan_knn_stream(n, size_t{1} << 20).chunk_boxes, plan_knn_stream(n, size_t{16} << 20).chunk_boxes);
}

TEST(KnnStreamPlan, BelowTheMinimumIsOutOfMemoryWithTheNumbers) {
  const int64_t n = 100'000;
  const size_t least = knn_stream_bytes(n, 1, 1);
  EXPECT_NO_THROW(plan_knn_stream(n, least));
  try {
    plan_knn_stream(n, least - 1);
    FAIL() << "no out_of_memory";
  } catch (const DeviceFailure& e) {
    EXPECT_EQ(e.error_class, ErrorClass::out_of_memory);
    EXPECT_NE(std::string(e.what()).find("at least " + std::to_string(least)), std::string::npos) << e.what();
  }
  // A one-box cloud needs no tile.
  EXPECT_EQ(plan_knn_stream(1000, knn_stream_bytes(1000, 1, 0)).tile_boxes, 0);
  EXPECT_THROW(plan_knn_stream(1000, knn_stream_bytes(1000, 1, 0) - 1), DeviceFailure);
  EXPECT_THROW(plan_knn_stream(3, size_t{1} << 30), BadInput);
}

TEST(KnnMortonOrder, SortsCellsOfALatticeByHand) {
  // n = 8: 2 cells per axis, code = x | y << 1 | z << 2.
  std::vector<float> p;
  for (int i = 7; i >= 0; --i) p.insert(p.end(), {float(i & 1), float((i >> 2) & 1), float((i >> 1) & 1)});
  std::vector<uint32_t> codes, order;
  std::vector<KnnPoint> sorted(8);
  knn_morton_sort(p.data(), 8, codes, order, sorted.data());
  // Point k (k = 7 - i) has x = i&1, y = (i>>2)&1, z = (i>>1)&1.
  for (int k = 0; k < 8; ++k) {
    const int i = 7 - k;
    EXPECT_EQ(codes[k], uint32_t((i & 1) | (((i >> 2) & 1) << 1) | (((i >> 1) & 1) << 2))) << k;
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{7, 6, 3, 2, 5, 4, 1, 0}));
  EXPECT_EQ(sorted[2].x, 0.0f);  // point 3 (i = 4): x = 0, y = 1, z = 0
  EXPECT_EQ(sorted[2].y, 1.0f);
  EXPECT_EQ(sorted[2].z, 0.0f);
}

TEST(KnnMortonOrder, StablePermutationWhateverTheThreadCount) {
  for (KnnCloud cloud : {KnnCloud::uniform, KnnCloud::clustered}) {
    const int64_t n = 50'000;
    const std::vector<float> p = knn_points(cloud, n, 3);
    std::vector<uint32_t> codes, order;
    std::vector<KnnPoint> sorted(n);
    knn_morton_sort(p.data(), n, codes, order, sorted.data());
    std::vector<uint32_t> seen = order;
    std::sort(seen.begin(), seen.end());
    std::vector<uint32_t> iota(seen.size());
    std::iota(iota.begin(), iota.end(), 0u);
    EXPECT_EQ(seen, iota);
    for (size_t k = 1; k < order.size(); ++k) {
      ASSERT_LE(codes[order[k - 1]], codes[order[k]]) << k;
      if (codes[order[k - 1]] == codes[order[k]]) {
        ASSERT_LT(order[k - 1], order[k]) << k;  // stable
      }
    }
    for (size_t k = 0; k < order.size(); k += 997) ASSERT_EQ(sorted[k].y, p[3 * order[k] + 1]) << k;
    // Three threads split the input differently from the default; the order must not change.
    std::vector<uint32_t> codes3, order3;
    std::vector<KnnPoint> sorted3(n);
    const int before = omp_get_max_threads();
    omp_set_num_threads(3);
    knn_morton_sort(p.data(), n, codes3, order3, sorted3.data());
    omp_set_num_threads(before);
    EXPECT_EQ(order3, order);
  }
}

TEST(KnnStream, ExactWhileStreamingManyChunksAndPasses) {
  for (KnnCloud cloud : {KnnCloud::uniform, KnnCloud::clustered}) {
    const int64_t n = 12'345;  // 13 boxes, the last one partial
    const std::vector<float> pts = knn_points(cloud, n, 7);
    const size_t budget = budget_for(n, 2, 3);
    const StreamRun r = stream(pts, budget);
    ASSERT_GE(r.plan.chunk_boxes, 1);
    EXPECT_LE(r.plan.tile_boxes, 5);
    EXPECT_LE(r.peak_device_bytes, budget);
    EXPECT_EQ(r.stats.chunks, (13 + r.plan.chunk_boxes - 1) / r.plan.chunk_boxes);
    EXPECT_GT(r.stats.chunks, 2);
    EXPECT_GT(r.stats.passes, r.stats.chunks);  // the tile was refilled within a chunk
    EXPECT_GT(r.stats.streamed_boxes, 0);
    EXPECT_LE(max_rel_error(pts, r.out), 1e-5);
    // The same distances enter every top 3 whatever the chunking: bit-identical to one chunk.
    const StreamRun whole = stream(pts, size_t{1} << 30);
    EXPECT_EQ(whole.stats.chunks, 1);
    EXPECT_EQ(whole.stats.passes, 0);
    EXPECT_EQ(0, std::memcmp(whole.out.data(), r.out.data(), r.out.size() * sizeof(float)));
  }
}

TEST(KnnStream, CompletesInAFractionOfTheResidentFootprint) {
  // The resident "exact" variant needs ~44 bytes per point; give this one an eighth.
  const int64_t n = 16'000;
  const std::vector<float> pts = knn_points(KnnCloud::clustered, n, 11);
  const size_t budget = static_cast<size_t>(44 * n / 8);
  const StreamRun r = stream(pts, budget);
  EXPECT_LE(r.peak_device_bytes, budget);
  EXPECT_GT(r.stats.chunks, 1);
  EXPECT_LE(max_rel_error(pts, r.out), 1e-5);
}

TEST(KnnStream, DegenerateCloudsAtTheSmallestBudget) {
  std::vector<std::vector<float>> clouds;
  clouds.push_back({0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3});  // n = 4, one box
  clouds.push_back(std::vector<float>(3 * 2100, 0.5f));    // all identical: every result 0
  std::vector<float> line;                                 // flat in y and z, duplicates every 7th point
  for (int i = 0; i < 3000; ++i) line.insert(line.end(), {float(i % 7 == 0 ? i - 1 : i) * 0.01f, 0.25f, -1.0f});
  clouds.push_back(line);
  std::vector<float> two_boxes = knn_points(KnnCloud::uniform, 1025, 5);  // second box holds one point
  clouds.push_back(two_boxes);
  for (const std::vector<float>& pts : clouds) {
    const int64_t n = static_cast<int64_t>(pts.size() / 3);
    const size_t budget = n <= kKnnBoxPoints ? budget_for(n, 1, 0) : budget_for(n, 1, 1);
    const StreamRun r = stream(pts, budget);
    EXPECT_LE(max_rel_error(pts, r.out), 1e-5) << "n = " << n;
  }
}

// A sampled knn check is backed by a full check of a reduced cloud, made under a budget
// that sends the chunked variant through several chunks and refills its tile within a
// chunk; the budget holds only while the reduced run does.
TEST(KnnStream, ReducedRunStreamsThroughChunksAndTilePasses) {
  const std::optional<size_t> outside = knn_budget_from_env();
  for (const char* id : {"knn/uniform", "knn/clustered"}) {
    const OpCase& c = registered_case(id);
    EXPECT_FALSE(c.reduced_run(10'000, 42)) << "checked in full: nothing to back";
    {
      std::optional<ReducedRun> reduced = c.reduced_run(100'000, 42);
      ASSERT_TRUE(reduced);
      auto& p = static_cast<KnnProblem&>(*reduced->problem);
      ASSERT_TRUE(knn_budget_from_env());
      const StreamRun r = stream(p.points, *knn_budget_from_env());
      std::printf("[knn reduced run] %s: %lld points, %lld chunks, %lld tile passes\n", id, static_cast<long long>(p.n),
                  static_cast<long long>(r.stats.chunks), static_cast<long long>(r.stats.passes));
      EXPECT_GE(r.stats.chunks, 2) << id;
      EXPECT_GT(r.stats.passes, r.stats.chunks) << id << ": the tile was refilled within a chunk";
      std::copy(r.out.begin(), r.out.end(), p.out.begin());
      const Validation v = c.validate(p, Precision::fp32);
      std::printf("[tolerance] %s N=%lld streamed: max_err %.2e tolerance %.2e ratio %.3g\n", id,
                  static_cast<long long>(p.n), v.max_err, v.tolerance, v.max_err / v.tolerance);
      EXPECT_EQ(v.check, "full") << id;
      EXPECT_LE(v.max_err * 4, v.tolerance) << id << ": rounding only, 4x inside";
    }
    EXPECT_EQ(knn_budget_from_env(), outside);
  }
}

TEST(KnnStream, DeviceFailuresKeepTheirClass) {
  const int64_t n = 5000;
  const std::vector<float> pts = knn_points(KnnCloud::uniform, n, 1);
  std::vector<float> out(n);
  {
    TestDevice dev;
    HostKnnStreamKernels kernels(dev);
    dev.set_memory_limit(budget_for(n, 1, 1) - 1);  // the device has less than the budget says
    EXPECT_THROW(
        {
          try {
            KnnStreamer s(dev, kernels, n, budget_for(n, 1, 1));
          } catch (const DeviceFailure& e) {
            EXPECT_EQ(e.error_class, ErrorClass::out_of_memory);
            throw;
          }
        },
        DeviceFailure);
    EXPECT_EQ(dev.live_allocations(), 0u);
  }
  for (TestDevice::Call call : {TestDevice::Call::copy_async, TestDevice::Call::synchronize}) {
    TestDevice dev;
    HostKnnStreamKernels kernels(dev);
    KnnStreamer s(dev, kernels, n, budget_for(n, 1, 1));
    dev.fail_next(call, ErrorClass::launch_failure, 3);
    try {
      s.run(pts.data(), out.data());
      ADD_FAILURE() << "no failure from " << to_string(call);
    } catch (const DeviceFailure& e) {
      EXPECT_EQ(e.error_class, ErrorClass::launch_failure);
    }
  }
}

TEST(ParseByteSize, UnitsAndErrors) {
  EXPECT_EQ(parse_byte_size("1048576", "X"), 1048576u);
  EXPECT_EQ(parse_byte_size("64k", "X"), 65536u);
  EXPECT_EQ(parse_byte_size("256M", "X"), size_t{256} << 20);
  EXPECT_EQ(parse_byte_size("2G", "X"), size_t{2} << 30);
  for (const char* bad : {"", "k", "0", "-5", "12x", "1.5G", "64 k", "9999999999999999"}) {
    try {
      parse_byte_size(bad, "MODEBENCH_KNN_BUDGET");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const BadInput& e) {
      EXPECT_NE(std::string(e.what()).find("MODEBENCH_KNN_BUDGET"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace mb
