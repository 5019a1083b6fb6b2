#include "harness/runner.hpp"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include "harness/status.hpp"

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

std::unique_ptr<Instance> PreparedEntry::make_instance(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  if (entry_.mode == Mode::cpu) return c.make_cpu(entry_.impl, *problem_);

  device_ = cfg.device ? cfg.device : &cuda_device();
  if (entry_.mode == Mode::ptx_jit && !device_->is_test_device()) {
    const char* forced = std::getenv("CUDA_FORCE_PTX_JIT");
    if (!forced || std::string(forced) != "1")
      throw Unavailable("ptx-jit needs a process started with CUDA_FORCE_PTX_JIT=1 (modebench run starts one)");
  }
  if (entry_.mode == Mode::hybrid) return make_hybrid(c, entry_.impl, *problem_, *device_);
  return c.make_gpu(entry_.impl, *problem_, *device_);
}

void PreparedEntry::prepare(const RunConfig& cfg) {
  const OpCase& c = *entry_.op_case;
  problem_ = c.make_problem(entry_.batch, cfg.seed);
  instance_ = make_instance(cfg);

  // Validation before timing, on the same buffers: the first call is also the cold call.
  problem_->poison_outputs();
  first_call_ms_ = instance_->timed_run_ms();
  instance_->fetch_outputs();
  validation_ = c.validate(*problem_, instance_->reduced_precision());
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
  if (device_ && device_->is_test_device()) add("device=test");
  return out;
}

}  // namespace mb
