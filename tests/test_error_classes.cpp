// Classification of CUDA, cuBLAS and cuDNN codes into docs/contract.md's failure
// classes, the "unavailable" reasons, and the rule that names the kernel image.
// Numbers are written out by hand from the headers (CUDA builds also
// static_assert them in harness/cuda/cuda_check.hpp).
#include <gtest/gtest.h>

#include "harness/device/cuda_errors.hpp"
#if MODEBENCH_HAVE_CUDA
#include "harness/device/cuda/cuda_check.hpp"
#endif

namespace mb {
namespace {

struct Row {
  int code;
  ErrorClass cls;
};

TEST(ErrorClasses, CudaRuntimeCodes) {
  const Row rows[] = {
      {209, ErrorClass::no_kernel_image},
      {98, ErrorClass::no_kernel_image},
      {200, ErrorClass::no_kernel_image},
      {222, ErrorClass::unsupported_ptx},
      {218, ErrorClass::unsupported_ptx},
      {221, ErrorClass::unsupported_ptx},
      {223, ErrorClass::unsupported_ptx},
      {35, ErrorClass::insufficient_driver},
      {36, ErrorClass::insufficient_driver},
      {34, ErrorClass::insufficient_driver},
      {803, ErrorClass::insufficient_driver},
      {804, ErrorClass::insufficient_driver},
      {2, ErrorClass::out_of_memory},
      {719, ErrorClass::launch_failure},
      {700, ErrorClass::launch_failure},
      {701, ErrorClass::launch_failure},
      {715, ErrorClass::launch_failure},
      {716, ErrorClass::launch_failure},
      {9, ErrorClass::launch_failure},
      {702, ErrorClass::timeout},
      {909, ErrorClass::timeout},
      {100, ErrorClass::other},
      {1, ErrorClass::other},
      {999, ErrorClass::other},
  };
  for (const Row& r : rows) EXPECT_EQ(classify_cuda_error(r.code), r.cls) << "cuda code " << r.code;
}

TEST(ErrorClasses, CublasStatuses) {
  const Row rows[] = {
      {8, ErrorClass::no_kernel_image}, {3, ErrorClass::out_of_memory},  {13, ErrorClass::launch_failure},
      {15, ErrorClass::library_error},  {1, ErrorClass::library_error},  {7, ErrorClass::library_error},
      {14, ErrorClass::library_error},  {16, ErrorClass::library_error},
  };
  for (const Row& r : rows) EXPECT_EQ(classify_cublas_status(r.code), r.cls) << "cublas status " << r.code;
}

TEST(ErrorClasses, CudnnStatuses) {
  const Row rows[] = {
      {3007, ErrorClass::no_kernel_image},     {4003, ErrorClass::out_of_memory},  {4004, ErrorClass::out_of_memory},
      {5000, ErrorClass::launch_failure},      {5001, ErrorClass::launch_failure}, {5003, ErrorClass::launch_failure},
      {3005, ErrorClass::insufficient_driver}, {3000, ErrorClass::library_error},  {3002, ErrorClass::library_error},
      {2000, ErrorClass::library_error},       {1001, ErrorClass::library_error},  {4000, ErrorClass::library_error},
  };
  for (const Row& r : rows) EXPECT_EQ(classify_cudnn_status(r.code), r.cls) << "cudnn status " << r.code;
}

TEST(ErrorClasses, UnavailableReasons) {
  // This machine: the runtime says "insufficient driver" and there is no libcuda at all.
  EXPECT_EQ(cuda_unavailable_reason(35, false, 0, 13000).value_or(""), "no CUDA driver (libcuda not loadable)");
  EXPECT_EQ(cuda_unavailable_reason(35, true, 12040, 13000).value_or(""),
            "driver too old: driver supports CUDA 12.4, this build's runtime is CUDA 13.0");
  EXPECT_EQ(cuda_unavailable_reason(100, true, 13000, 13000).value_or(""), "no CUDA device");
  EXPECT_TRUE(cuda_unavailable_reason(34, false, 0, 13000).value_or("").starts_with("no CUDA driver"));
  // Not about the device's absence: a failure, not unavailable.
  EXPECT_FALSE(cuda_unavailable_reason(2, true, 13000, 13000).has_value());
  EXPECT_FALSE(cuda_unavailable_reason(209, true, 13000, 13000).has_value());
}

// The CUDA 13 headers: "This leaves the process in an inconsistent state and any further
// CUDA work will return the same error" (and 710's "The device cannot be used again").
TEST(ErrorClasses, StickyErrorsAreTheOnesThatLeaveTheContextUnusable) {
  for (int code : {226, 700, 702, 710, 714, 715, 716, 717, 718, 719, 721, 911})
    EXPECT_TRUE(is_sticky_cuda_error(code)) << code;
  for (int code : {2, 9, 35, 46, 98, 200, 209, 218, 222, 701, 720, 999})
    EXPECT_FALSE(is_sticky_cuda_error(code)) << code;
}

TEST(ErrorClasses, ACudaErrorBecomesBusyOrAFailureThatKnowsWhetherItIsSticky) {
  EXPECT_THROW(throw_cuda_error(46, "cudaSetDevice"), DeviceBusy);
  try {
    throw_cuda_error(700, "kernel");
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::launch_failure);
    EXPECT_TRUE(f.sticky);
  }
  try {
    throw_cuda_error(2, "cudaMalloc");
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::out_of_memory);
    EXPECT_FALSE(f.sticky);
  }
}

