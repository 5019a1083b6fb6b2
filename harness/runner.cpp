#include "harness/runner.hpp"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>

#include "harness/evict.hpp"
#include "harness/slowdown.hpp"
#include "harness/test_trace.hpp"
#include "harness/validate.hpp"

namespace mb {

PreparedEntry::PreparedEntry(const Entry& e, const RunConfig& cfg) : entry_(e) {
  test_fault(e.name());  // inert unless a test asks this entry to crash or hang
  try {
    prepare(cfg);
  } catch (...) {
    fail_with_current_exception();
  }
  if (!status_.is_ok()) instance_.reset();  // release device memory early
}

void PreparedEntry::fail_with_current_exception() {
  status_ = status_of_current_exception();
  if (device_ && current_exception_is_sticky()) device_->mark_lost(entry_.name() + " (" + status_.text() + ")");
}

PreparedEntry::~PreparedEntry() = default;

std::unique_ptr<Instance> PreparedEntry::make_instance(const RunConfig& cfg, Problem& p) {
  const ModeSpec& mode = spec_of(entry_.mode);
  if (mode.touches_device()) {
    device_ = cfg.device ? cfg.device : &cuda_device();
    if (!device_->lost_after().empty()) throw NotRun("the device was lost after " + device_->lost_after());
    device_->clear_stale_error();
  }
  return mode.make(*entry_.op_case, entry_.impl, p, device_);
}

double PreparedEntry::run_and_validate(Instance& inst, Problem& p, Validation& v, double* wall_ms) {
  p.poison_outputs();
  const auto wall0 = std::chrono::steady_clock::now();
  const double ms = inst.timed_run_ms();
  // The host's view of the same call: a JIT that runs before the start event is not hidden.
  if (wall_ms) *wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count();
  inst.fetch_outputs();
  v = entry_.op_case->validate(p, inst.precision());
  return ms;
}

// A sampled check is backed by every output of a reduced-size run of the same case,
// mode and impl (docs/ops.md, "Validation", OpCase::reduced_run); each reduced run
// is done once per process.
void PreparedEntry::check_reduced_size(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  std::optional<ReducedRun> reduced = c.reduced_run(entry_.batch, cfg.seed);
  if (!reduced) return;
  static std::map<std::string, Validation> done;
  const std::string key = c.id() + "/" + std::string(to_string(entry_.mode)) + "/" + entry_.impl + "@" + reduced->size;
  auto it = done.find(key);
  if (it == done.end()) {
    auto inst = make_instance(cfg, *reduced->problem);
    Validation v;
    ScopedFullCheck full;
    run_and_validate(*inst, *reduced->problem, v);
    it = done.emplace(key, v).first;
  }
  reduced_check_ = "reduced=full@" + reduced->size;
  if (!it->second.ok()) {
    validation_ = it->second;
    validation_.check = "full@" + reduced->size;
  }
}

void PreparedEntry::prepare(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  slowdown_ = slowdown_for(slowdown_from_env(), entry_.name());
  evict_bytes_ = evict_bytes_from_env();
  problem_ = c.make_problem(entry_.batch, cfg.seed);
  const auto t0 = std::chrono::steady_clock::now();
  instance_ = make_instance(cfg, *problem_);
  setup_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Validation before timing, on the same buffers: the first call is also the cold call.
  if (spec_of(entry_.mode).compute == Side::device) label_cold_loads();
  first_call_ms_ = run_and_validate(*instance_, *problem_, validation_, &first_call_wall_ms_);
  if (validation_.ok() && validation_.check.rfind("sampled", 0) == 0) check_reduced_size(cfg);
  if (!validation_.ok()) {
    status_ = Status::wrong_result(validation_.max_err, validation_.tolerance, validation_.finite);
    return;
  }
  for (int i = 0; i < cfg.warmup_calls; ++i) instance_->timed_run_ms();
}

// Whether this entry's set-up and first call paid for loading (and under forced JIT, compiling)
// what its impl needs: its kernels' modules and its libraries, each paid once per device and
// mode by whichever entry loads it first. An impl that declares nothing is keyed by itself.
void PreparedEntry::label_cold_loads() {
  const OpCase& c = *entry_.op_case;
  const Impl* impl = c.find_impl(entry_.impl, Placement::device);
  std::vector<std::string> loads = impl ? impl->loads() : std::vector<std::string>{};
  if (loads.empty()) loads = {c.op() + "/" + entry_.impl};
  std::string cold;
  for (const std::string& what : loads)
    if (device_->first_use(std::string(to_string(entry_.mode)) + "/" + what)) cold += (cold.empty() ? "" : "+") + what;
  first_call_ = cold.empty() ? "first_call=warm" : "first_call=cold;cold_loads=" + cold;
}

double PreparedEntry::timed_call_ms() {
  try {
    if (evict_bytes_ > 0) evict_caches(evict_bytes_);  // before the call's own timing: not timed
    const double ms = instance_->timed_run_ms();
    if (slowdown_ > 0.0) {
      spin_for_ms(slowdown_ * ms);  // the detector's power study: see harness/slowdown.hpp
      return ms * (1.0 + slowdown_);
    }
    return ms;
  } catch (...) {
    fail_with_current_exception();
    return -1.0;
  }
}

bool PreparedEntry::check_last_call() {
  try {
    instance_->fetch_outputs();
    ScopedSampledCheck sampled;
    const Validation v = entry_.op_case->validate(*problem_, instance_->precision());
    if (v.ok()) return true;
    validation_ = v;
    const Status s = Status::wrong_result(v.max_err, v.tolerance, v.finite);
    status_ = Status::wrong(s.detail() + " (the last timed call; its first call was right)");
  } catch (...) {
    fail_with_current_exception();
  }
  return false;
}

std::string PreparedEntry::label() const {
  std::string out = instance_ ? instance_->label() : std::string();
  auto add = [&out](const std::string& kv) { out += (out.empty() ? "" : ";") + kv; };
  add("threads=" + std::to_string(omp_get_max_threads()));
  if (!validation_.check.empty()) add("check=" + validation_.check);
  if (!reduced_check_.empty()) add(reduced_check_);
  if (!first_call_.empty()) add(first_call_);
  if (evict_bytes_ > 0) add("evict_bytes=" + std::to_string(evict_bytes_));
  if (device_ && device_->is_test_device()) add("device=test");
  if (device_ && device_->is_simulated()) add("device=sim");
  return out;
}

}  // namespace mb
