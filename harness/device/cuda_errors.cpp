#include "harness/device/cuda_errors.hpp"

#include <algorithm>

#include "cuda_rules/arch.hpp"  // cuda_version_string

namespace mb {

ErrorClass classify_cuda_error(int code) {
  switch (code) {
    case kCudaErrorNoKernelImageForDevice:
    case kCudaErrorInvalidDeviceFunction:
    case kCudaErrorInvalidKernelImage: return ErrorClass::no_kernel_image;
    case kCudaErrorUnsupportedPtxVersion:
    case kCudaErrorInvalidPtx:
    case kCudaErrorJitCompilerNotFound:
    case kCudaErrorJitCompilationDisabled: return ErrorClass::unsupported_ptx;
    case kCudaErrorStubLibrary:
    case kCudaErrorInsufficientDriver:
    case kCudaErrorCallRequiresNewerDriver:
    case kCudaErrorSystemDriverMismatch:
    case kCudaErrorCompatNotSupportedOnDevice: return ErrorClass::insufficient_driver;
    case kCudaErrorMemoryAllocation: return ErrorClass::out_of_memory;
    case kCudaErrorLaunchTimeout:
    case kCudaErrorTimeout: return ErrorClass::timeout;
    case kCudaErrorInvalidConfiguration:
    case kCudaErrorIllegalAddress:
    case kCudaErrorLaunchOutOfResources:
    case 703:  // cudaErrorLaunchIncompatibleTexturing
    case 709:  // cudaErrorContextIsDestroyed (after a sticky fault)
    case 710:  // cudaErrorAssert
    case 711:  // cudaErrorTooManyPeers
    case 714:  // cudaErrorHardwareStackError
    case 715:  // cudaErrorIllegalInstruction
    case 716:  // cudaErrorMisalignedAddress
    case 717:  // cudaErrorInvalidAddressSpace
    case 718:  // cudaErrorInvalidPc
    case kCudaErrorLaunchFailure:
    case 720:  // cudaErrorCooperativeLaunchTooLarge
      return ErrorClass::launch_failure;
    default: return ErrorClass::other;
  }
}

ErrorClass classify_cublas_status(int status) {
  switch (status) {
    case kCublasArchMismatch: return ErrorClass::no_kernel_image;
    case kCublasAllocFailed: return ErrorClass::out_of_memory;
    case kCublasExecutionFailed: return ErrorClass::launch_failure;
    default: return ErrorClass::library_error;
  }
}

ErrorClass classify_cudnn_status(int status) {
  // cuDNN 9 codes are category*1000 + detail; a few details have their own class.
  switch (status) {
    case kCudnnArchMismatch: return ErrorClass::no_kernel_image;
    case kCudnnIncompatibleCudaDriver: return ErrorClass::insufficient_driver;
    case kCudnnHostAllocFailed:
    case kCudnnDeviceAllocFailed: return ErrorClass::out_of_memory;
    default: break;
  }
  if (status / 1000 * 1000 == kCudnnExecutionFailed) return ErrorClass::launch_failure;
  return ErrorClass::library_error;
}

bool is_sticky_cuda_error(int code) {
  switch (code) {
    case kCudaErrorContained:
    case kCudaErrorIllegalAddress:
    case kCudaErrorLaunchTimeout:
    case kCudaErrorAssert:
    case kCudaErrorHardwareStackError:
    case 715:  // cudaErrorIllegalInstruction
    case 716:  // cudaErrorMisalignedAddress
    case 717:  // cudaErrorInvalidAddressSpace
    case kCudaErrorInvalidPc:
    case kCudaErrorLaunchFailure:
    case kCudaErrorTensorMemoryLeak:
    case kCudaErrorExternalDevice: return true;
    default: return false;
  }
}

void throw_cuda_error(int code, const std::string& message) {
  if (code == kCudaErrorDevicesUnavailable) throw DeviceBusy(message);
  throw DeviceFailure(classify_cuda_error(code), message, is_sticky_cuda_error(code));
}

ErrorClass refine_library_failure(ErrorClass library_class, int runtime_error) {
  if (runtime_error == 0 || library_class == ErrorClass::out_of_memory) return library_class;
  const ErrorClass runtime_class = classify_cuda_error(runtime_error);
  return runtime_class == ErrorClass::no_kernel_image || runtime_class == ErrorClass::unsupported_ptx ? runtime_class
                                                                                                      : library_class;
}

namespace {
const char* cudnn_status_short_name(int status) {
  if (status == kCudnnArchMismatch) return "ARCH_MISMATCH";
  if (status / 1000 * 1000 == kCudnnExecutionFailed) return "EXECUTION_FAILED";
  if (status == kCudnnHostAllocFailed || status == kCudnnDeviceAllocFailed) return "ALLOC_FAILED";
  if (status == 0) return "SUCCESS";
  return nullptr;
}
}  // namespace

NoAlgorithm classify_no_algorithm(const std::vector<int>& per_algorithm_status) {
  std::vector<std::pair<std::string, int>> counts;  // in order of first appearance
  for (int st : per_algorithm_status) {
    const char* known = cudnn_status_short_name(st);
    const std::string name = known ? known : "status " + std::to_string(st);
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == name; });
    if (it == counts.end())
      counts.emplace_back(name, 1);
    else
      ++it->second;
  }
  NoAlgorithm out{ErrorClass::library_error, {}};
  for (const auto& [name, n] : counts)
    out.statuses += (out.statuses.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  if (out.statuses.empty()) out.statuses = "no algorithm returned";
  auto any = [&](const char* name) {
    return std::any_of(counts.begin(), counts.end(), [&](const auto& c) { return c.first == name; });
  };
  if (any("ARCH_MISMATCH"))
    out.error_class = ErrorClass::no_kernel_image;
  else if (any("EXECUTION_FAILED"))
    out.error_class = ErrorClass::launch_failure;
  else if (any("ALLOC_FAILED"))
    out.error_class = ErrorClass::out_of_memory;
  return out;
}

std::optional<std::string> cuda_unavailable_reason(int code, bool libcuda_loadable, int driver_version,
                                                   int runtime_version) {
  switch (code) {
    case kCudaErrorStubLibrary: return "no CUDA driver (only the stub libcuda is installed)";
    case kCudaErrorNoDevice: return "no CUDA device";
    case kCudaErrorInsufficientDriver:
    case kCudaErrorSystemDriverMismatch:
    case kCudaErrorCompatNotSupportedOnDevice:
      if (!libcuda_loadable || driver_version == 0) return "no CUDA driver (libcuda not loadable)";
      return "driver too old: driver supports CUDA " + cuda_version_string(driver_version) +
             ", this build's runtime is CUDA " + cuda_version_string(runtime_version);
    case kCudaErrorInitializationError:
      if (!libcuda_loadable) return "no CUDA driver (libcuda not loadable)";
      return std::nullopt;
    default: return std::nullopt;
  }
}

}  // namespace mb
