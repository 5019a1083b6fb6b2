#pragma once
// Runs one entry: builds its problem, makes the instance for its mode,
// validates the first call against cpu_ref, and only then lets it be timed.
#include <memory>
#include <string>

#include "harness/device/device.hpp"
#include "harness/op_case.hpp"
#include "harness/selection.hpp"
#include "harness/status.hpp"

namespace mb {

struct RunConfig {
  uint64_t seed = 42;
  Device* device = nullptr;  // null: the CUDA device (tests pass a TestDevice)
#if defined(MODEBENCH_SIM)
  // The simulated device's times mean nothing: its entries are validated and then timed once
  // (a later call still runs), without warm-up calls that would only cost CI minutes.
  int warmup_calls = 0;
#else
  int warmup_calls = 2;
#endif
};

// An entry ready to be timed, or the reason it cannot be.
class PreparedEntry {
 public:
  PreparedEntry(const Entry& e, const RunConfig& cfg);
  PreparedEntry(const PreparedEntry&) = delete;
  PreparedEntry& operator=(const PreparedEntry&) = delete;
  ~PreparedEntry();

  const Status& status() const { return status_; }
  // The status as docs/contract.md's text ("ok", "unavailable: …", "failed: <class>: …", "wrong: …").
  std::string message() const { return status_.text(); }
  const Validation& validation() const { return validation_; }
  double first_call_ms() const { return first_call_ms_; }
  // The same first call on the host's clock (device impls time themselves with events).
  double first_call_wall_ms() const { return first_call_wall_ms_; }
  // Wall time of setting the impl up (allocations, weight uploads, handles, cudnnFind): where
  // a library's kernels may already load or JIT before the first call.
  double setup_ms() const { return setup_ms_; }
  std::string label() const;
  Instance& instance() { return *instance_; }
  const Entry& entry() const { return entry_; }

  // One timed call; a device failure turns the entry into `failed` and returns a negative time.
  double timed_call_ms();
  // After a series of timed calls: the last call's output, validated again by the sampled
  // check (ScopedSampledCheck). An impl right on its first call and wrong on a later one
  // (state kept across calls) turns `wrong`; false then (or when the check itself failed).
  bool check_last_call();
  // MODEBENCH_SLOWDOWN's fraction for this entry (0 when no rule names it).
  double slowdown() const { return slowdown_; }

 private:
  void prepare(const RunConfig& cfg);
  std::unique_ptr<Instance> make_instance(const RunConfig& cfg, Problem& p);
  // Runs `inst` once on poisoned outputs and validates; returns the call's time (and its host
  // wall-clock time in `wall_ms`, validation excluded).
  double run_and_validate(Instance& inst, Problem& p, Validation& v, double* wall_ms = nullptr);
  void check_reduced_size(const RunConfig& cfg);
  void label_cold_loads();
  // Sets the status from the exception being handled; a sticky device failure marks the device lost.
  void fail_with_current_exception();

  Entry entry_;
  std::unique_ptr<Problem> problem_;
  std::unique_ptr<Instance> instance_;
  Device* device_ = nullptr;
  Status status_;
  Validation validation_;
  double first_call_ms_ = 0.0;
  double first_call_wall_ms_ = 0.0;
  double setup_ms_ = 0.0;
  std::string reduced_check_;  // label fact when a sampled check had a full reduced-size run
  std::string first_call_;     // gpu/ptx-jit: cold (paid for loading something first) or warm
  // MODEBENCH_SLOWDOWN's fraction for this entry, looked up once: a timed call of a series
  // it does not name must cost exactly what it costs without it.
  double slowdown_ = 0.0;
  uint64_t evict_bytes_ = 0;  // MODEBENCH_EVICT_BYTES (harness/evict.hpp)
};

}  // namespace mb
