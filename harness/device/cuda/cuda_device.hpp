#pragma once
// The CUDA implementation of Device (CUDA builds only).
//
// Usage for GPU impls (ops/<op>/gpu.cpp):
//   CudaDevice& cd = as_cuda(dev);            // Unavailable for the test device
//   DeviceArray<float> x(cd, p.x.size());     // RAII device memory
//   x.upload(p.x.data());                     // at setup, outside timing
//   cublasSgemm(cd.cublas(), ...)             // handle bound to cd.stream()
//   check_cublas(status, "sgemm");            // harness/cuda/cuda_check.hpp
//   double timed_run_ms() override { return time_on_stream_ms(cd, [&] { run(); }); }
//   std::string label() const override { return "math=fp32;" + kernel_image_label((const void*)my_kernel); }
//   (kernel_image_label gives image=...)
// Everything runs on cd.stream(); run() only enqueues. fetch_outputs()
// downloads (y.download(p.y.data())), which synchronizes.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/device/device.hpp"
#include "harness/status.hpp"

namespace mb {

class CudaEvent;

class CudaDevice : public Device {
 public:
  // Selects the device and creates a non-blocking stream. Throws DeviceFailure.
  explicit CudaDevice(int device_id);
  ~CudaDevice() override;
  CudaDevice(const CudaDevice&) = delete;
  CudaDevice& operator=(const CudaDevice&) = delete;

  std::string description() const override;
  bool is_test_device() const override { return false; }
#if defined(MODEBENCH_SIM)
  bool is_simulated() const override { return true; }
#endif
  void* malloc_device(size_t bytes) override;
  void free_device(void* p) noexcept override;
  void pin(void* host, size_t bytes) override;
  void unpin(void* host) noexcept override;
  // Ordered on stream() and complete on return (pageable or pinned host memory).
  void copy(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  void copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  void synchronize() override;
  // Markers are events recorded on stream() from a small ring: waiting on a
  // marker whose event was since re-recorded waits for a later point, which
  // is still correct (only longer).
  uint64_t record_marker() override;
  void wait_marker(uint64_t marker) override;
  void check_launch(const char* what) override;
  void clear_stale_error() override;

  cudaStream_t stream() const { return stream_; }
  // Created on first use, bound to stream(), destroyed with the device.
  cublasHandle_t cublas();
  cudnnHandle_t cudnn();
  int device_id() const { return id_; }
  // major*10+minor, e.g. 86 or 120 (the binaryVersion encoding).
  int compute_capability() const { return cc_major_ * 10 + cc_minor_; }
  int cc_major() const { return cc_major_; }
  int cc_minor() const { return cc_minor_; }
  const std::string& name() const { return name_; }
  size_t total_memory() const { return total_mem_; }

 private:
  int id_;
  int cc_major_ = 0, cc_minor_ = 0;
  size_t total_mem_ = 0;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  static constexpr size_t kMarkerRing = 8;
  std::vector<std::unique_ptr<CudaEvent>> markers_;  // created on first use
  uint64_t next_marker_ = 1;
};

// Whether the device modes can run here, decided once without creating a CUDA context
// (cudaGetDeviceCount initialises the driver only). `unavailable` says why not (no driver,
// no device, driver too old: the one text every caller shows); `failure` is any other error.
struct CudaAvailability {
  int device_count = 0;
  std::string unavailable;  // empty when devices can be used
  std::string busy;         // every device is held by other processes (cudaErrorDevicesUnavailable)
  std::optional<DeviceFailure> failure;
};
const CudaAvailability& cuda_availability();

// "13.0.0.19" from cuBLAS's properties (no handle, no device needed); "none" when unreadable.
std::string cublas_version();

// The device a GPU impl was given, as CUDA; Unavailable when it is the test device.
CudaDevice& as_cuda(Device& d);

// RAII CUDA event (default flags: timing; cudaEventDisableTiming for markers).
class CudaEvent {
 public:
  explicit CudaEvent(unsigned flags = cudaEventDefault);
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return ev_; }
  void record(cudaStream_t s);
  void synchronize();
  // Milliseconds from `start` to this event (both recorded and complete).
  float elapsed_since(const CudaEvent& start) const;

 private:
  cudaEvent_t ev_ = nullptr;
};

// Events around `enqueue` on dev.stream(), waits, returns the elapsed ms.
// Launch errors (cudaGetLastError) and asynchronous faults become DeviceFailure.
double time_on_stream_ms(CudaDevice& dev, const std::function<void()>& enqueue);

// "image=sass:<v>" or "image=ptx:<v>" for one of our __global__ functions on the
// current device (rule: cuda_rules/arch.hpp image_that_ran()): our own kernel's image, not the
// cuBLAS/cuDNN kernels' (which the runtime does not report).
std::string kernel_image_label(const void* kernel_fn);

}  // namespace mb
