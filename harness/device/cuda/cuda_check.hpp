#pragma once
// Turns CUDA, cuBLAS and cuDNN return codes into DeviceFailure with the class
// of docs/contract.md (harness/cuda_errors.hpp has the table). Use in harness/cuda
// code:  check_cuda(cudaMemsetAsync(...), "memset y");
// Kernels in kernels/cuda should return the status to harness code rather than
// call these (the classification lives in mb_harness, linked after them).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "harness/device/cuda_errors.hpp"
#include "harness/device/math_ran.hpp"
#include "harness/status.hpp"

namespace mb {

inline void check_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  // A failed call also leaves its error in the runtime's last-error slot; read it now
  // (a sticky one cannot be cleared) so the next launch check does not report it as its own.
  if (!is_sticky_cuda_error(static_cast<int>(e))) cudaGetLastError();
  throw_cuda_error(static_cast<int>(e), std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

// A library call failed: its class, refined by what the runtime's last error says (a kernel
// of the library with no image for this device shows up there, not in the library status).
[[noreturn]] inline void throw_library_failure(ErrorClass library_class, std::string message) {
  const cudaError_t runtime = cudaGetLastError();
  if (runtime != cudaSuccess) message += std::string(" (runtime: ") + cudaGetErrorName(runtime) + ")";
  throw DeviceFailure(refine_library_failure(library_class, static_cast<int>(runtime)), message,
                      is_sticky_cuda_error(static_cast<int>(runtime)));
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw_library_failure(classify_cublas_status(static_cast<int>(s)),
                        std::string(what) + ": " + cublasGetStatusName(s) + ": " + cublasGetStatusString(s));
}

inline void check_cudnn(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 has no separate name function: its string is the enum name.
  throw_library_failure(
      classify_cudnn_status(static_cast<int>(s)),
      std::string(what) + ": " + cudnnGetErrorString(s) + ": cudnn status " + std::to_string(static_cast<int>(s)));
}

// The numbers of cuda_errors.cpp must be the installed headers' values.
static_assert(cudaErrorMemoryAllocation == kCudaErrorMemoryAllocation);
static_assert(cudaErrorInsufficientDriver == kCudaErrorInsufficientDriver);
static_assert(cudaErrorStubLibrary == kCudaErrorStubLibrary);
static_assert(cudaErrorNoDevice == kCudaErrorNoDevice);
static_assert(cudaErrorNoKernelImageForDevice == kCudaErrorNoKernelImageForDevice);
static_assert(cudaErrorInvalidDeviceFunction == kCudaErrorInvalidDeviceFunction);
static_assert(cudaErrorUnsupportedPtxVersion == kCudaErrorUnsupportedPtxVersion);
static_assert(cudaErrorInvalidPtx == kCudaErrorInvalidPtx);
static_assert(cudaErrorJitCompilerNotFound == kCudaErrorJitCompilerNotFound);
static_assert(cudaErrorJitCompilationDisabled == kCudaErrorJitCompilationDisabled);
static_assert(cudaErrorLaunchFailure == kCudaErrorLaunchFailure);
static_assert(cudaErrorLaunchTimeout == kCudaErrorLaunchTimeout);
static_assert(cudaErrorDevicesUnavailable == kCudaErrorDevicesUnavailable);
static_assert(cudaErrorContained == kCudaErrorContained);
static_assert(cudaErrorIllegalAddress == kCudaErrorIllegalAddress);
static_assert(cudaErrorAssert == kCudaErrorAssert);
static_assert(cudaErrorHardwareStackError == kCudaErrorHardwareStackError);
static_assert(cudaErrorIllegalInstruction == 715 && cudaErrorMisalignedAddress == 716);
static_assert(cudaErrorInvalidAddressSpace == 717 && cudaErrorInvalidPc == kCudaErrorInvalidPc);
static_assert(cudaErrorTensorMemoryLeak == kCudaErrorTensorMemoryLeak);
static_assert(cudaErrorExternalDevice == kCudaErrorExternalDevice);
static_assert(CUBLAS_STATUS_ALLOC_FAILED == kCublasAllocFailed);
static_assert(CUBLAS_STATUS_ARCH_MISMATCH == kCublasArchMismatch);
static_assert(CUBLAS_STATUS_EXECUTION_FAILED == kCublasExecutionFailed);
static_assert(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH == kCudnnArchMismatch);
static_assert(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED == kCudnnDeviceAllocFailed);
static_assert(CUDNN_STATUS_EXECUTION_FAILED == kCudnnExecutionFailed);
static_assert(CUDNN_DEFAULT_MATH == kCudnnDefaultMath && CUDNN_TENSOR_OP_MATH == kCudnnTensorOpMath);
static_assert(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION == kCudnnTensorOpAllowConversion &&
              CUDNN_FMA_MATH == kCudnnFmaMath);

}  // namespace mb
