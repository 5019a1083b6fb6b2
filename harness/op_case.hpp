#pragma once
// One op case = one struct (ggml test-backend-ops style): its parameters, flops(),
// bytes(), inputs from a seed, the reference check with a tolerance per precision, and
// one table of impls. Ops name impls; the harness owns modes (harness/mode.hpp): a
// mode never asks an op anything of its own, it reads the op's impl table.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/mode.hpp"
#include "harness/precision.hpp"

// Device impls are declared in every build (a CPU-only build still lists them and records
// them `unavailable: built without CUDA`); their factories and kernels exist only with CUDA.
#if MODEBENCH_HAVE_CUDA
#define MB_CUDA_ONLY(...) __VA_ARGS__
#else
#define MB_CUDA_ONLY(...) nullptr
#endif

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
  // The arithmetic the result was computed with; selects the op's tolerance.
  virtual Precision precision() const { return Precision::fp32; }
  // Hybrid: the last call's split; none in other modes.
  virtual std::optional<CallSplit> call_split() const { return std::nullopt; }
};

// A smaller run of a case whose every output is checked: it backs a sampled check
// (docs/ops.md, "Validation") through the same code paths at an affordable size.
struct ReducedRun {
  std::unique_ptr<Problem> problem;
  std::string size;  // what was reduced, for the label's reduced=full@<size>
  // Held while the run's instance is made and runs: settings that force the same code
  // paths at the smaller size (knn: a device budget that makes the chunked impl stream).
  std::shared_ptr<void> settings;
};

struct Validation {
  double max_err = 0.0;
  double tolerance = 0.0;
  bool finite = true;
  std::string check;  // "full" or "sampled:<n>"
  bool ok() const { return finite && max_err <= tolerance; }
};

// A __global__ function of ours: the probe asks which image of it loads, and a device
// impl's label says which image of its own kernel ran.
struct KernelRef {
  const char* name;
  const void* fn;      // host stub address, as cudaFuncGetAttributes takes it
  const char* module;  // the source it is compiled in: kernels of one module load (and JIT) together
};

// How a problem's inputs are made: the op's random inputs (docs/ops.md, "Inputs"), inputs
// with the structure real data has (docs/ops.md, "Structured inputs"), or constant ones
// (ssim: every plane of X and of Y one level; knn: one point repeated; linear and conv2d
// take no such inputs).
enum class Inputs { random, structured, flat };

// A shape an op is validated on besides its cases (docs/ops.md, "Validation shapes"): the
// dimensions named as the policy readers name them (include/modebench/policy.hpp), the
// batches, the inputs. Each op's case file lists its own and makes a case of each (the same
// factory an ad-hoc shape from the command line is to use).
struct ShapeSpec {
  std::string name;
  std::map<std::string, int64_t> dims;
  std::vector<int64_t> batches;
  Inputs inputs = Inputs::random;
  // The dimension `key`, else `fallback`; std::invalid_argument when missing without one.
  int64_t dim(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const;
};

// Batch rows [begin, end) of a problem.
struct RowRange {
  int64_t begin, end;
};

// One row of an op case's impl table.
struct Impl {
  std::string name;
  Placement placement = Placement::host;
  Precision precision = Precision::fp32;  // what it asks for (a tf32 impl may run fp32 where there is none)
  // An instance computing `rows` of the problem (the whole batch unless splits_rows);
  // device impls get the device. Empty where this build lacks the impl.
  std::function<std::unique_ptr<Instance>(Problem&, Device*, RowRange)> make;
  // Keeps no state derived from the weights across calls: what a hand-written fallback
  // runs (hybrid naive), reading fresh weights on every call.
  bool plain = false;
  // Computes any range of batch rows in place in the problem's buffers: every input and
  // output tensor is batch-major and the weights are shared by all rows (hybrid cached
  // overlaps copies with compute over such ranges).
  bool splits_rows = false;
  // The fastest host impl at this batch, by measurement (hybrid cached runs it).
  std::function<bool(int64_t batch)> best_for;
  // Device impls: our kernels it launches, the first being the one its label describes.
  std::vector<KernelRef> (*own_kernels)() = nullptr;
  // Device impls: the vendor libraries whose kernels it loads ("cublas", "cudnn").
  std::vector<std::string> libraries;
  // Non-empty: the impl runs in that provider's executable (harness/provider.hpp), which
  // installs its factory; `make` is empty here.
  std::string provider;
  // Which of the quick profile's batches it runs (empty: all): an impl far slower than the
  // rest (the 3DGS-style SSIM in torch on the CPU) keeps the main job's time. The full
  // profile and an explicit --batches run every batch.
  std::function<bool(int64_t batch)> in_quick_profile;
  // What its first call in a process loads (and, under forced JIT, compiles): its kernels'
  // modules and its libraries. Impls sharing one pay it once, in whichever runs first.
  std::vector<std::string> loads() const;
};

class OpCase {
 public:
  virtual ~OpCase() = default;
  virtual std::string op() const = 0;
  virtual std::string name() const = 0;
  std::string id() const { return op() + "/" + name(); }

