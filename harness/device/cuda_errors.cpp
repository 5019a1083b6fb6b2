#include "harness/device/cuda_errors.hpp"

#include <algorithm>

#include "probe/arch.hpp"

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

std::string cuda_version_string(int v) {
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::optional<std::string> cuda_unavailable_reason(int code, bool libcuda_loadable, int driver_version,
                                                   int runtime_version) {
  switch (code) {
    case kCudaErrorStubLibrary: return "no CUDA driver (only the stub libcuda is installed)";
    case kCudaErrorNoDevice: return "no CUDA device";
    case kCudaErrorDevicesUnavailable: return "every CUDA device is busy or unavailable (compute mode)";
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

std::vector<int> compatible_sass(int device_cc, const std::string& built_archs) {
  std::vector<int> out;
  for (const ArchTarget& t : parse_arch_list(built_archs))
    if (t.sass && sass_runs_on(t, device_cc)) out.push_back(t.cc);
  std::sort(out.rbegin(), out.rend());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string image_label(int binary_version, int ptx_version, int device_cc, const std::string& built_archs,
                        bool forced_jit) {
  if (forced_jit) return "ptx:" + std::to_string(ptx_version);
  const std::vector<int> sass = compatible_sass(device_cc, built_archs);
  if (!sass.empty() && binary_version == sass.front()) return "sass:" + std::to_string(binary_version);
  if (ptx_version > 0) return "ptx:" + std::to_string(ptx_version);
  return "sass:" + std::to_string(binary_version);
}

}  // namespace mb
