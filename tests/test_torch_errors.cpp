// Torch's exceptions as the harness's statuses (providers/torch/torch_errors.hpp): the CUDA runtime's
// error strings by their codes, cuBLAS/cuDNN statuses by name, refined by the runtime's last error.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <map>

#include "harness/device/cuda_errors.hpp"
#include "providers/torch/torch_errors.hpp"

namespace mb {
namespace {

// The runtime's strings of the codes the cases use (CUDA 13 cudaGetErrorString).
std::optional<int> code_of(const std::string& text) {
  static const std::map<std::string, int> codes = {
      {"no kernel image is available for execution on the device", kCudaErrorNoKernelImageForDevice},
      {"an illegal memory access was encountered", kCudaErrorIllegalAddress},
      {"the provided PTX was compiled with an unsupported toolchain.", kCudaErrorUnsupportedPtxVersion},
      {"CUDA driver version is insufficient for CUDA runtime version", kCudaErrorInsufficientDriver}};
  auto it = codes.find(text);
  return it == codes.end() ? std::nullopt : std::optional<int>(it->second);
}

DeviceFailure classify(const std::string& message, int last_error = 0, bool oom = false) {
  return classify_torch_error({message, oom, last_error}, code_of);
}

TEST(TorchErrors, CudaRuntimeErrorsByTheirCode) {
  const DeviceFailure image = classify(
      "CUDA error: no kernel image is available for execution on the device\nCUDA kernel errors might be "
      "asynchronously reported at some other API call, so the stacktrace below might be incorrect.");
  EXPECT_EQ(image.error_class, ErrorClass::no_kernel_image);
  EXPECT_FALSE(image.sticky);
  EXPECT_EQ(std::string(image.what()), "CUDA error: no kernel image is available for execution on the device");
  EXPECT_EQ(classify("CUDA error: the provided PTX was compiled with an unsupported toolchain.").error_class,
            ErrorClass::unsupported_ptx);
  EXPECT_EQ(classify("CUDA error: CUDA driver version is insufficient for CUDA runtime version").error_class,
            ErrorClass::insufficient_driver);
}

TEST(TorchErrors, AStickyErrorLosesTheDevice) {
  const DeviceFailure f = classify("CUDA error: an illegal memory access was encountered\nSearch for ...");
  EXPECT_EQ(f.error_class, ErrorClass::launch_failure);
  EXPECT_TRUE(f.sticky);
}

TEST(TorchErrors, LibraryStatusesByNameRefinedByTheRuntime) {
  EXPECT_EQ(classify("CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm( handle, opa, opb, m, n, k, ...)`")
                .error_class,
            ErrorClass::launch_failure);
  // A cuBLAS kernel without an image: the library says EXECUTION_FAILED, the runtime says why.
  EXPECT_EQ(classify("CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm(...)`", kCudaErrorNoKernelImageForDevice)
                .error_class,
            ErrorClass::no_kernel_image);
  EXPECT_EQ(classify("cuDNN error: CUDNN_STATUS_ARCH_MISMATCH").error_class, ErrorClass::no_kernel_image);
  EXPECT_EQ(classify("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED").error_class, ErrorClass::library_error);
  EXPECT_EQ(classify("CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`").error_class,
            ErrorClass::out_of_memory);
}

TEST(TorchErrors, OutOfMemoryAndTheRest) {
  EXPECT_EQ(classify("CUDA out of memory. Tried to allocate 2.00 GiB.", 0, true).error_class,
            ErrorClass::out_of_memory);
  EXPECT_EQ(classify("Expected all tensors to be on the same device").error_class, ErrorClass::other);
  EXPECT_EQ(classify("CUDA error: something this runtime does not name").error_class, ErrorClass::other);
}

// Through torch_guarded: a real c10::Error from torch becomes a DeviceFailure without backtrace.
TEST(TorchErrors, GuardedTurnsTorchErrorsIntoFailures) {
  try {
    torch_guarded([] { TORCH_CHECK(false, "a check torch makes"); });
    FAIL() << "no exception";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::other);
    EXPECT_NE(std::string(f.what()).find("a check torch makes"), std::string::npos);
    EXPECT_EQ(std::string(f.what()).find('\n'), std::string::npos) << f.what();
  }
}

}  // namespace
}  // namespace mb
