#include "harness/device/cuda_errors.hpp"

#include "probe/arch.hpp"  // cuda_version_string

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

}  // namespace mb
