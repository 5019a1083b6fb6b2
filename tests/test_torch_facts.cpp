// The torch facts of the run context, read from at::show_config() texts of real wheels.
#include <gtest/gtest.h>

#include <map>

#include "providers/torch/torch_facts.hpp"

namespace mb {
namespace {

std::map<std::string, std::string> as_map(const Facts& f) { return {f.begin(), f.end()}; }

// Excerpts of at::show_config() of torch 2.5.1+cu124 and of a CPU-only wheel.
constexpr const char* kCuda124 =
    "PyTorch built with:\n  - GCC 9.3\n  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 "
    "for Intel(R) 64 architecture applications\n  - CPU capability usage: AVX512\n  - Build settings: BLAS_INFO=mkl, "
    "BUILD_TYPE=Release, CUDA_VERSION=12.4, CUDNN_VERSION=9.1.0, CXX_COMPILER=/opt/rh/devtoolset-9/root/usr/bin/c++, "
    "TORCH_VERSION=2.5.1, USE_CUDA=ON, USE_CUDNN=ON,\n";
constexpr const char* kCpuOnly =
    "PyTorch built with:\n  - GCC 11.2\n  - OpenMP 201511 (a.k.a. OpenMP 4.5)\n  - CPU capability usage: AVX2\n"
    "  - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, CXX_COMPILER=/usr/bin/c++, TORCH_VERSION=2.3.0, "
    "USE_CUDA=OFF, USE_CUDNN=OFF,\n";

TEST(TorchFacts, ConfigOfACudaWheel) {
  const auto f = as_map(torch_config_facts(kCuda124));
  EXPECT_EQ(f.at("torch_cuda"), "12.4");
  EXPECT_EQ(f.at("torch_cudnn"), "9.1.0");
  EXPECT_EQ(f.at("torch_blas"), "mkl (oneAPI MKL 2024.2)");
  EXPECT_EQ(f.at("torch_cpu_capability"), "AVX512");
}

TEST(TorchFacts, ConfigOfACpuOnlyWheelSaysNone) {
  const auto f = as_map(torch_config_facts(kCpuOnly));
  EXPECT_EQ(f.at("torch_cuda"), "none");
  EXPECT_EQ(f.at("torch_cudnn"), "none");
  EXPECT_EQ(f.at("torch_blas"), "open");
  EXPECT_EQ(f.at("torch_cpu_capability"), "AVX2");
}

}  // namespace
}  // namespace mb
