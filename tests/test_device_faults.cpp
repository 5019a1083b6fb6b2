// What a device failure does to the entries after it, on the test device (which models
// the runtime's last-error slot and sticky errors): a caught error is not blamed on the
// next entry; a sticky one loses the device, and later device entries are not run
// because of the named entry instead of failing by themselves; a busy device is busy.
#include <gtest/gtest.h>

#include "harness/runner.hpp"
#include "tests/support/test_device.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

RunConfig on(TestDevice& dev) { return RunConfig{.seed = 1, .device = &dev, .warmup_calls = 0}; }

TEST(DeviceFaults, ACaughtErrorIsNotBlamedOnTheNextEntry) {
  ToyCase toy("t", /*kernel_on_host=*/true);
  TestDevice dev;
  dev.fail_next(TestDevice::Call::malloc_device, ErrorClass::out_of_memory);
  PreparedEntry first(Entry{&toy, Mode::hybrid, "naive", 4}, on(dev));
  EXPECT_EQ(first.status(), StatusKind::failed);
  EXPECT_EQ(first.status().error_class(), ErrorClass::out_of_memory);
  ASSERT_TRUE(dev.has_pending_error()) << "the runtime keeps a failed call's error until it is read";

  PreparedEntry next(Entry{&toy, Mode::gpu, "kernel", 4}, on(dev));
  EXPECT_TRUE(next.status().is_ok()) << next.message();
}

TEST(DeviceFaults, AStickyErrorLosesTheDeviceAndLaterDeviceEntriesAreNotRun) {
  ToyCase toy("t", /*kernel_on_host=*/true);
  TestDevice dev;
  dev.fail_next(TestDevice::Call::check_launch, ErrorClass::launch_failure, 0, TestDevice::Fault::sticky);
  const Entry culprit{&toy, Mode::gpu, "kernel", 4};
  PreparedEntry first(culprit, on(dev));
  ASSERT_EQ(first.status(), StatusKind::failed);
  EXPECT_EQ(first.status().error_class(), ErrorClass::launch_failure);

  for (const Entry& later : {Entry{&toy, Mode::gpu, "kernel", 8}, Entry{&toy, Mode::hybrid, "cached", 4}}) {
    PreparedEntry p(later, on(dev));
    EXPECT_EQ(p.status(), StatusKind::not_run) << p.message();
    EXPECT_NE(p.message().find(culprit.name()), std::string::npos) << p.message();
    EXPECT_NE(p.message().find("failed: launch_failure"), std::string::npos) << p.message();
  }
  PreparedEntry host(Entry{&toy, Mode::cpu, "right", 4}, on(dev));
  EXPECT_TRUE(host.status().is_ok()) << "the host is not lost: " << host.message();
}

TEST(DeviceFaults, AStickyErrorDuringTimingAlsoLosesTheDevice) {
  ToyCase toy("t", /*kernel_on_host=*/true);
  TestDevice dev;
  PreparedEntry timed(Entry{&toy, Mode::gpu, "kernel", 4}, on(dev));
  ASSERT_TRUE(timed.status().is_ok()) << timed.message();
  dev.fail_next(TestDevice::Call::check_launch, ErrorClass::launch_failure, 0, TestDevice::Fault::sticky);
  EXPECT_LT(timed.timed_call_ms(), 0.0);
  EXPECT_EQ(timed.status(), StatusKind::failed);
  PreparedEntry after(Entry{&toy, Mode::gpu, "kernel", 8}, on(dev));
  EXPECT_EQ(after.status(), StatusKind::not_run) << after.message();
}

TEST(DeviceFaults, ATransientFailureDoesNotLoseTheDevice) {
  ToyCase toy("t", /*kernel_on_host=*/true);
  TestDevice dev;
  dev.fail_next(TestDevice::Call::check_launch, ErrorClass::no_kernel_image);
  PreparedEntry first(Entry{&toy, Mode::gpu, "kernel", 4}, on(dev));
  EXPECT_EQ(first.status().error_class(), ErrorClass::no_kernel_image);
  PreparedEntry next(Entry{&toy, Mode::gpu, "kernel", 8}, on(dev));
  EXPECT_TRUE(next.status().is_ok()) << next.message();
}

TEST(DeviceFaults, ADeviceHeldByAnotherProcessIsBusyNotFailed) {
  ToyCase toy("t", /*kernel_on_host=*/true);
  TestDevice dev;
  dev.fail_next(TestDevice::Call::malloc_device, ErrorClass::other, 0, TestDevice::Fault::busy);
  PreparedEntry p(Entry{&toy, Mode::hybrid, "naive", 4}, on(dev));
  EXPECT_EQ(p.status(), StatusKind::busy) << p.message();
  EXPECT_TRUE(p.message().starts_with("busy: ")) << p.message();
}

}  // namespace
}  // namespace mb
