#pragma once
// What the run context records about the torch the child measures (all keys start with torch_,
// so they never collide with the parent's): its version, the CUDA and cuDNN it was built with,
// its architecture list (torch.cuda.get_arch_list()), its CPU BLAS and threads.
#include <string>

#include "harness/context.hpp"

namespace mb {

// The facts at::show_config() states: torch_cuda, torch_cudnn ("none" in a CPU-only wheel),
// torch_blas ("mkl (oneAPI MKL 2024.2)"), torch_cpu_capability. Pure: tested on real texts.
Facts torch_config_facts(const std::string& show_config);

// Every torch fact of this process: the above, torch_version and torch_arch_list (read from the
// wheel's Python at build time: get_arch_list() is compiled into it), torch_cxx11_abi,
// torch_threads, and the CUDA runtime and device torch sees (or why none).
Facts torch_facts();

// Why torch's CUDA device cannot be used here (CPU-only wheel, no driver, no device, as the
// harness words it); empty when it can.
std::string torch_device_unavailable();

}  // namespace mb
