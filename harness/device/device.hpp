#pragma once
// The device interface the device modes are written against. The CUDA
// implementation lives in harness/device/cuda/cuda_device.*; tests use TestDevice
// (tests/support/test_device.hpp), which stands in for CUDA with host memory and can
// be told to fail any call. Calls throw DeviceFailure (harness/status.hpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

namespace mb {

// Why device impls and modes cannot run in a build without CUDA.
inline constexpr const char* kBuiltWithoutCuda = "built without CUDA (MODEBENCH_CUDA=OFF or no toolkit found)";

enum class CopyKind { host_to_device, device_to_host };

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string description() const = 0;
  // True for the stand-in: its results are labelled and never enter a real report.
  virtual bool is_test_device() const = 0;
  // True for the simulated device (MODEBENCH_CUDA=SIM): correct results, never GPU timings.
  virtual bool is_simulated() const { return false; }

  virtual void* malloc_device(size_t bytes) = 0;
  virtual void free_device(void* p) noexcept = 0;
  // Page-locks existing host memory so copies to and from it are DMA-able and async.
  virtual void pin(void* host, size_t bytes) = 0;
  virtual void unpin(void* host) noexcept = 0;
  // Synchronous copy (pageable or pinned).
  virtual void copy(void* dst, const void* src, size_t bytes, CopyKind kind) = 0;
  // Ordered on the device's stream; host memory must be pinned.
  virtual void copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) = 0;
  virtual void synchronize() = 0;
  // A point in the stream after everything enqueued so far (markers increase).
  // wait_marker returns once the work before that point is done, without
  // waiting for work enqueued after it: a pipeline waits for one chunk's copy
  // while the next one is still in flight.
  virtual uint64_t record_marker() = 0;
  virtual void wait_marker(uint64_t marker) = 0;

  // After enqueueing kernels: reads (and so clears) the runtime's last-error slot, and
  // throws what a launch left there.
  virtual void check_launch(const char* what) = 0;
  // Before each entry: an error an earlier entry caught but left in the last-error slot
  // must not be reported as this entry's own launch failure.
  virtual void clear_stale_error() = 0;

  // After a sticky error the context is unusable for the rest of the process: every later
  // device entry is reported not run because of `entry`, never as failing by itself.
  void mark_lost(const std::string& entry) {
    if (lost_after_.empty()) lost_after_ = entry;
  }
  const std::string& lost_after() const { return lost_after_; }

  // True the first time `what` is named on this device (its context): the first
  // call of an impl here pays for module loading and, under forced JIT, compiling.
  bool first_use(const std::string& what) { return used_.insert(what).second; }

 private:
  std::set<std::string> used_;
  std::string lost_after_;
};

// RAII device allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Device& d, size_t bytes) : dev_(&d), ptr_(d.malloc_device(bytes)), bytes_(bytes) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_) dev_->free_device(ptr_);
  }
  void* get() const { return ptr_; }
  float* f32() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(dev_, o.dev_);
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
  }
  Device* dev_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// RAII typed device memory of `count` elements.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(Device& d, size_t count) : dev_(&d), buf_(d, count * sizeof(T)), count_(count) {}
  T* data() const { return static_cast<T*>(buf_.get()); }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }
  // Synchronous whole-array copies from/to host memory of size() elements.
  void upload(const T* host) { dev_->copy(data(), host, bytes(), CopyKind::host_to_device); }
  void download(T* host) const { dev_->copy(host, data(), bytes(), CopyKind::device_to_host); }

 private:
  Device* dev_ = nullptr;
  DeviceBuffer buf_;
  size_t count_ = 0;
};

// RAII page-locking of host memory the caller owns.
class PinnedRegion {
 public:
  PinnedRegion(Device& d, void* host, size_t bytes) : dev_(d), host_(host) { d.pin(host, bytes); }
  PinnedRegion(const PinnedRegion&) = delete;
  PinnedRegion& operator=(const PinnedRegion&) = delete;
  ~PinnedRegion() { dev_.unpin(host_); }

 private:
  Device& dev_;
  void* host_;
};

// The process's CUDA device 0. Throws Unavailable with the reason (built
// without CUDA, no driver, no device) when there is none.
Device& cuda_device();

}  // namespace mb