TEST(ErrorClasses, ALibraryFailureWithNoImageBehindItIsNoKernelImage) {
  EXPECT_EQ(refine_library_failure(ErrorClass::launch_failure, 209), ErrorClass::no_kernel_image);
  EXPECT_EQ(refine_library_failure(ErrorClass::library_error, 98), ErrorClass::no_kernel_image);
  EXPECT_EQ(refine_library_failure(ErrorClass::launch_failure, 222), ErrorClass::unsupported_ptx);
  EXPECT_EQ(refine_library_failure(ErrorClass::launch_failure, 0), ErrorClass::launch_failure);
  EXPECT_EQ(refine_library_failure(ErrorClass::library_error, 700), ErrorClass::library_error);
  EXPECT_EQ(refine_library_failure(ErrorClass::out_of_memory, 209), ErrorClass::out_of_memory);
}

// "Unable to find a valid cuDNN algorithm": the per-algorithm statuses say why.
TEST(ErrorClasses, NoCudnnAlgorithmIsClassifiedFromThePerAlgorithmStatuses) {
  const NoAlgorithm arch = classify_no_algorithm({3007, 3007, 3007});
  EXPECT_EQ(arch.error_class, ErrorClass::no_kernel_image);
  EXPECT_EQ(arch.statuses, "ARCH_MISMATCH x3");
  const NoAlgorithm mixed = classify_no_algorithm({5003, 4004, 5000});
  EXPECT_EQ(mixed.error_class, ErrorClass::launch_failure);
  EXPECT_EQ(mixed.statuses, "EXECUTION_FAILED x2, ALLOC_FAILED x1");
  EXPECT_EQ(classify_no_algorithm({4004, 4003}).error_class, ErrorClass::out_of_memory);
  EXPECT_EQ(classify_no_algorithm({3000}).error_class, ErrorClass::library_error);
  EXPECT_EQ(classify_no_algorithm({3000}).statuses, "status 3000 x1");
  EXPECT_EQ(classify_no_algorithm({}).error_class, ErrorClass::library_error);
}

#if MODEBENCH_HAVE_CUDA
TEST(ErrorClasses, CheckFunctionsThrowClassAndNames) {
  try {
    check_cuda(cudaErrorNoKernelImageForDevice, "launch ssim_fused");
    FAIL() << "no throw";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::no_kernel_image);
    EXPECT_TRUE(std::string(f.what()).starts_with("launch ssim_fused: cudaErrorNoKernelImageForDevice: ")) << f.what();
  }
  try {
    check_cublas(CUBLAS_STATUS_ARCH_MISMATCH, "sgemm");
    FAIL() << "no throw";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::no_kernel_image);
    EXPECT_TRUE(std::string(f.what()).starts_with("sgemm: CUBLAS_STATUS_ARCH_MISMATCH: ")) << f.what();
  }
  try {
    check_cudnn(CUDNN_STATUS_EXECUTION_FAILED, "conv fwd");
    FAIL() << "no throw";
  } catch (const DeviceFailure& f) {
    EXPECT_EQ(f.error_class, ErrorClass::launch_failure);
    EXPECT_TRUE(std::string(f.what()).starts_with("conv fwd: CUDNN_STATUS_EXECUTION_FAILED")) << f.what();
  }
  EXPECT_NO_THROW(check_cuda(cudaSuccess, "ok"));
}
#endif

}  // namespace
}  // namespace mb
