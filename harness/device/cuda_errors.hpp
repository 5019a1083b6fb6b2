#pragma once
// Pure classification of CUDA runtime, cuBLAS and cuDNN codes into the
// failure classes of docs/contract.md, by number, so it is compiled and tested in
// every build (CUDA builds static_assert the numbers in harness/cuda/cuda_check.hpp).
//
// Rules:
// - no usable image at all (209, 98, 200; cuBLAS/cuDNN ARCH_MISMATCH) -> no_kernel_image
// - PTX is there but the driver cannot JIT it (222 too new, 218 invalid,
//   221 no JIT compiler, 223 JIT disabled)                         -> unsupported_ptx
// - driver older than runtime or library needs (35, 36, 803, 804, 34 stub libcuda,
//   cuDNN INCOMPATIBLE_CUDA_DRIVER)                                 -> insufficient_driver
// - allocation failures (2; cuBLAS ALLOC_FAILED; cuDNN *_ALLOCATION_FAILED) -> out_of_memory
// - faults during or at launch (700, 701, 703, 709-720, 9; cuBLAS/cuDNN EXECUTION_FAILED*) -> launch_failure
// - 702 launch timeout, 909 timeout                                   -> timeout
// - any other cuBLAS/cuDNN status                                     -> library_error
// - any other CUDA code (100 no device included: mid-run it is not "unavailable") -> other
// - 46 devices unavailable (another process holds an EXCLUSIVE_PROCESS device) -> busy, not a failure
// "Unavailable" is not a failure class: it is decided once, when the device is
// opened, by cuda_unavailable_reason() below.
// Sticky errors (is_sticky_cuda_error) leave the context unusable: the device is lost.
#include <optional>
#include <string>
#include <vector>

#include "harness/status.hpp"

namespace mb {

// The codes the rules name (values of CUDA 13.0 / cuBLAS 13 / cuDNN 9 headers).
inline constexpr int kCudaErrorInvalidConfiguration = 9;
inline constexpr int kCudaErrorMemoryAllocation = 2;
inline constexpr int kCudaErrorInitializationError = 3;
inline constexpr int kCudaErrorStubLibrary = 34;
inline constexpr int kCudaErrorInsufficientDriver = 35;
inline constexpr int kCudaErrorCallRequiresNewerDriver = 36;
inline constexpr int kCudaErrorDevicesUnavailable = 46;
inline constexpr int kCudaErrorInvalidDeviceFunction = 98;
inline constexpr int kCudaErrorNoDevice = 100;
inline constexpr int kCudaErrorInvalidKernelImage = 200;
inline constexpr int kCudaErrorNoKernelImageForDevice = 209;
inline constexpr int kCudaErrorInvalidPtx = 218;
inline constexpr int kCudaErrorJitCompilerNotFound = 221;
inline constexpr int kCudaErrorUnsupportedPtxVersion = 222;
inline constexpr int kCudaErrorJitCompilationDisabled = 223;
inline constexpr int kCudaErrorContained = 226;
inline constexpr int kCudaErrorIllegalAddress = 700;
inline constexpr int kCudaErrorLaunchOutOfResources = 701;
inline constexpr int kCudaErrorLaunchTimeout = 702;
inline constexpr int kCudaErrorAssert = 710;
inline constexpr int kCudaErrorHardwareStackError = 714;
inline constexpr int kCudaErrorInvalidPc = 718;
inline constexpr int kCudaErrorLaunchFailure = 719;
inline constexpr int kCudaErrorTensorMemoryLeak = 721;
inline constexpr int kCudaErrorExternalDevice = 911;
inline constexpr int kCudaErrorSystemDriverMismatch = 803;
inline constexpr int kCudaErrorCompatNotSupportedOnDevice = 804;
inline constexpr int kCudaErrorTimeout = 909;

inline constexpr int kCublasNotInitialized = 1;
inline constexpr int kCublasAllocFailed = 3;
inline constexpr int kCublasArchMismatch = 8;
inline constexpr int kCublasExecutionFailed = 13;
inline constexpr int kCublasNotSupported = 15;

inline constexpr int kCudnnIncompatibleCudaDriver = 3005;
inline constexpr int kCudnnArchMismatch = 3007;
inline constexpr int kCudnnHostAllocFailed = 4003;
inline constexpr int kCudnnDeviceAllocFailed = 4004;
inline constexpr int kCudnnExecutionFailed = 5000;

ErrorClass classify_cuda_error(int code);
ErrorClass classify_cublas_status(int status);
ErrorClass classify_cudnn_status(int status);

// The errors the CUDA 13 headers describe as leaving "the process in an inconsistent state
// [where] any further CUDA work will return the same error" (226, 700, 702, 710, 714-719,
// 721, 911): after one, the device is lost for this process.
bool is_sticky_cuda_error(int code);

// The exception a failed CUDA runtime call becomes: DeviceBusy for 46, else a
// DeviceFailure of its class, sticky where is_sticky_cuda_error says so.
[[noreturn]] void throw_cuda_error(int code, const std::string& message);

// A cuBLAS/cuDNN failure refined by the runtime's last error: a library whose kernel had no
// image for this device (forced JIT without PTX, a GPU newer than the library) reports
// EXECUTION_FAILED or NOT_SUPPORTED while the runtime holds 209/98; that is no_kernel_image.
// `runtime_error` is what cudaGetLastError returned after the library call (0: none).
ErrorClass refine_library_failure(ErrorClass library_class, int runtime_error);

// cudnnFind... returned no usable algorithm: the class its per-algorithm statuses point to
// (all of one of ARCH_MISMATCH -> no_kernel_image, EXECUTION_FAILED* -> launch_failure,
// *ALLOC_FAILED -> out_of_memory, in that order of precedence when mixed; none of these or
// an empty list -> library_error), and the statuses listed for the message.
struct NoAlgorithm {
  ErrorClass error_class;
  std::string statuses;  // "ARCH_MISMATCH x7, EXECUTION_FAILED x1"
};
NoAlgorithm classify_no_algorithm(const std::vector<int>& per_algorithm_status);

// Why the GPU modes cannot run at all, from the code cudaGetDeviceCount (or
// the first runtime call) returned; nullopt when the code is not about the
// device's absence (then it is a failure, classified as above).
// `libcuda_loadable`: whether libcuda.so.1 could be dlopen'ed; a runtime that
// reports "insufficient driver" with no libcuda at all means "no driver".
std::optional<std::string> cuda_unavailable_reason(int code, bool libcuda_loadable, int driver_version,
                                                   int runtime_version);

}  // namespace mb
