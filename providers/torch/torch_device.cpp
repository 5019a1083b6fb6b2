#include "providers/torch/torch_device.hpp"

#include <c10/core/impl/VirtualGuardImpl.h>

#include <stdexcept>

#include "harness/context.hpp"
#include "harness/device/cuda_errors.hpp"
#include "harness/status.hpp"
#include "providers/torch/torch_errors.hpp"
#include "providers/torch/torch_facts.hpp"
#include "providers/torch/torch_runtime.hpp"

namespace mb {
namespace {

[[noreturn]] void not_for_torch(const char* what) {
  throw std::logic_error(std::string("TorchDevice::") + what +
                         ": torch impls allocate and copy through torch, not through the harness's device");
}

}  // namespace

c10::Stream torch_cuda_stream() {
  const c10::impl::VirtualGuardImpl cuda(c10::DeviceType::CUDA);
  return cuda.getStream(c10::Device(c10::DeviceType::CUDA, 0));
}

std::string TorchDevice::description() const {
  const TorchCudaRuntime& rt = torch_cuda_runtime();
  return "CUDA device 0: " + rt.device_name + " (sm_" + std::to_string(rt.device_cc) + ") through torch " +
         MODEBENCH_TORCH_VERSION;
}

void* TorchDevice::malloc_device(size_t) { not_for_torch("malloc_device"); }
void TorchDevice::pin(void*, size_t) { not_for_torch("pin"); }
void TorchDevice::copy(void*, const void*, size_t, CopyKind) { not_for_torch("copy"); }
void TorchDevice::copy_async(void*, const void*, size_t, CopyKind) { not_for_torch("copy_async"); }
uint64_t TorchDevice::record_marker() { not_for_torch("record_marker"); }
void TorchDevice::wait_marker(uint64_t) { not_for_torch("wait_marker"); }

void TorchDevice::synchronize() {
  torch_guarded([] { torch_cuda_stream().synchronize(); });
}

void TorchDevice::check_launch(const char* what) {
  if (const int code = cuda_take_last_error(); code != 0)
    throw_cuda_error(code, std::string(what) + ": " + cuda_error_string(code));
}

void TorchDevice::clear_stale_error() { cuda_take_last_error(); }

// ---- the harness's device entry points, for this executable ----

Device& cuda_device() {
  if (const std::string why = torch_device_unavailable(); !why.empty()) {
    if (torch_cuda_runtime().device_count_error == kCudaErrorDevicesUnavailable) throw DeviceBusy(why);
    throw Unavailable(why);
  }
  static TorchDevice device;
  return device;
}

// None: the child's records join modebench's file, whose CUDA facts (its toolkit build, the
// driver, the device) stand for the run and form the host key, and fill in the keys a child's
// log lacks. What torch's own CUDA is and sees are torch_* facts (torch_facts()).
Facts cuda_facts() { return {}; }

}  // namespace mb
