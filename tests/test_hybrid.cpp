// The hybrid data path driven through the real runner on the test device:
// results validated, which copies happen per call, pinned staging, and every
// error class ending as a status.
#include <gtest/gtest.h>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "harness/test_device.hpp"

namespace mb {
namespace {

const OpCase& linear_case() {
  for (const auto& c : registry().cases())
    if (c->id() == "linear/square_1024") return *c;
  throw std::runtime_error("linear/square_1024 not registered");
}

constexpr int64_t kBatch = 8;
constexpr size_t kX = 4 * kBatch * 1024, kW = 4 * 1024 * 1024, kB = 4 * 1024, kY = 4 * kBatch * 1024;

Entry hybrid(const std::string& impl) { return Entry{&linear_case(), Mode::hybrid, impl, kBatch}; }

TEST(Hybrid, NaiveIsCorrectAndCopiesEverythingEveryCall) {
  TestDevice dev;
  PreparedEntry p(hybrid("naive"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  ASSERT_EQ(p.status(), Status::ok) << p.message();
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
  const double tf = p.instance().transfer_fraction();
  EXPECT_GT(tf, 0.0);
  EXPECT_LE(tf, 1.0);
}

TEST(Hybrid, CachedCopiesWeightsOnceAndStagesThroughPinnedMemory) {
  TestDevice dev;
  PreparedEntry p(hybrid("cached"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 2});
  ASSERT_EQ(p.status(), Status::ok) << p.message();
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
  EXPECT_GT(p.instance().transfer_fraction(), 0.0);
}

class HybridErrors : public ::testing::TestWithParam<std::tuple<std::string, ErrorClass>> {};

TEST_P(HybridErrors, InjectedFailureBecomesItsStatus) {
  const auto& [impl, cls] = GetParam();
  const std::string prefix = "failed: " + std::string(to_string(cls)) + ": ";
  // In a timed call: naive fails a synchronous copy, cached its synchronize.
  {
    TestDevice dev;
    PreparedEntry p(hybrid(impl), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
    ASSERT_EQ(p.status(), Status::ok) << p.message();
    dev.fail_next(impl == "naive" ? TestDevice::Call::copy : TestDevice::Call::synchronize, cls);
    EXPECT_LT(p.timed_call_ms(), 0.0);
    EXPECT_EQ(p.status(), Status::failed);
    EXPECT_TRUE(p.message().starts_with(prefix)) << p.message();
  }
  // During setup: the third device allocation (w's buffer... any one) fails.
  {
    TestDevice dev;
    dev.fail_next(TestDevice::Call::malloc_device, cls, 2);
    PreparedEntry p(hybrid(impl), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
    EXPECT_EQ(p.status(), Status::failed);
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
  EXPECT_EQ(p.status(), Status::failed);
  EXPECT_TRUE(p.message().starts_with("failed: out_of_memory: ")) << p.message();
}

TEST(Hybrid, OutOfDeviceMemoryIsAStatusNotACrash) {
  TestDevice dev;
  dev.set_memory_limit(kW / 2);  // the weight matrix alone does not fit
  PreparedEntry p(hybrid("naive"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0});
  EXPECT_EQ(p.status(), Status::failed);
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
  EXPECT_EQ(p.status(), Status::unavailable);
  EXPECT_TRUE(p.message().starts_with("unavailable: ")) << p.message();
}

TEST(Hybrid, UnknownImplIsBadInput) {
  TestDevice dev;
  EXPECT_THROW(PreparedEntry(hybrid("fancy"), RunConfig{.seed = 7, .device = &dev, .warmup_calls = 0}), BadInput);
}

}  // namespace
}  // namespace mb
