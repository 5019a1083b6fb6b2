// The hybrid mode: tensors live in device memory, compute runs on the host.
// The problem's inputs and weights are uploaded once at setup (that is where
// a model's tensors already are); each call then moves data through the host.
// The host staging starts as NaN, so a copy that did not happen cannot validate.
//
// naive  (what a hand-written fallback does): pageable host tensors; every call
//        copies ALL inputs and weights device->host, runs the op's plain host impl
//        (Impl::plain), copies the outputs host->device. The plain impl is constructed
//        once at setup: it keeps no weight state (openblas, im2col keep none), so
//        fresh weights are read on every call. Host allocation is done once too
//        (a real `.cpu()` also allocates per call: naive is a lower bound).
// cached: weights are copied to the host once at setup and the best host impl for
//        the batch (Impl::best_for) is built once on them (oneDNN packs them); inputs and outputs are staged in
//        page-locked host buffers with async copies on the device's stream.
//        Overlap: when that impl can compute a range of batch rows
//        (Impl::splits_rows) and the batch's inputs+outputs make at least two
//        chunks of kMinChunkBytes, the batch is split into 2-4 chunks, each with
//        its own CPU instance built at setup, and pipelined on the one stream:
//          queue D2H(0); for each chunk i: wait for D2H(i), queue D2H(i+1),
//          compute i on the CPU, queue H2D(i); synchronize.
//        so chunk i+1's download and chunk i-1's upload run during chunk i's
//        compute. The label says overlap=<chunks>. Otherwise (op cannot split,
//        batch too small): copy in (queued back to back, one wait), compute,
//        copy out, as one sequence.
// Both: time = wall clock of the whole call ending with the device synchronized,
// split (CallSplit) into compute (the CPU impl's runs), copy-in (everything
// before each compute since the previous one ended: waiting for inputs) and
// copy-out (everything after the last compute); transfer_fraction is the share
// of the call spent on copies not hidden behind compute.
#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "harness/device/device.hpp"
#include "harness/mode.hpp"
#include "harness/op_case.hpp"
#include "harness/status.hpp"

