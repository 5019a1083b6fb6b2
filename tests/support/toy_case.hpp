#pragma once
// A tiny op for harness tests: y = w * x with one scalar weight (2), so the reference is
// obvious. Host impls "right", "wrong" (one output off by 0.5) and "wrong_small" (that
// output off only at batches up to 4, where a full check sees it and a sample of a large
// batch does not), and "sleepy" (right, and each call takes at least kSleepyCallMs). More
// than kFullCheckOutputs outputs are checked on the usual sample. A device impl "kernel":
// unbuilt (unavailable, like a CPU-only build) unless `kernel_on_host`, where it runs on
// the host after a set-up of kKernelSetupMs (like a cudnnFind), so the device modes' paths
// run on the test device.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/op_case.hpp"
#include "harness/registry.hpp"

namespace mb {

struct ToyProblem : Problem {
  explicit ToyProblem(int64_t n) : Problem(n), x(n), w(1, 2.0f), y(n) {}
  std::vector<TensorRef> tensors() override {
    return {{"x", Role::input, x.data(), x.size()},
            {"w", Role::weight, w.data(), 1},
            {"y", Role::output, y.data(), y.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<ToyProblem>(*this); }
  std::vector<float> x, w, y;
};

class ToyCase : public CaseOf<ToyProblem> {
 public:
  static constexpr int kKernelSetupMs = 5;
  static constexpr int kSleepyCallMs = 2;
  static constexpr double kFullCheckOutputs = 200'000;
  explicit ToyCase(std::string name, bool kernel_on_host = false);
  // Declares impls "provided" (host) and "provided_hybrid" (hybrid) of a provider named
  // "toyprovider", whose executable is never built: how provider rows behave.
  void add_toy_provider_impls();
  std::string op() const override { return "toy"; }
  std::string name() const override { return name_; }
  std::vector<int64_t> batches(Profile) const override { return {4}; }
  double flops(int64_t b) const override { return static_cast<double>(b); }
  double bytes(int64_t b) const override { return 4.0 * (2 * b + 1); }
  double tolerance(Precision) const override { return 1e-6; }

 protected:
  std::unique_ptr<ToyProblem> make(int64_t batch, uint64_t seed) const override;
  Validation check(ToyProblem& p, Precision precision) const override;

 private:
  std::string name_;
};

// An instance of `impl` in mode cpu, made the way the runner makes it (the mode table).
std::unique_ptr<Instance> make_cpu_instance(const OpCase& c, const std::string& impl, Problem& p);

// The registered case "op/name"; throws std::out_of_range when there is none. Inline:
// the registry lives in the ops library, which this support library does not link.
inline const OpCase& registered_case(const std::string& id) {
  for (const auto& c : registry().cases())
    if (c->id() == id) return *c;
  throw std::out_of_range("no registered case " + id);
}

// The case of validation shape "op/name" (docs/ops.md, "Validation shapes").
inline const OpCase& validation_case(const std::string& id) {
  for (const auto& v : registry().validation_cases())
    if (v.c->id() == id) return *v.c;
  throw std::out_of_range("no validation shape " + id);
}

}  // namespace mb
