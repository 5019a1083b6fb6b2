#include "tests/support/toy_case.hpp"

#include <chrono>
#include <thread>

#include "harness/device/device.hpp"
#include "harness/validate.hpp"

namespace mb {
namespace {

class ToyInstance : public Instance {
 public:
  ToyInstance(ToyProblem& p, bool wrong) : p_(p), wrong_(wrong) {}
  static std::unique_ptr<ToyInstance> wrong_when_small(ToyProblem& p) {
    return std::make_unique<ToyInstance>(p, p.batch() <= 4);
  }
  void run() override {
    for (size_t i = 0; i < p_.x.size(); ++i) p_.y[i] = p_.w[0] * p_.x[i] + (wrong_ && i == 1 ? 0.5f : 0.0f);
  }
  std::string label() const override { return wrong_ ? "toy=wrong" : "toy=right"; }

 private:
  ToyProblem& p_;
  bool wrong_;
};

// A call of a known least duration: timing tests need a lower bound the machine's load cannot lower.
class SleepyInstance : public ToyInstance {
 public:
  explicit SleepyInstance(ToyProblem& p) : ToyInstance(p, false) {}
  void run() override {
    ToyInstance::run();
    std::this_thread::sleep_for(std::chrono::milliseconds(ToyCase::kSleepyCallMs));
  }
};

// The "kernel": the same arithmetic on the host, then the launch check a CUDA impl does.
class ToyKernelInstance : public ToyInstance {
 public:
  ToyKernelInstance(ToyProblem& p, Device& dev) : ToyInstance(p, false), dev_(dev) {}
  void run() override {
    ToyInstance::run();
    dev_.check_launch("toy kernel");
  }

 private:
  Device& dev_;
};

}  // namespace

ToyCase::ToyCase(std::string name, bool kernel_on_host) : name_(std::move(name)) {
  add_host_impl("right", [](ToyProblem& p, RowRange) { return std::make_unique<ToyInstance>(p, false); });
  add_host_impl("wrong", [](ToyProblem& p, RowRange) { return std::make_unique<ToyInstance>(p, true); });
  add_host_impl("wrong_small", [](ToyProblem& p, RowRange) { return ToyInstance::wrong_when_small(p); });
  add_host_impl("sleepy", [](ToyProblem& p, RowRange) { return std::make_unique<SleepyInstance>(p); });
  DeviceFactory kernel;
  if (kernel_on_host)
    kernel = [](ToyProblem& p, Device& dev) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kKernelSetupMs));
      return std::make_unique<ToyKernelInstance>(p, dev);
    };
  add_device_impl("kernel", Precision::fp32, kernel, nullptr, {"toy_kernels"});
}

void ToyCase::add_toy_provider_impls() {
  add_provider_impl("provided", Placement::host, "toyprovider");
  add_provider_impl("provided_hybrid", Placement::hybrid, "toyprovider");
}

std::unique_ptr<ToyProblem> ToyCase::make(int64_t batch, uint64_t) const {
  auto p = std::make_unique<ToyProblem>(batch);
  for (int64_t i = 0; i < batch; ++i) p->x[i] = static_cast<float>(i + 1);
  return p;
}

Validation ToyCase::check(ToyProblem& p, Precision precision) const {
  // Priced so that more than kFullCheckOutputs outputs are checked on a sample, as a real case's are.
  const CheckSet set(p.y.size(), kFullCheckBudgetNs / kFullCheckOutputs);
  return validate_against(p.y, tolerance(precision), set, [&](size_t i) { return RefValue{2.0 * p.x[i], 1.0}; });
}

std::unique_ptr<Instance> make_cpu_instance(const OpCase& c, const std::string& impl, Problem& p) {
  return spec_of(Mode::cpu).make(c, impl, p, nullptr);
}

}  // namespace mb
