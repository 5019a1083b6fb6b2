#pragma once
// Turns CUDA, cuBLAS and cuDNN return codes into DeviceFailure with the class
// of contract.md (harness/cuda_errors.hpp has the table). Use in harness/cuda
// code:  check_cuda(cudaMemsetAsync(...), "memset y");
// Kernels in kernels/cuda should return the status to harness code rather than
// call these (the classification lives in mb_harness, linked after them).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "harness/device/cuda_errors.hpp"
#include "harness/status.hpp"

namespace mb {

inline void check_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  throw DeviceFailure(classify_cuda_error(static_cast<int>(e)),
                      std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw DeviceFailure(classify_cublas_status(static_cast<int>(s)),
                      std::string(what) + ": " + cublasGetStatusName(s) + ": " + cublasGetStatusString(s));
}

inline void check_cudnn(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 has no separate name function: its string is the enum name.
  throw DeviceFailure(
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
static_assert(CUBLAS_STATUS_ALLOC_FAILED == kCublasAllocFailed);
static_assert(CUBLAS_STATUS_ARCH_MISMATCH == kCublasArchMismatch);
static_assert(CUBLAS_STATUS_EXECUTION_FAILED == kCublasExecutionFailed);
static_assert(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH == kCudnnArchMismatch);
static_assert(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED == kCudnnDeviceAllocFailed);
static_assert(CUDNN_STATUS_EXECUTION_FAILED == kCudnnExecutionFailed);

}  // namespace mb
