// Built when CUDA is off: the device modes report why they cannot run.
#include "harness/context.hpp"
#include "harness/device/device.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "ops/knn/knn.hpp"
#include "ops/linear/linear.hpp"
#include "ops/ssim/ssim.hpp"
#include "harness/status.hpp"

namespace mb {
namespace {
constexpr const char* kNoCuda = "built without CUDA (MODEBENCH_CUDA=OFF or no toolkit found)";
}

Device& cuda_device() { throw Unavailable(kNoCuda); }

// The GPU factories of every op: in CUDA builds they live in harness/cuda/<op>_gpu.cpp.
std::unique_ptr<Instance> make_linear_gpu(const std::string&, LinearProblem&, Device&) { throw Unavailable(kNoCuda); }
std::unique_ptr<Instance> make_conv2d_gpu(const std::string&, Conv2dProblem&, Device&) { throw Unavailable(kNoCuda); }
std::unique_ptr<Instance> make_ssim_gpu(const std::string&, SsimProblem&, Device&) { throw Unavailable(kNoCuda); }
std::unique_ptr<Instance> make_knn_gpu(const std::string&, KnnProblem&, Device&) { throw Unavailable(kNoCuda); }

Facts cuda_facts() {
  return {{"cuda_toolkit", "none"},   {"cuda_archs", "none"},    {"cuda_runtime", "none"},
          {"cuda_driver", "none"},    {"device_name", "none"},   {"device_cc", "none"},
          {"cublas_version", "none"}, {"cudnn_version", "none"}, {"cudnn_max_device_version", "none"}};
}

}  // namespace mb
