// The hybrid mode: tensors live in device memory, compute runs on the host.
// The problem's inputs and weights are uploaded once at setup (that is where
// a model's tensors already are); each call then moves data through the host.
//
// naive  (what a hand-written fallback does): pageable host tensors; every call
//        copies ALL inputs and weights device->host, runs the op's plain CPU impl,
//        copies the outputs host->device. The plain impl is constructed once at
//        setup: it must keep no weight state (openblas, im2col keep none), so
//        fresh weights are read on every call. Host allocation is done once too
//        (a real `.cpu()` also allocates per call: naive is a lower bound).
// cached: weights are copied to the host once at setup and the best CPU impl is
//        built once on them (oneDNN packs them); inputs and outputs are staged in
//        page-locked host buffers with async copies on the device's stream. No
//        copy/compute overlap yet: the impls are bound to whole problems, so
//        chunking along the batch needs a per-op hook (follow-up); the input
//        copies are queued back to back with a single wait.
// Both: time = wall clock of the whole call ending with the device synchronized,
// split into copy-in, compute and copy-out; transfer_fraction = copies / total.
#include <chrono>
#include <vector>

#include "harness/runner.hpp"
#include "harness/status.hpp"

namespace mb {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

class HybridInstance : public Instance {
 public:
  HybridInstance(const OpCase& c, bool cached, Problem& p, Device& dev)
      : cached_(cached), problem_(p), dev_(dev), host_(p.clone()) {
    host_->poison_outputs();  // a skipped compute must not validate
    const std::vector<TensorRef> orig = p.tensors();
    for (const TensorRef& t : orig) {
      device_.emplace_back(dev, t.bytes());
      if (t.role != Role::output) dev.copy(device_.back().get(), t.data, t.bytes(), CopyKind::host_to_device);
    }
    host_tensors_ = host_->tensors();
    if (cached_) {
      for (size_t i = 0; i < host_tensors_.size(); ++i) {
        const TensorRef& t = host_tensors_[i];
        if (t.role == Role::weight)
          dev.copy(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
        else
          pinned_.push_back(std::make_unique<PinnedRegion>(dev, t.data, t.bytes()));
      }
      cpu_impl_ = c.best_cpu_impl();
    } else {
      cpu_impl_ = c.plain_cpu_impl();
    }
    cpu_ = c.make_cpu(cpu_impl_, *host_);
  }

  void run() override {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < host_tensors_.size(); ++i) {
      const TensorRef& t = host_tensors_[i];
      if (t.role == Role::output || (cached_ && t.role == Role::weight)) continue;
      if (cached_)
        dev_.copy_async(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
      else
        dev_.copy(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
    }
    if (cached_) dev_.synchronize();
    const auto t1 = Clock::now();
    cpu_->run();
    const auto t2 = Clock::now();
    for (size_t i = 0; i < host_tensors_.size(); ++i) {
      const TensorRef& t = host_tensors_[i];
      if (t.role != Role::output) continue;
      if (cached_)
        dev_.copy_async(device_[i].get(), t.data, t.bytes(), CopyKind::host_to_device);
      else
        dev_.copy(device_[i].get(), t.data, t.bytes(), CopyKind::host_to_device);
    }
    dev_.synchronize();
    const auto t3 = Clock::now();
    copy_in_ms_ = ms_since(t0, t1);
    compute_ms_ = ms_since(t1, t2);
    copy_out_ms_ = ms_since(t2, t3);
  }

  double timed_run_ms() override {
    run();
    return copy_in_ms_ + compute_ms_ + copy_out_ms_;
  }

  // What validation checks is what sits in device memory, not the host staging.
  void fetch_outputs() override {
    const std::vector<TensorRef> orig = problem_.tensors();
    for (size_t i = 0; i < orig.size(); ++i)
      if (orig[i].role == Role::output)
        dev_.copy(orig[i].data, device_[i].get(), orig[i].bytes(), CopyKind::device_to_host);
  }

  std::string label() const override {
    std::string l = std::string("hybrid=") + (cached_ ? "cached" : "naive") + ";cpu_impl=" + cpu_impl_;
    const std::string inner = cpu_->label();
    return inner.empty() ? l : l + ";" + inner;
  }
  bool reduced_precision() const override { return cpu_->reduced_precision(); }
  double transfer_fraction() const override {
    const double total = copy_in_ms_ + compute_ms_ + copy_out_ms_;
    return total > 0.0 ? (copy_in_ms_ + copy_out_ms_) / total : 0.0;
  }

 private:
  bool cached_;
  Problem& problem_;
  Device& dev_;
  std::unique_ptr<Problem> host_;  // host staging: pageable (naive) or pinned (cached)
  std::vector<TensorRef> host_tensors_;
  std::vector<DeviceBuffer> device_;  // same order as tensors()
  std::vector<std::unique_ptr<PinnedRegion>> pinned_;
  std::string cpu_impl_;
  std::unique_ptr<Instance> cpu_;
  double copy_in_ms_ = 0.0, compute_ms_ = 0.0, copy_out_ms_ = 0.0;
};

}  // namespace

std::unique_ptr<Instance> make_hybrid(const OpCase& c, const std::string& impl, Problem& p, Device& dev) {
  if (impl != "naive" && impl != "cached") throw BadInput("hybrid has no impl '" + impl + "' (naive, cached)");
  return std::make_unique<HybridInstance>(c, impl == "cached", p, dev);
}

}  // namespace mb
