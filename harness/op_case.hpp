#pragma once
// One op case = one struct (ggml test-backend-ops style): its parameters,
// flops(), bytes(), inputs from a seed, reference check, tolerance, and the
// impls it has per mode. The harness only ever talks to these interfaces.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/mode.hpp"

namespace mb {

class Device;

// Which tensors are weights matters to the hybrid mode (cached keeps them on the host).
enum class Role { input, weight, output };

struct TensorRef {
  std::string name;
  Role role;
  float* data;
  size_t count;
  size_t bytes() const { return count * sizeof(float); }
};

// Host-side tensors of one (case, batch): inputs made from the seed, outputs
// written by whichever instance ran last.
class Problem {
 public:
  explicit Problem(int64_t batch) : batch_(batch) {}
  virtual ~Problem() = default;
  int64_t batch() const { return batch_; }
  virtual std::vector<TensorRef> tensors() = 0;
  // Same shapes and inputs, separate storage (the hybrid mode's host staging).
  virtual std::unique_ptr<Problem> clone() const = 0;
  // Outputs to NaN so a stale or skipped result can never validate.
  void poison_outputs();

 private:
  int64_t batch_;
};

// Hybrid: where one call's time went. Copies hidden behind compute count as
// compute; what is left before a compute is copy-in, after the last one copy-out.
struct CallSplit {
  double copy_in_ms = 0.0, compute_ms = 0.0, copy_out_ms = 0.0;
  double total_ms() const { return copy_in_ms + compute_ms + copy_out_ms; }
  double transfer_fraction() const { return total_ms() > 0.0 ? (copy_in_ms + copy_out_ms) / total_ms() : 0.0; }
  CallSplit& operator+=(const CallSplit& o) {
    copy_in_ms += o.copy_in_ms;
    compute_ms += o.compute_ms;
    copy_out_ms += o.copy_out_ms;
    return *this;
  }
};

// An impl bound to one problem, set up (weights packed, buffers allocated)
// and ready to be timed. Constructed outside the timed region.
class Instance {
 public:
  virtual ~Instance() = default;
  // One call of the op. Host impls: complete on return. Device impls: enqueued.
  virtual void run() = 0;
  // Wall time of one complete call in milliseconds; device impls override with events.
  virtual double timed_run_ms();
  // Makes the problem's output tensors hold the last run's result (device impls copy back).
  virtual void fetch_outputs() {}
  // key=value facts for the label (math=fp32, algo=..., image=sass:90).
  virtual std::string label() const { return {}; }
  // TF32 or other reduced-precision math: selects the looser tolerance.
  virtual bool reduced_precision() const { return false; }
  // Hybrid: the last call's split; none in other modes.
  virtual std::optional<CallSplit> call_split() const { return std::nullopt; }
};

struct Validation {
  double max_err = 0.0;
  double tolerance = 0.0;
  bool finite = true;
  std::string check;  // "full" or "sampled:<n>"
  bool ok() const { return finite && max_err <= tolerance; }
};

class OpCase {
 public:
  virtual ~OpCase() = default;
  virtual std::string op() const = 0;
  virtual std::string name() const = 0;
  std::string id() const { return op() + "/" + name(); }

  virtual std::vector<int64_t> batches(Profile p) const = 0;
  // Throws BadInput for a batch the op cannot take (e.g. knn N < 4).
  virtual void check_batch(int64_t batch) const;
  virtual double flops(int64_t batch) const = 0;
  virtual double bytes(int64_t batch) const = 0;  // minimal traffic: inputs + weights + outputs
  // Memory the inputs, outputs and reference need on the host, to refuse impossible sizes early.
  virtual double host_bytes(int64_t batch) const { return bytes(batch); }

  virtual std::unique_ptr<Problem> make_problem(int64_t batch, uint64_t seed) const = 0;
  // Compares the problem's outputs with cpu_ref (sampled for large problems; NaN/Inf always full).
  virtual Validation validate(Problem& p, bool reduced_precision) const = 0;

  // Impl names per mode. Hybrid impls are generic (naive, cached) and supplied by the harness.
  virtual std::vector<std::string> cpu_impls() const = 0;
  virtual std::vector<std::string> gpu_impls() const { return {}; }
  // The CPU impl used by hybrid/cached at this batch (the fastest here by measurement).
  virtual std::string best_cpu_impl(int64_t /*batch*/) const { return cpu_impls().front(); }
  // The CPU impl a hand-written fallback uses (hybrid/naive): no packing kept across calls.
  virtual std::string plain_cpu_impl() const { return cpu_impls().front(); }

  // Reads the problem's inputs and writes its outputs on every run().
  virtual std::unique_ptr<Instance> make_cpu(const std::string& impl, Problem& p) const = 0;
  // For ops whose batch rows are independent: an impl computing only rows
  // [begin, end) of p, in place in p's buffers (hybrid/cached pipelines copies
  // with compute over such chunks). Ops returning one promise that every input
  // and output tensor is batch-major (batch outermost, row-major) and that
  // weights are shared by all rows. nullptr: the op cannot split its batch.
  virtual std::unique_ptr<Instance> make_cpu_rows(const std::string& /*impl*/, Problem& /*p*/, int64_t /*begin*/,
                                                  int64_t /*end*/) const {
    return nullptr;
  }
  // Device impls; throw Unavailable when built without CUDA.
  virtual std::unique_ptr<Instance> make_gpu(const std::string& impl, Problem& p, Device& dev) const;
};

}  // namespace mb
