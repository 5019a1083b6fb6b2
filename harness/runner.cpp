#include "harness/runner.hpp"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>

#include "harness/status.hpp"
#include "harness/validate.hpp"

namespace mb {

std::string to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::unavailable: return "unavailable";
    case Status::failed: return "failed";
    case Status::wrong: return "wrong";
  }
  return "?";
}

PreparedEntry::PreparedEntry(const Entry& e, const RunConfig& cfg) : entry_(e) {
  try {
    prepare(cfg);
  } catch (...) {
    fail_with_current_exception();
  }
  if (status_ != Status::ok) instance_.reset();  // release device memory early
}

PreparedEntry::~PreparedEntry() = default;

void PreparedEntry::fail_with_current_exception() {
  try {
    throw;
  } catch (const Unavailable& u) {
    status_ = Status::unavailable;
    message_ = std::string("unavailable: ") + u.what();
  } catch (const DeviceFailure& f) {
    status_ = Status::failed;
    message_ = "failed: " + std::string(to_string(f.error_class)) + ": " + f.what();
  } catch (const std::bad_alloc&) {
    status_ = Status::failed;
    message_ = "failed: out_of_memory: host allocation failed";
  } catch (const BadInput&) {
    throw;  // caught by the caller before any work; never a status
  } catch (const std::exception& ex) {
    status_ = Status::failed;
    message_ = std::string("failed: other: ") + ex.what();
  }
}

std::unique_ptr<Instance> PreparedEntry::make_instance(const RunConfig& cfg, Problem& p) {
  const OpCase& c = *entry_.op_case;
  if (entry_.mode == Mode::cpu) return c.make_cpu(entry_.impl, p);

  device_ = cfg.device ? cfg.device : &cuda_device();
  if (entry_.mode == Mode::ptx_jit && !device_->is_test_device()) {
    const char* forced = std::getenv("CUDA_FORCE_PTX_JIT");
    if (!forced || std::string(forced) != "1")
      throw Unavailable("ptx-jit needs a process started with CUDA_FORCE_PTX_JIT=1 (modebench run starts one)");
  }
  if (entry_.mode == Mode::hybrid) return make_hybrid(c, entry_.impl, p, *device_);
  return c.make_gpu(entry_.impl, p, *device_);
}

double PreparedEntry::run_and_validate(Instance& inst, Problem& p, Validation& v) {
  p.poison_outputs();
  const double ms = inst.timed_run_ms();
  inst.fetch_outputs();
  v = entry_.op_case->validate(p, inst.reduced_precision());
  return ms;
}

// A sampled check is backed by every output of a reduced-size run of the same
// case, mode and impl (ops.md "Validation at scale"); done once per process.
void PreparedEntry::check_reduced_size(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  const int64_t small = c.batches(Profile::quick).front();
  if (small >= entry_.batch) return;
  static std::map<std::string, std::pair<Validation, int64_t>> done;
  const std::string key = c.id() + "/" + std::string(to_string(entry_.mode)) + "/" + entry_.impl;
  auto it = done.find(key);
  if (it == done.end()) {
    auto reduced = c.make_problem(small, cfg.seed);
    auto inst = make_instance(cfg, *reduced);
    Validation v;
    ScopedFullCheck full;
    run_and_validate(*inst, *reduced, v);
    it = done.emplace(key, std::make_pair(v, small)).first;
  }
  const auto& [v, batch] = it->second;
  reduced_check_ = "reduced=full@" + std::to_string(batch);
  if (!v.ok()) {
    validation_ = v;
    validation_.check = "full@" + std::to_string(batch);
  }
}

void PreparedEntry::prepare(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  problem_ = c.make_problem(entry_.batch, cfg.seed);
  const auto t0 = std::chrono::steady_clock::now();
  instance_ = make_instance(cfg, *problem_);
  setup_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Validation before timing, on the same buffers: the first call is also the cold call,
  // but only the first entry of an impl in a process pays its module load / JIT.
  if (runs_on_device(entry_.mode))
    first_call_ = device_->first_use(c.op() + "/" + std::string(to_string(entry_.mode)) + "/" + entry_.impl)
                      ? "first_call=cold"
                      : "first_call=warm";
  first_call_ms_ = run_and_validate(*instance_, *problem_, validation_);
  if (validation_.ok() && validation_.check.rfind("sampled", 0) == 0) check_reduced_size(cfg);
  if (!validation_.ok()) {
    status_ = Status::wrong;
    char buf[160];
    if (validation_.finite)
      std::snprintf(buf, sizeof buf, "wrong: max_err=%.3g tolerance=%.3g", validation_.max_err, validation_.tolerance);
    else
      std::snprintf(buf, sizeof buf, "wrong: max_err=nan tolerance=%.3g (NaN or Inf in the output)",
                    validation_.tolerance);
    message_ = buf;
    return;
  }
  for (int i = 0; i < cfg.warmup_calls; ++i) instance_->timed_run_ms();
}

double PreparedEntry::timed_call_ms() {
  try {
    return instance_->timed_run_ms();
  } catch (...) {
    fail_with_current_exception();
    return -1.0;
  }
}

std::string PreparedEntry::label() const {
  std::string out = instance_ ? instance_->label() : std::string();
  auto add = [&out](const std::string& kv) { out += (out.empty() ? "" : ";") + kv; };
  add("threads=" + std::to_string(omp_get_max_threads()));
  if (!validation_.check.empty()) add("check=" + validation_.check);
  if (!reduced_check_.empty()) add(reduced_check_);
  if (!first_call_.empty()) add(first_call_);
  if (device_ && device_->is_test_device()) add("device=test");
  return out;
}

}  // namespace mb
