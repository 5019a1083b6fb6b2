// Toolkit, runtime, driver, device and library facts for the JSON context.
// Must work without a driver: only calls that need no device are made when
// there is none, and their failures become "none".
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <library_types.h>

#include "cuda_rules/arch.hpp"
#include "harness/build_info.hpp"
#include "harness/context.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "harness/status.hpp"

namespace mb {

Facts cuda_facts() {
  Facts f;
#if defined(MODEBENCH_SIM)
  f.emplace_back("device", "sim");  // the simulated device: its timings are never GPU timings
#endif
  f.emplace_back("cuda_toolkit", build_info::cuda_toolkit);
  f.emplace_back("cuda_archs", build_info::cuda_archs);
  int runtime = 0, driver = 0;
  f.emplace_back("cuda_runtime",
                 cudaRuntimeGetVersion(&runtime) == cudaSuccess ? cuda_version_string(runtime) : "none");
  f.emplace_back("cuda_driver", cudaDriverGetVersion(&driver) == cudaSuccess ? cuda_version_string(driver) : "none");

  // Properties only: no context is created here (a child may need the device to itself).
  std::string name = "none", cc = "none";
  const CudaAvailability& available = cuda_availability();
  cudaDeviceProp prop{};
  if (available.failure)
    name = "none (failed: " + std::string(to_string(available.failure->error_class)) + ": " +
           available.failure->what() + ")";
  else if (!available.busy.empty())
    name = "none (busy: " + available.busy + ")";
  else if (!available.unavailable.empty())
    name = "none (" + available.unavailable + ")";
  else if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    name = prop.name;
    cc = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  }
  f.emplace_back("device_name", name);
  f.emplace_back("device_cc", cc);

  // Library properties need no handle and no device.
  f.emplace_back("cublas_version", cublas_version());
  f.emplace_back("cudnn_version", cudnn_version_string(static_cast<int>(cudnnGetVersion())));
  // Newest CC cuDNN has native kernels for; newer GPUs run its PTX forward-compat mode.
  const size_t max_dev = cudnnGetMaxDeviceVersion();
  f.emplace_back("cudnn_max_device_version", std::to_string(max_dev / 100) + "." + std::to_string(max_dev % 100 / 10));
  return f;
}

}  // namespace mb
