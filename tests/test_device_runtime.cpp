// The test device itself (the stand-in every GPU-free device test relies on)
// and the CUDA runtime's behaviour where there is no usable GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "harness/context.hpp"
#include "harness/device/device.hpp"
#include "tests/support/test_device.hpp"

namespace mb {
namespace {

TEST(DeviceRuntime, TestDeviceCopiesAndCounts) {
  TestDevice dev;
  std::vector<float> a = {1, 2, 3, 4}, b(4, 0.0f);
  {
    DeviceArray<float> d(dev, 4);
    d.upload(a.data());
    d.download(b.data());
    EXPECT_EQ(dev.live_allocations(), 1u);
  }
  EXPECT_EQ(b, a);
  EXPECT_EQ(dev.live_allocations(), 0u);
  EXPECT_EQ(dev.counters().h2d_copies, 1u);
  EXPECT_EQ(dev.counters().d2h_copies, 1u);
  EXPECT_EQ(dev.counters().h2d_bytes, 16u);
  EXPECT_EQ(dev.counters().frees, 1u);
  EXPECT_EQ(dev.counters().bad_frees, 0u);
}

TEST(DeviceRuntime, AsyncCopiesNeedPinningAndHappenAtSynchronize) {
  TestDevice dev;
  std::vector<float> host = {5, 6}, back(2, 0.0f);
  DeviceBuffer d(dev, 8);
  EXPECT_THROW(dev.copy_async(d.get(), host.data(), 8, CopyKind::host_to_device), DeviceFailure);
  {
    PinnedRegion pin_host(dev, host.data(), 8), pin_back(dev, back.data(), 8);
    EXPECT_TRUE(dev.is_pinned(host.data() + 1, 4));
    dev.copy_async(d.get(), host.data(), 8, CopyKind::host_to_device);
    dev.copy_async(back.data(), d.get(), 8, CopyKind::device_to_host);
    EXPECT_EQ(back, (std::vector<float>{0, 0})) << "async copy must not complete before synchronize";
    dev.synchronize();
    EXPECT_EQ(back, host);
  }
  EXPECT_FALSE(dev.is_pinned(host.data(), 8));
  EXPECT_EQ(dev.counters().pins, 2u);
  EXPECT_EQ(dev.counters().unpins, 2u);
}

TEST(DeviceRuntime, CopyOutsideAllocationIsRefused) {
  TestDevice dev;
  std::vector<float> host(4);
  DeviceBuffer d(dev, 8);
  EXPECT_THROW(dev.copy(d.get(), host.data(), 16, CopyKind::host_to_device), DeviceFailure);
  EXPECT_THROW(dev.copy(host.data(), host.data(), 4, CopyKind::device_to_host), DeviceFailure);
}

TEST(DeviceRuntime, FaultInjectionAfterNCalls) {
  TestDevice dev;
  dev.fail_next(TestDevice::Call::malloc_device, ErrorClass::launch_failure, 1);
  DeviceBuffer first(dev, 4);  // the 0th call passes
  try {
    DeviceBuffer second(dev, 4);
    FAIL() << "second allocation should fail";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::launch_failure);
    EXPECT_NE(std::string(f.what()).find("malloc_device"), std::string::npos);
  }
  DeviceBuffer third(dev, 4);  // one-shot
  EXPECT_EQ(dev.live_allocations(), 2u);
}

TEST(DeviceRuntime, WaitingForAMarkerCompletesOnlyTheCopiesBeforeIt) {
  TestDevice dev;
  std::vector<float> host = {1, 2, 3, 4}, back(4, 0.0f);
  DeviceBuffer d(dev, 16);
  dev.copy(d.get(), host.data(), 16, CopyKind::host_to_device);
  PinnedRegion pin_back(dev, back.data(), 16);
  const float* dev_f = static_cast<const float*>(d.get());
  dev.copy_async(back.data(), dev_f, 8, CopyKind::device_to_host);
  const uint64_t first = dev.record_marker();
  dev.copy_async(back.data() + 2, dev_f + 2, 8, CopyKind::device_to_host);
  const uint64_t second = dev.record_marker();
  EXPECT_LT(first, second);
  EXPECT_EQ(back, (std::vector<float>{0, 0, 0, 0})) << "nothing happens before a wait";
  dev.wait_marker(first);
  EXPECT_EQ(back, (std::vector<float>{1, 2, 0, 0})) << "only the copy before the marker";
  EXPECT_EQ(dev.pending_async_copies(), 1u);
  dev.wait_marker(first);  // waiting again is harmless
  EXPECT_EQ(dev.pending_async_copies(), 1u);
  dev.wait_marker(second);
  EXPECT_EQ(back, host);
  EXPECT_EQ(dev.counters().markers, 2u);
  EXPECT_EQ(dev.counters().marker_waits, 3u);
  EXPECT_THROW(dev.wait_marker(second + 1), DeviceFailure) << "a marker never recorded";
  EXPECT_EQ(dev.async_copy_sizes(), (std::vector<size_t>{8, 8}));
}

TEST(DeviceRuntime, MarkerCallsCanBeMadeToFail) {
  TestDevice dev;
  dev.fail_next(TestDevice::Call::wait_marker, ErrorClass::launch_failure);
  const uint64_t m = dev.record_marker();  // only wait_marker was told to fail
  EXPECT_THROW(dev.wait_marker(m), DeviceFailure);
  dev.wait_marker(m);  // one-shot
  dev.fail_next(TestDevice::Call::record_marker, ErrorClass::timeout);
  try {
    dev.record_marker();
    FAIL() << "record_marker should fail";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::timeout);
  }
}

TEST(DeviceRuntime, MemoryLimitGivesOutOfMemory) {
  TestDevice dev;
  dev.set_memory_limit(100);
  DeviceBuffer a(dev, 60);
  try {
    DeviceBuffer b(dev, 60);
    FAIL() << "over the limit";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::out_of_memory);
  }
  DeviceBuffer c(dev, 40);
  EXPECT_EQ(dev.live_bytes(), 100u);
}

TEST(DeviceRuntime, CudaDeviceIsUnavailableOrReal) {
  // Without a driver (this machine, CI) or without CUDA: Unavailable with a plain reason.
  try {
    Device& d = cuda_device();
    EXPECT_FALSE(d.is_test_device());
  } catch (const Unavailable& u) {
    const std::string why = u.what();
    EXPECT_TRUE(why.starts_with("no CUDA driver") || why.starts_with("no CUDA device") ||
                why.starts_with("driver too old") || why.starts_with("built without CUDA") ||
                why.starts_with("every CUDA device"))
        << why;
  }
}

TEST(DeviceRuntime, CudaFactsHaveEveryContextKey) {
  const Facts f = cuda_facts();
  for (const char* key : {"cuda_toolkit", "cuda_archs", "cuda_runtime", "cuda_driver", "device_name", "device_cc",
                          "cublas_version", "cudnn_version"}) {
    auto it = std::find_if(f.begin(), f.end(), [&](const auto& kv) { return kv.first == key; });
    ASSERT_NE(it, f.end()) << key;
    EXPECT_FALSE(it->second.empty()) << key;
  }
#if MODEBENCH_HAVE_CUDA
  auto runtime = std::find_if(f.begin(), f.end(), [](const auto& kv) { return kv.first == "cuda_runtime"; });
  EXPECT_NE(runtime->second, "none");  // the runtime answers without a driver
#endif
}

}  // namespace
}  // namespace mb