namespace mb {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// Below this much input+output per chunk, a separate copy costs more in
// per-copy overhead (~10 us on CUDA) than it can hide.
constexpr size_t kMinChunkBytes = size_t{256} << 10;
constexpr int64_t kMaxChunks = 4;

// How many chunks cached splits the batch into (1: no pipelining).
int64_t chunk_count(const std::vector<TensorRef>& tensors, int64_t batch) {
  size_t batch_bytes = 0;
  for (const TensorRef& t : tensors) {
    if (t.role == Role::weight) continue;
    if (t.count % static_cast<size_t>(batch) != 0) return 1;  // not batch-major after all
    batch_bytes += t.bytes();
  }
  return std::max<int64_t>(1, std::min({kMaxChunks, batch, static_cast<int64_t>(batch_bytes / kMinChunkBytes)}));
}

class HybridInstance : public Instance {
 public:
  HybridInstance(const OpCase& c, bool cached, Problem& p, Device& dev)
      : cached_(cached), problem_(p), dev_(dev), host_(p.clone()) {
    const std::vector<TensorRef> orig = p.tensors();
    for (const TensorRef& t : orig) {
      device_.emplace_back(dev, t.bytes());
      if (t.role != Role::output) dev.copy(device_.back().get(), t.data, t.bytes(), CopyKind::host_to_device);
    }
    host_tensors_ = host_->tensors();
    for (const TensorRef& t : host_tensors_) std::fill_n(t.data, t.count, std::numeric_limits<float>::quiet_NaN());
    const int64_t batch = p.batch();
    bounds_ = {0, batch};  // one chunk unless split()
    if (cached_) {
      for (size_t i = 0; i < host_tensors_.size(); ++i) {
        const TensorRef& t = host_tensors_[i];
        if (t.role == Role::weight)
          dev.copy(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
        else
          pinned_.push_back(std::make_unique<PinnedRegion>(dev, t.data, t.bytes()));
      }
      impl_ = &c.best_host_impl(batch);
      if (const int64_t n = chunk_count(host_tensors_, batch); n > 1 && impl_->splits_rows) split(n);
    } else {
      impl_ = &c.plain_host_impl();
    }
    if (cpu_.empty()) cpu_.push_back(impl_->make(*host_, nullptr, RowRange{0, batch}));
  }

  // No copy may still be in flight into staging memory that is about to be freed
  // (a call that threw half-way through the pipeline leaves some queued).
  ~HybridInstance() override {
    try {
      dev_.synchronize();
    } catch (...) {
    }
  }

  void run() override {
    split_ = {};
    phase_end_ = Clock::now();
    if (cpu_.size() > 1)
      run_pipelined();
    else
      run_sequential();
    split_.copy_out_ms = ms_since(phase_end_, Clock::now());
  }

  double timed_run_ms() override {
    run();
    return split_.total_ms();
  }

  // What validation checks is what sits in device memory, not the host staging.
  void fetch_outputs() override {
    const std::vector<TensorRef> orig = problem_.tensors();
    for (size_t i = 0; i < orig.size(); ++i)
      if (orig[i].role == Role::output)
        dev_.copy(orig[i].data, device_[i].get(), orig[i].bytes(), CopyKind::device_to_host);
  }

  std::string label() const override {
    std::string l = std::string("hybrid=") + (cached_ ? "cached" : "naive") + ";cpu_impl=" + impl_->name;
    if (cpu_.size() > 1) l += ";overlap=" + std::to_string(cpu_.size());
    const std::string inner = cpu_.front()->label();
    return inner.empty() ? l : l + ";" + inner;
  }
  Precision precision() const override { return cpu_.front()->precision(); }
  std::optional<CallSplit> call_split() const override { return split_; }

 private:
  // One host instance per chunk of rows [batch*i/n, batch*(i+1)/n), built now
  // (oneDNN packs the weights for each chunk's row count).
  void split(int64_t n) {
    const int64_t batch = problem_.batch();
    for (int64_t i = 0; i < n; ++i)
      cpu_.push_back(impl_->make(*host_, nullptr, RowRange{batch * i / n, batch * (i + 1) / n}));
    bounds_.clear();
    for (int64_t i = 0; i <= n; ++i) bounds_.push_back(batch * i / n);
  }

  void compute(size_t chunk) {
    const auto t0 = Clock::now();
    split_.copy_in_ms += ms_since(phase_end_, t0);
    cpu_[chunk]->run();
    phase_end_ = Clock::now();
    split_.compute_ms += ms_since(t0, phase_end_);
  }

  void run_sequential() {
    for (size_t i = 0; i < host_tensors_.size(); ++i) {
      const TensorRef& t = host_tensors_[i];
      if (t.role == Role::output || (cached_ && t.role == Role::weight)) continue;
      if (cached_)
        dev_.copy_async(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
      else
        dev_.copy(t.data, device_[i].get(), t.bytes(), CopyKind::device_to_host);
    }
    if (cached_) dev_.synchronize();
    compute(0);
    for (size_t i = 0; i < host_tensors_.size(); ++i) {
      const TensorRef& t = host_tensors_[i];
      if (t.role != Role::output) continue;
      if (cached_)
        dev_.copy_async(device_[i].get(), t.data, t.bytes(), CopyKind::host_to_device);
      else
        dev_.copy(device_[i].get(), t.data, t.bytes(), CopyKind::host_to_device);
    }
    dev_.synchronize();
  }

  void run_pipelined() {
    uint64_t inputs_ready = enqueue_rows(0, Role::input);
    for (size_t i = 0; i < cpu_.size(); ++i) {
      dev_.wait_marker(inputs_ready);
      if (i + 1 < cpu_.size()) inputs_ready = enqueue_rows(i + 1, Role::input);
      compute(i);
      enqueue_rows(i, Role::output);
    }
    dev_.synchronize();
  }

  // Queues the copies of one chunk's rows of every `role` tensor (input: device
  // to host, output: host to device); returns the marker after them.
  uint64_t enqueue_rows(size_t chunk, Role role) {
    for (size_t k = 0; k < host_tensors_.size(); ++k) {
      const TensorRef& t = host_tensors_[k];
      if (t.role != role) continue;
      const size_t row = t.count / static_cast<size_t>(problem_.batch());
      const size_t offset = static_cast<size_t>(bounds_[chunk]) * row;
      const size_t bytes = static_cast<size_t>(bounds_[chunk + 1] - bounds_[chunk]) * row * sizeof(float);
      float* host = t.data + offset;
      float* device = device_[k].f32() + offset;
      if (role == Role::input)
        dev_.copy_async(host, device, bytes, CopyKind::device_to_host);
      else
        dev_.copy_async(device, host, bytes, CopyKind::host_to_device);
    }
    return dev_.record_marker();
  }

  bool cached_;
  Problem& problem_;
  Device& dev_;
  std::unique_ptr<Problem> host_;  // host staging: pageable (naive) or pinned (cached)
  std::vector<TensorRef> host_tensors_;
  std::vector<DeviceBuffer> device_;  // same order as tensors()
  std::vector<std::unique_ptr<PinnedRegion>> pinned_;
  const Impl* impl_ = nullptr;                  // the host impl every chunk runs
  std::vector<int64_t> bounds_;                 // chunk i is batch rows [bounds_[i], bounds_[i+1])
  std::vector<std::unique_ptr<Instance>> cpu_;  // one per chunk; one chunk = no pipelining
  CallSplit split_;                             // of the last call
  Clock::time_point phase_end_;                 // when the last phase of the current call ended
};

}  // namespace

// The harness's own two where the case has a host impl of the harness's own to wrap, then the
// case's impls that do the hybrid pattern themselves (a provider's).
std::vector<std::string> hybrid_impl_names(const OpCase& c) {
  std::vector<std::string> names;
  if (c.has_own_host_impl()) names = {"naive", "cached"};
  for (const std::string& n : c.impl_names(Placement::hybrid)) names.push_back(n);
  return names;
}

std::unique_ptr<Instance> make_hybrid(const OpCase& c, const std::string& impl, Problem& p, Device* dev) {
  if ((impl == "naive" || impl == "cached") && c.has_own_host_impl())
    return std::make_unique<HybridInstance>(c, impl == "cached", p, *dev);
  if (c.find_impl(impl, Placement::hybrid)) return make_from_table(c, impl, Placement::hybrid, p, dev);
  throw BadInput(c.id() + " has no hybrid impl '" + impl + "'");
}

}  // namespace mb
