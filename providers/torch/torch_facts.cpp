#include "providers/torch/torch_facts.hpp"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <dlfcn.h>

#include <regex>

#include "cuda_rules/arch.hpp"
#include "harness/device/cuda_errors.hpp"
#include "providers/torch/torch_runtime.hpp"

namespace mb {
namespace {

// "KEY=value" of show_config's "Build settings: A=1, B=2, ..." line; "" when absent.
std::string build_setting(const std::string& config, const std::string& key) {
  const std::regex re("[ ,:]" + key + "=([^,\\n]*)");
  std::smatch m;
  return std::regex_search(config, m, re) ? std::string(m[1]) : std::string();
}

std::string or_none(const std::string& s) { return s.empty() ? "none" : s; }

bool libcuda_loadable() {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!lib) lib = dlopen("libcuda.so.1", RTLD_LAZY);
  if (lib) dlclose(lib);
  return lib != nullptr;
}

}  // namespace

Facts torch_config_facts(const std::string& config) {
  Facts f;
  f.emplace_back("torch_cuda", or_none(build_setting(config, "CUDA_VERSION")));
  f.emplace_back("torch_cudnn", or_none(build_setting(config, "CUDNN_VERSION")));
  std::string blas = or_none(build_setting(config, "BLAS_INFO"));
  std::smatch m;
  if (std::regex_search(config, m, std::regex("Math Kernel Library Version ([0-9.]+)")))
    blas += " (oneAPI MKL " + std::string(m[1]) + ")";
  else if (std::regex_search(config, m, std::regex("OpenBLAS ([0-9.]+)")))
    blas += " (OpenBLAS " + std::string(m[1]) + ")";
  f.emplace_back("torch_blas", blas);
  const bool found = std::regex_search(config, m, std::regex("CPU capability usage: ([A-Za-z0-9_]+)"));
  f.emplace_back("torch_cpu_capability", found ? std::string(m[1]) : "unknown");
  return f;
}

std::string torch_device_unavailable() {
  const TorchCudaRuntime& rt = torch_cuda_runtime();
  const std::string torch = "torch " MODEBENCH_TORCH_VERSION;
  if (!rt.present) return torch + " is a CPU-only build (no CUDA runtime in the wheel)";
  if (rt.device_count_error != 0) {
    if (auto why =
            cuda_unavailable_reason(rt.device_count_error, libcuda_loadable(), rt.driver_version, rt.runtime_version))
      return torch + ": " + *why;
    return torch + ": cudaGetDeviceCount: " + cuda_error_string(rt.device_count_error);
  }
  if (rt.device_count == 0) return torch + ": no CUDA device";
  return {};
}

Facts torch_facts() {
  const TorchCudaRuntime& rt = torch_cuda_runtime();
  Facts f = {{"torch_version", MODEBENCH_TORCH_VERSION},
             {"torch_arch_list", MODEBENCH_TORCH_ARCH_LIST},
             {"torch_lib", MODEBENCH_TORCH_LIB},  // where probe judges its binaries
             {"torch_cxx11_abi", std::to_string(_GLIBCXX_USE_CXX11_ABI)}};
  for (auto& kv : torch_config_facts(at::show_config())) f.push_back(kv);
  f.emplace_back("torch_threads", std::to_string(at::get_num_threads()));
  f.emplace_back("torch_cuda_runtime", rt.present ? cuda_version_string(rt.runtime_version) : "none");
  const std::string why = torch_device_unavailable();
  f.emplace_back("torch_device",
                 why.empty() ? rt.device_name + " (sm_" + std::to_string(rt.device_cc) + ")" : "none (" + why + ")");
  return f;
}

}  // namespace mb
