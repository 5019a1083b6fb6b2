// The hybrid data path driven through the real runner on the test device:
// results validated, which copies happen per call, pinned staging, and every
// error class ending as a status.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "tests/support/test_device.hpp"

namespace mb {
namespace {

const OpCase& find_case(const std::string& id) {
  for (const auto& c : registry().cases())
    if (c->id() == id) return *c;
  throw std::runtime_error(id + " not registered");
}
const OpCase& linear_case() { return find_case("linear/square_1024"); }

constexpr int64_t kBatch = 8;
constexpr size_t kX = 4 * kBatch * 1024, kW = 4 * 1024 * 1024, kB = 4 * 1024, kY = 4 * kBatch * 1024;

Entry hybrid(const std::string& impl) { return Entry{&linear_case(), Mode::hybrid, impl, kBatch}; }

CallSplit split_of(PreparedEntry& p) {
  const std::optional<CallSplit> s = p.instance().call_split();
  EXPECT_TRUE(s.has_value()) << "hybrid instances report their split";
  return s.value_or(CallSplit{});
}

TEST(Hybrid, NaiveIsCorrectAndCopiesEverythingEveryCall) {
  TestDevice dev;
  PreparedEntry p(hybrid("naive"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_LE(p.validation().max_err, 1e-4);
  EXPECT_EQ(p.validation().check, "full");
  dev.reset_counters();
  for (int i = 0; i < 3; ++i) ASSERT_GT(p.timed_call_ms(), 0.0);
  EXPECT_EQ(dev.counters().d2h_bytes, 3 * (kX + kW + kB));
  EXPECT_EQ(dev.counters().h2d_bytes, 3 * kY);
  EXPECT_EQ(dev.counters().async_copies, 0u) << "naive uses pageable synchronous copies";
  EXPECT_EQ(dev.counters().pins, 0u);
  const std::string label = p.label();
  EXPECT_NE(label.find("hybrid=naive;cpu_impl=openblas"), std::string::npos) << label;
  EXPECT_NE(label.find("device=test"), std::string::npos) << label;
  const double tf = split_of(p).transfer_fraction();
  EXPECT_GT(tf, 0.0);
  EXPECT_LE(tf, 1.0);
}

// With copies made slow, each one's time must land on its side of the compute.
TEST(Hybrid, CallSplitPutsCopyTimeBeforeAndAfterTheCompute) {
  using std::chrono::milliseconds;
  constexpr double kDelayMs = 40.0;  // well above scheduler noise on a loaded 2-core machine
  for (const char* impl : {"naive", "cached"}) {
    TestDevice dev;
    PreparedEntry p(hybrid(impl), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
    ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
    dev.set_copy_delay(milliseconds(static_cast<int>(kDelayMs)));
    const double ms = p.timed_call_ms();
    const CallSplit s = split_of(p);
    // naive: x, w, b come down one by one, y goes up; cached: x down, y up.
    const double copies_in = std::string(impl) == "naive" ? 3 : 1;
    EXPECT_GE(s.copy_in_ms, copies_in * kDelayMs) << impl;
    EXPECT_LT(s.copy_in_ms, (copies_in + 1) * kDelayMs) << impl;
    EXPECT_GE(s.copy_out_ms, kDelayMs) << impl;
    EXPECT_LT(s.copy_out_ms, 2 * kDelayMs) << impl;
    EXPECT_GT(s.compute_ms, 0.0) << impl;
    EXPECT_DOUBLE_EQ(s.total_ms(), ms) << impl;
  }
}

TEST(Hybrid, CachedCopiesWeightsOnceAndStagesThroughPinnedMemory) {
  TestDevice dev;
  PreparedEntry p(hybrid("cached"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 2});
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_LE(p.validation().max_err, 1e-4);
  // Setup uploads x, w, b and downloads w, b once; 3 calls (first + 2 warm-up)
  // download x and upload y; fetch_outputs downloads y.
  EXPECT_EQ(dev.counters().h2d_bytes, kX + kW + kB + 3 * kY);
  EXPECT_EQ(dev.counters().d2h_bytes, kW + kB + 3 * kX + kY);
  EXPECT_EQ(dev.counters().pins, 2u) << "x and y staging pinned";
  dev.reset_counters();
  for (int i = 0; i < 5; ++i) ASSERT_GT(p.timed_call_ms(), 0.0);
  EXPECT_EQ(dev.counters().d2h_bytes, 5 * kX) << "weights must not move per call";
  EXPECT_EQ(dev.counters().h2d_bytes, 5 * kY);
  EXPECT_EQ(dev.counters().async_copies, 10u);
  EXPECT_EQ(dev.pending_async_copies(), 0u) << "a call ends synchronized";
  EXPECT_NE(p.label().find("hybrid=cached;cpu_impl=onednn"), std::string::npos) << p.label();
  EXPECT_GT(split_of(p).transfer_fraction(), 0.0);
}

class HybridErrors : public ::testing::TestWithParam<std::tuple<std::string, ErrorClass>> {};

TEST_P(HybridErrors, InjectedFailureBecomesItsStatus) {
  const auto& [impl, cls] = GetParam();
  const std::string prefix = "failed: " + std::string(to_string(cls)) + ": ";
  // In a timed call: naive fails a synchronous copy, cached its synchronize.
  {
    TestDevice dev;
    PreparedEntry p(hybrid(impl), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
    ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
    dev.fail_next(impl == "naive" ? TestDevice::Call::copy : TestDevice::Call::synchronize, cls);
    EXPECT_LT(p.timed_call_ms(), 0.0);
    EXPECT_EQ(p.status(), StatusKind::failed);
    EXPECT_TRUE(p.message().starts_with(prefix)) << p.message();
  }
  // During setup: the third device allocation (w's buffer... any one) fails.
  {
    TestDevice dev;
    dev.fail_next(TestDevice::Call::malloc_device, cls, 2);
    PreparedEntry p(hybrid(impl), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
    EXPECT_EQ(p.status(), StatusKind::failed);
    EXPECT_TRUE(p.message().starts_with(prefix)) << p.message();
    EXPECT_EQ(dev.live_allocations(), 0u) << "device memory released on failure";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryClass, HybridErrors,
                         ::testing::Combine(::testing::Values("naive", "cached"),
                                            ::testing::Values(ErrorClass::no_kernel_image, ErrorClass::unsupported_ptx,
                                                              ErrorClass::insufficient_driver,
                                                              ErrorClass::out_of_memory, ErrorClass::launch_failure,
                                                              ErrorClass::library_error, ErrorClass::timeout,
                                                              ErrorClass::other)),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) + "_" +
                                  std::string(to_string(std::get<1>(param_info.param)));
                         });

TEST(Hybrid, CachedPinFailureIsAStatus) {
  TestDevice dev;
  dev.fail_next(TestDevice::Call::pin, ErrorClass::out_of_memory);
  PreparedEntry p(hybrid("cached"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  EXPECT_EQ(p.status(), StatusKind::failed);
  EXPECT_TRUE(p.message().starts_with("failed: out_of_memory: ")) << p.message();
}

TEST(Hybrid, OutOfDeviceMemoryIsAStatusNotACrash) {
  TestDevice dev;
  dev.set_memory_limit(kW / 2);  // the weight matrix alone does not fit
  PreparedEntry p(hybrid("naive"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  EXPECT_EQ(p.status(), StatusKind::failed);
  EXPECT_TRUE(p.message().starts_with("failed: out_of_memory: test device: cannot allocate")) << p.message();
  EXPECT_EQ(dev.live_allocations(), 0u);
}

TEST(Hybrid, UnavailableWithoutADevice) {
  try {
    cuda_device();
    GTEST_SKIP() << "a CUDA device is present";
  } catch (const Unavailable&) {
  }
  PreparedEntry p(hybrid("naive"), RunConfig{.seed = 7, .device = nullptr, .warmup_calls = 0});
  EXPECT_EQ(p.status(), StatusKind::unavailable);
  EXPECT_TRUE(p.message().starts_with("unavailable: ")) << p.message();
}

TEST(Hybrid, UnknownImplIsBadInput) {
  TestDevice dev;
  EXPECT_THROW(PreparedEntry(hybrid("fancy"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0}), BadInput);
}

// --- cached with copy/compute overlap (batch split into chunks) ---

// linear/square_1024 at batch 100: x and y rows are 4 KiB each, 800 KiB in all,
// so 3 chunks of rows [0,33), [33,66), [66,100).
constexpr int64_t kBigBatch = 100;
constexpr size_t kRow = 4 * 1024;

TEST(HybridOverlap, CachedLinearPipelinesChunksAndStaysCorrect) {
  TestDevice dev;
  PreparedEntry p(Entry{&linear_case(), Mode::hybrid, "cached", kBigBatch},
                  RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_LE(p.validation().max_err, 1e-4);
  EXPECT_EQ(p.validation().check, "full");
  const std::string impl = linear_case().best_host_impl(kBigBatch).name;
  EXPECT_NE(p.label().find("hybrid=cached;cpu_impl=" + impl + ";overlap=3"), std::string::npos) << p.label();
  // Setup: x, w, b up and w, b down once; the validated call: x down, y up; fetch: y down.
  EXPECT_EQ(dev.counters().h2d_bytes, kBigBatch * kRow + kW + kB + kBigBatch * kRow);
  EXPECT_EQ(dev.counters().d2h_bytes, kW + kB + 2 * kBigBatch * kRow);

  dev.reset_counters();
  const size_t sizes_before = dev.async_copy_sizes().size();
  ASSERT_GT(p.timed_call_ms(), 0.0);
  // Chunked, and in pipeline order: chunk i+1's input is queued before chunk i's output.
  const std::vector<size_t> sizes(dev.async_copy_sizes().begin() + static_cast<long>(sizes_before),
                                  dev.async_copy_sizes().end());
  EXPECT_EQ(sizes, (std::vector<size_t>{33 * kRow, 33 * kRow, 33 * kRow, 34 * kRow, 33 * kRow, 34 * kRow}));
  EXPECT_EQ(dev.counters().d2h_copies, 3u);
  EXPECT_EQ(dev.counters().h2d_copies, 3u);
  EXPECT_EQ(dev.counters().d2h_bytes, kBigBatch * kRow) << "chunks add up to the whole x; weights stay put";
  EXPECT_EQ(dev.counters().h2d_bytes, kBigBatch * kRow);
  EXPECT_EQ(dev.counters().marker_waits, 3u) << "one wait per chunk's input";
  EXPECT_EQ(dev.counters().syncs, 1u) << "one synchronize per call";
  EXPECT_EQ(dev.pending_async_copies(), 0u);
  const CallSplit s = split_of(p);
  EXPECT_GE(s.transfer_fraction(), 0.0);
  EXPECT_LT(s.transfer_fraction(), 1.0);
  EXPECT_GT(s.compute_ms, 0.0);
}

// Every conv2d impl over image ranges: 4 images of any case make 4 chunks of one.
class HybridOverlapConv : public ::testing::TestWithParam<std::string> {};

TEST_P(HybridOverlapConv, CachedConv2dPipelinesImagesAndStaysCorrect) {
  const OpCase& c = find_case("conv2d/" + GetParam());
  TestDevice dev;
  PreparedEntry p(Entry{&c, Mode::hybrid, "cached", 4}, RunConfig{.seed = 11, .device = &dev, .warmup_calls = 1});
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_LE(p.validation().max_err, 1e-4);
  EXPECT_NE(p.label().find("cpu_impl=" + c.best_host_impl(4).name + ";overlap=4"), std::string::npos) << p.label();

  auto problem = c.make_problem(4, 11);
  size_t x_bytes = 0, y_bytes = 0;
  for (const TensorRef& t : problem->tensors()) {
    if (t.role == Role::input) x_bytes = t.bytes();
    if (t.role == Role::output) y_bytes = t.bytes();
  }
  dev.reset_counters();
  ASSERT_GT(p.timed_call_ms(), 0.0);
  EXPECT_EQ(dev.counters().d2h_copies, 4u);
  EXPECT_EQ(dev.counters().h2d_copies, 4u);
  EXPECT_EQ(dev.counters().d2h_bytes, x_bytes) << "only x moves, in 4 chunks adding up to it";
  EXPECT_EQ(dev.counters().h2d_bytes, y_bytes);
  const std::vector<size_t>& sizes = dev.async_copy_sizes();
  ASSERT_GE(sizes.size(), 8u);
  EXPECT_EQ(sizes[sizes.size() - 8], x_bytes / 4) << "one image per chunk";
  EXPECT_EQ(sizes.back(), y_bytes / 4);
}

INSTANTIATE_TEST_SUITE_P(EveryCase, HybridOverlapConv,
                         ::testing::Values("resnet_3x3", "mbv2_depthwise", "mbv2_pointwise", "mbv2_stem"));

TEST(HybridOverlap, FaultInAChunkCopyBecomesItsStatus) {
  for (ErrorClass cls : {ErrorClass::launch_failure, ErrorClass::out_of_memory, ErrorClass::other}) {
    for (auto [call, after] : {std::pair{TestDevice::Call::copy_async, 2}, std::pair{TestDevice::Call::copy_async, 4},
                               std::pair{TestDevice::Call::wait_marker, 1}}) {
      TestDevice dev;
      PreparedEntry p(Entry{&linear_case(), Mode::hybrid, "cached", kBigBatch},
                      RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
      ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
      dev.fail_next(call, cls, after);
      EXPECT_LT(p.timed_call_ms(), 0.0);
      EXPECT_EQ(p.status(), StatusKind::failed);
      const std::string prefix = "failed: " + std::string(to_string(cls)) + ": test device: injected";
      EXPECT_TRUE(p.message().starts_with(prefix)) << p.message();
    }
  }
}

TEST(HybridOverlap, FaultInAChunkCopyDuringValidationIsAStatus) {
  TestDevice dev;
  dev.fail_next(TestDevice::Call::copy_async, ErrorClass::launch_failure, 1);
  PreparedEntry p(Entry{&linear_case(), Mode::hybrid, "cached", kBigBatch},
                  RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  EXPECT_EQ(p.status(), StatusKind::failed);
  EXPECT_TRUE(p.message().starts_with("failed: launch_failure: ")) << p.message();
  EXPECT_EQ(dev.live_allocations(), 0u);
}

// The sequential path: no overlap in the label, one call copies inputs down and outputs up in one piece each.
void expect_one_copy_each_way(PreparedEntry& p, TestDevice& dev) {
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_EQ(p.label().find("overlap="), std::string::npos) << p.label();
  dev.reset_counters();
  ASSERT_GT(p.timed_call_ms(), 0.0);
  EXPECT_EQ(dev.counters().d2h_copies, 1u);
  EXPECT_EQ(dev.counters().h2d_copies, 1u);
}

TEST(HybridOverlap, SmallBatchKeepsTheSequentialPath) {
  // 8 rows of linear are 64 KiB of x and y: not worth two copies.
  TestDevice dev;
  PreparedEntry p(hybrid("cached"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  expect_one_copy_each_way(p, dev);
  EXPECT_EQ(dev.counters().markers, 0u);
  EXPECT_EQ(dev.counters().syncs, 2u) << "inputs waited for as a whole, then outputs";
}

TEST(HybridOverlap, OpThatCannotSplitKeepsTheSequentialPath) {
  // knn has no row hook: 100 000 points are megabytes, still one copy each way.
  TestDevice dev;
  PreparedEntry p(Entry{&find_case("knn/uniform"), Mode::hybrid, "cached", 100'000},
                  RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  expect_one_copy_each_way(p, dev);
}

TEST(HybridOverlap, NaiveNeverPipelines) {
  TestDevice dev;
  PreparedEntry p(Entry{&linear_case(), Mode::hybrid, "naive", kBigBatch},
                  RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  ASSERT_EQ(p.status(), StatusKind::ok) << p.message();
  EXPECT_EQ(p.label().find("overlap="), std::string::npos) << p.label();
  EXPECT_EQ(dev.counters().async_copies, 0u);
}

}  // namespace
}  // namespace mb
