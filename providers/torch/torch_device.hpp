#pragma once
// In modebench-torch, the process's CUDA device is the one torch's own runtime drives: this file
// defines the harness's cuda_device() and cuda_facts() for the child (linked in place of the
// no-CUDA stand-ins of harness/device/no_cuda.cpp, which the linker then leaves out of the
// harness archive; tests/test_torch_provider.cpp checks it). Torch impls allocate and copy
// through torch; the device serves the runner (lost after a sticky error, stale errors cleared,
// first use per impl) and torch's stream.
#include <c10/core/Stream.h>

#include "harness/device/device.hpp"

namespace mb {

// Torch's current CUDA stream on device 0 (the one its ops and copies are ordered on).
c10::Stream torch_cuda_stream();

class TorchDevice : public Device {
 public:
  std::string description() const override;
  bool is_test_device() const override { return false; }
  // Not used by torch impls (they allocate, pin and copy through torch): each throws.
  void* malloc_device(size_t bytes) override;
  void free_device(void*) noexcept override {}
  void pin(void* host, size_t bytes) override;
  void unpin(void*) noexcept override {}
  void copy(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  void copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) override;
  uint64_t record_marker() override;
  void wait_marker(uint64_t marker) override;
  // Torch's current stream.
  void synchronize() override;
  void check_launch(const char* what) override;
  void clear_stale_error() override;
};

}  // namespace mb
