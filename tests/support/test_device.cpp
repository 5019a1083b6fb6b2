#include "tests/support/test_device.hpp"

#include <cstdlib>
#include <cstring>
#include <thread>

namespace mb {

std::string_view to_string(TestDevice::Call c) {
  switch (c) {
    case TestDevice::Call::malloc_device: return "malloc_device";
    case TestDevice::Call::pin: return "pin";
    case TestDevice::Call::copy: return "copy";
    case TestDevice::Call::copy_async: return "copy_async";
    case TestDevice::Call::synchronize: return "synchronize";
    case TestDevice::Call::record_marker: return "record_marker";
    case TestDevice::Call::wait_marker: return "wait_marker";
    case TestDevice::Call::check_launch: return "check_launch";
  }
  return "?";
}

TestDevice::~TestDevice() {
  for (auto& [p, bytes] : allocations_) std::free(const_cast<char*>(p));
}

void TestDevice::fail_next(Call which, ErrorClass cls, int after_n_calls, Fault fault) {
  faults_.push_back({which, cls, after_n_calls, fault});
}

void TestDevice::maybe_fail(Call c) {
  if (sticky_) throw *sticky_;
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->which != c) continue;
    if (it->remaining-- > 0) continue;
    const Planned planned = *it;
    faults_.erase(it);
    queue_.clear();  // like a faulted stream: pending work is lost
    const std::string what =
        "test device: injected " + std::string(to_string(planned.cls)) + " in " + std::string(to_string(c));
    if (planned.fault == Fault::busy) throw DeviceBusy(what);
    const DeviceFailure failure(planned.cls, what, planned.fault == Fault::sticky);
    if (planned.fault == Fault::sticky)
      sticky_ = failure;
    else
      pending_ = failure;
    throw failure;
  }
}

void TestDevice::check_launch(const char*) {
  maybe_fail(Call::check_launch);
  if (pending_) {
    const DeviceFailure failure = *pending_;
    pending_.reset();
    throw failure;
  }
}

void TestDevice::clear_stale_error() {
  if (sticky_) throw *sticky_;
  pending_.reset();
}

void* TestDevice::malloc_device(size_t bytes) {
  maybe_fail(Call::malloc_device);
  if (bytes > memory_limit_ || live_bytes_ > memory_limit_ - bytes)
    throw DeviceFailure(ErrorClass::out_of_memory, "test device: cannot allocate " + std::to_string(bytes) +
                                                       " bytes (limit " + std::to_string(memory_limit_) + ")");
  char* p = static_cast<char*>(std::malloc(bytes ? bytes : 1));
  if (!p) throw DeviceFailure(ErrorClass::out_of_memory, "test device: host malloc failed");
  allocations_[p] = bytes;
  live_bytes_ += bytes;
  ++counters_.mallocs;
  return p;
}

void TestDevice::free_device(void* p) noexcept {
  auto it = allocations_.find(static_cast<const char*>(p));
  if (it == allocations_.end()) {
    ++counters_.bad_frees;
    return;
  }
  live_bytes_ -= it->second;
  allocations_.erase(it);
  std::free(p);
  ++counters_.frees;
}

void TestDevice::pin(void* host, size_t bytes) {
  maybe_fail(Call::pin);
  pinned_[static_cast<const char*>(host)] = bytes;
  ++counters_.pins;
}

void TestDevice::unpin(void* host) noexcept {
  if (pinned_.erase(static_cast<const char*>(host))) ++counters_.unpins;
}

bool TestDevice::is_pinned(const void* host, size_t bytes) const {
  const char* p = static_cast<const char*>(host);
  auto it = pinned_.upper_bound(p);
  if (it == pinned_.begin()) return false;
  --it;
  return p + bytes <= it->first + it->second;
}

void TestDevice::check_device_range(const void* ptr, size_t bytes, const char* what) const {
  const char* p = static_cast<const char*>(ptr);
  auto it = allocations_.upper_bound(p);
  if (it != allocations_.begin()) {
    --it;
    if (p + bytes <= it->first + it->second) return;
  }
  throw DeviceFailure(ErrorClass::other, std::string("test device: ") + what + " outside any device allocation");
}

void TestDevice::count(size_t bytes, CopyKind kind) {
  if (kind == CopyKind::host_to_device) {
    ++counters_.h2d_copies;
    counters_.h2d_bytes += bytes;
  } else {
    ++counters_.d2h_copies;
    counters_.d2h_bytes += bytes;
  }
}

void TestDevice::copy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  maybe_fail(Call::copy);
  check_device_range(kind == CopyKind::host_to_device ? dst : src, bytes, "copy");
  drain(enqueued_);  // stream order: earlier async work first
  std::this_thread::sleep_for(copy_delay_);
  std::memcpy(dst, src, bytes);
  count(bytes, kind);
}

void TestDevice::copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) {
  maybe_fail(Call::copy_async);
  check_device_range(kind == CopyKind::host_to_device ? dst : src, bytes, "copy_async");
  const void* host = kind == CopyKind::host_to_device ? src : dst;
  if (!is_pinned(host, bytes))
    throw DeviceFailure(ErrorClass::other, "test device: copy_async with unpinned host memory");
  queue_.push_back([dst, src, bytes, delay = copy_delay_] {
    std::this_thread::sleep_for(delay);
    std::memcpy(dst, src, bytes);
  });
  ++enqueued_;
  async_sizes_.push_back(bytes);
  count(bytes, kind);
  ++counters_.async_copies;
}

void TestDevice::synchronize() {
  maybe_fail(Call::synchronize);
  drain(enqueued_);
  ++counters_.syncs;
}

void TestDevice::drain(uint64_t upto) {
  while (!queue_.empty() && enqueued_ - queue_.size() < upto) {
    // Popped before running: a copy is done once, whatever happens next.
    auto op = std::move(queue_.front());
    queue_.pop_front();
    op();
  }
}

uint64_t TestDevice::record_marker() {
  maybe_fail(Call::record_marker);
  ++counters_.markers;
  return enqueued_;
}

void TestDevice::wait_marker(uint64_t marker) {
  maybe_fail(Call::wait_marker);
  if (marker > enqueued_) throw DeviceFailure(ErrorClass::other, "test device: wait for a marker never recorded");
  drain(marker);
  ++counters_.marker_waits;
}

}  // namespace mb
