#include "harness/op_case.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "harness/status.hpp"

namespace mb {

void Problem::poison_outputs() {
  for (TensorRef& t : tensors())
    if (t.role == Role::output) std::fill(t.data, t.data + t.count, std::numeric_limits<float>::quiet_NaN());
}

double Instance::timed_run_ms() {
  auto t0 = std::chrono::steady_clock::now();
  run();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

void OpCase::check_batch(int64_t batch) const {
  if (batch <= 0) throw BadInput("batch must be positive, got " + std::to_string(batch));
}

std::unique_ptr<Instance> OpCase::make_gpu(const std::string& impl, Problem&, Device&) const {
  throw Unavailable("no gpu impl '" + impl + "' for " + id());
}

}  // namespace mb
