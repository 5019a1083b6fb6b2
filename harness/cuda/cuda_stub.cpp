// Temporary: the CUDA device runtime lands in harness/cuda/ (issue 3). Until then the
// device modes report unavailable in CUDA builds too. Delete when cuda_device.cpp exists.
#include "harness/context.hpp"
#include "harness/device.hpp"
#include "harness/status.hpp"

namespace mb {

Device& cuda_device() { throw Unavailable("CUDA device runtime not built yet"); }

Facts cuda_facts() { return {{"cuda_toolkit", "pending"}}; }

}  // namespace mb

#include "harness/ops/linear.hpp"
namespace mb {
std::unique_ptr<Instance> make_linear_gpu(const std::string& impl, LinearProblem&, Device&) {
  throw Unavailable("linear gpu impl '" + impl + "' not built yet");
}
}  // namespace mb
