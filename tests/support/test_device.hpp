#pragma once
// A Device that stands in for CUDA with host memory, so the device modes'
// data paths, errors and statuses run in unit tests without a GPU. It
// behaves like a stream: copy_async is queued and only happens at the next
// synchronize() or synchronous copy, or at wait_marker() for the copies
// queued before that marker, and needs pinned host memory, so a missing
// wait or an unpinned staging buffer shows up in tests.
// Results produced with it are labelled device=test and never enter a report.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/device/device.hpp"
#include "harness/status.hpp"

namespace mb {

class TestDevice : public Device {
 public:
  enum class Call { malloc_device, pin, copy, copy_async, synchronize, record_marker, wait_marker, check_launch };
  // How an injected fault behaves, as the CUDA runtime's errors do:
  // transient: that call fails and its error stays in the last-error slot until read
  //            (check_launch or clear_stale_error read it);
  // sticky:    that call and every later call fail with the same error (the context is gone);
  // busy:      the device is held by another process (DeviceBusy).
  enum class Fault { transient, sticky, busy };

  struct Counters {
    size_t mallocs = 0, frees = 0, bad_frees = 0;
    size_t pins = 0, unpins = 0;
    size_t h2d_copies = 0, d2h_copies = 0;  // sync and async alike
    size_t h2d_bytes = 0, d2h_bytes = 0;
    size_t async_copies = 0, syncs = 0;
    size_t markers = 0, marker_waits = 0;
  };

  TestDevice() = default;
  ~TestDevice() override;
  TestDevice(const TestDevice&) = delete;
  TestDevice& operator=(const TestDevice&) = delete;

  std::string description() const override { return "test device (host memory standing in for CUDA)"; }
  bool is_test_device() const override { return true; }
  void* malloc_device(size_t bytes) override;
  void free_device(void* p) noexcept override;
  void pin(void* host, size_t bytes) override;
  void unpin(void* host) noexcept override;
  void copy(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  void copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  void synchronize() override;
  uint64_t record_marker() override;
  void wait_marker(uint64_t marker) override;
  void check_launch(const char* what) override;
  void clear_stale_error() override;

  // The (after_n_calls+1)-th call of `which` from now fails with `cls`, behaving as `fault` says.
  void fail_next(Call which, ErrorClass cls, int after_n_calls = 0, Fault fault = Fault::transient);
  // An error waiting in the last-error slot (what cudaPeekAtLastError would say).
  bool has_pending_error() const { return pending_.has_value(); }
  // malloc_device throws out_of_memory when live allocations would exceed this.
  void set_memory_limit(size_t bytes) { memory_limit_ = bytes; }
  // Every copy (synchronous, or async when it is performed) takes at least this long,
  // so tests can see where a data path's time goes.
  void set_copy_delay(std::chrono::microseconds d) { copy_delay_ = d; }

  const Counters& counters() const { return counters_; }
  void reset_counters() { counters_ = {}; }
  size_t live_allocations() const { return allocations_.size(); }
  size_t live_bytes() const { return live_bytes_; }
  bool is_pinned(const void* host, size_t bytes) const;
  size_t pending_async_copies() const { return queue_.size(); }
  // Bytes of each async copy, in the order queued (tests check how the data path chunks).
  const std::vector<size_t>& async_copy_sizes() const { return async_sizes_; }

 private:
  void maybe_fail(Call c);
  // Throws `other` when [p, p+bytes) is not inside one live allocation.
  void check_device_range(const void* p, size_t bytes, const char* what) const;
  void count(size_t bytes, CopyKind kind);
  // Performs queued async copies until `upto` of them have completed in total.
  void drain(uint64_t upto);

  struct Planned {
    Call which;
    ErrorClass cls;
    int remaining;
    Fault fault;
  };
  std::vector<Planned> faults_;
  std::optional<DeviceFailure> pending_;       // the last-error slot
  std::optional<DeviceFailure> sticky_;        // once set, every call fails with it
  std::map<const char*, size_t> allocations_;  // start -> bytes
  std::map<const char*, size_t> pinned_;       // start -> bytes
  std::deque<std::function<void()>> queue_;    // async copies not yet done
  uint64_t enqueued_ = 0;                      // async copies ever queued; queue_ holds the last queue_.size()
  std::vector<size_t> async_sizes_;
  size_t live_bytes_ = 0;
  size_t memory_limit_ = static_cast<size_t>(-1);
  std::chrono::microseconds copy_delay_{0};
  Counters counters_;
};

std::string_view to_string(TestDevice::Call c);

}  // namespace mb
