// Stubs of GPU impls that do not exist yet (others append make_<op>_gpu here).
#include "harness/status.hpp"

#include "harness/ops/knn.hpp"
#include "harness/status.hpp"
namespace mb {
std::unique_ptr<Instance> make_knn_gpu(const std::string& impl, KnnProblem&, Device&) {
  throw Unavailable("knn gpu impl '" + impl + "' not built yet");
}
}  // namespace mb

#include "harness/ops/conv2d.hpp"
namespace mb {
std::unique_ptr<Instance> make_conv2d_gpu(const std::string& impl, Conv2dProblem&, Device&) {
  throw Unavailable("conv2d gpu impl '" + impl + "' not built yet");
}
}  // namespace mb
