// Built when CUDA is off: the device modes report why they cannot run.
#include "harness/context.hpp"
#include "harness/device/device.hpp"
#include "harness/status.hpp"

namespace mb {

Device& cuda_device() { throw Unavailable(kBuiltWithoutCuda); }

Facts cuda_facts() {
  return {{"cuda_toolkit", "none"},   {"cuda_archs", "none"},    {"cuda_runtime", "none"},
          {"cuda_driver", "none"},    {"device_name", "none"},   {"device_cc", "none"},
          {"cublas_version", "none"}, {"cudnn_version", "none"}, {"cudnn_max_device_version", "none"}};
}

}  // namespace mb