  virtual std::vector<int64_t> batches(Profile p) const = 0;
  // Whether the quick profile runs the case (false: the full profile only, or when --cases
  // names it), so an op can list many layers of a model and keep the main job's time.
  virtual bool in_quick_profile() const { return true; }
  // Throws BadInput for a batch the op cannot take (e.g. knn N < 4).
  virtual void check_batch(int64_t batch) const;
  // Throws BadInput for an environment the op cannot run under (a malformed
  // variable of its own); called once per run, before any work.
  virtual void check_environment() const {}
  virtual double flops(int64_t batch) const = 0;
  virtual double bytes(int64_t batch) const = 0;  // minimal traffic: inputs + weights + outputs
  // Memory the inputs, outputs and reference need on the host, to refuse impossible sizes early.
  // Sizes from a batch are computed with cpu_ref/checked_size.hpp: SizeOverflow, never a
  // wrapped size, where int64 cannot hold them.
  virtual double host_bytes(int64_t batch) const { return bytes(batch); }

  virtual std::unique_ptr<Problem> make_problem(int64_t batch, uint64_t seed) const = 0;
  // Compares the problem's outputs with cpu_ref (sampled for large problems; NaN/Inf always full)
  // with the tolerance of the precision the result was computed with.
  virtual Validation validate(Problem& p, Precision precision) const = 0;
  virtual double tolerance(Precision precision) const = 0;
  // The reduced-size run that backs a sampled check of `batch`; nullopt when there is none
  // smaller. Default: the quick profile's smallest batch.
  virtual std::optional<ReducedRun> reduced_run(int64_t batch, uint64_t seed) const;

  const std::vector<Impl>& impls() const { return impls_; }
  std::vector<std::string> impl_names(Placement where) const;
  // nullptr when there is no such impl of that placement.
  const Impl* find_impl(const std::string& name, Placement where) const;
  // The host impl hybrid cached runs at this batch, and the one hybrid naive runs.
  const Impl& best_host_impl(int64_t batch) const;
  const Impl& plain_host_impl() const;
  // Whether it has a host impl of the harness's own (not a provider's): what hybrid naive and
  // cached wrap (an op with only a provider's impls, like model, has none).
  bool has_own_host_impl() const;

 protected:
  void add_impl(Impl impl);
  // A provider's impl in one placement (its factory is the provider executable's);
  // `in_quick_profile` as Impl's.
  void add_provider_impl(std::string name, Placement where, std::string provider,
                         std::function<bool(int64_t batch)> in_quick_profile = {});

 private:
  std::vector<Impl> impls_;
};

// The typed side of a case: its problem type P, and impl rows whose factories take P.
// The one downcast from Problem to P is here.
template <class P>
class CaseOf : public OpCase {
 public:
  std::unique_ptr<Problem> make_problem(int64_t batch, uint64_t seed) const final { return make(batch, seed); }
  Validation validate(Problem& p, Precision precision) const final { return check(static_cast<P&>(p), precision); }

 protected:
  virtual std::unique_ptr<P> make(int64_t batch, uint64_t seed) const = 0;
  virtual Validation check(P& p, Precision precision) const = 0;

  struct HostFlags {
    bool plain = false;
    bool splits_rows = false;
    std::function<bool(int64_t)> best_for;
  };
  using HostFactory = std::function<std::unique_ptr<Instance>(P&, RowRange)>;
  using DeviceFactory = std::function<std::unique_ptr<Instance>(P&, Device&)>;

  void add_host_impl(std::string name, HostFactory make_fn, HostFlags flags = {}) {
    Impl i;
    i.name = std::move(name);
    i.make = [make_fn](Problem& p, Device*, RowRange rows) { return make_fn(static_cast<P&>(p), rows); };
    i.plain = flags.plain;
    i.splits_rows = flags.splits_rows;
    i.best_for = std::move(flags.best_for);
    add_impl(std::move(i));
  }
  // `make_fn` and `kernels` are MB_CUDA_ONLY(...): null in builds without CUDA.
  void add_device_impl(std::string name, Precision precision, DeviceFactory make_fn,
                       std::vector<KernelRef> (*kernels)(), std::vector<std::string> libraries = {}) {
    Impl i;
    i.name = std::move(name);
    i.placement = Placement::device;
    i.precision = precision;
    if (make_fn) i.make = [make_fn](Problem& p, Device* dev, RowRange) { return make_fn(static_cast<P&>(p), *dev); };
    i.own_kernels = kernels;
    i.libraries = std::move(libraries);
    add_impl(std::move(i));
  }
};

}  // namespace mb
