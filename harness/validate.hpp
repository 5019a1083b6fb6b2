#pragma once
// Helpers every op's validate() shares: the error metric of docs/ops.md, NaN/Inf scans over
// every output, and which outputs a check compares: all of them when that is affordable,
// else a fixed sample that covers what bugs hit (borders, first and last rows, chunk
// edges) plus random outputs, backed by a full check of a reduced-size run
// (OpCase::reduced_run, harness/runner.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cpu_ref/ref_value.hpp"
#include "harness/op_case.hpp"

namespace mb {

class ErrorMeter {
 public:
  // Relative to magnitude; a zero magnitude (all-zero window) falls back to absolute error.
  void add(float got, RefValue ref) {
    if (!std::isfinite(got)) {
      finite_ = false;
      return;
    }
    double scale = ref.magnitude > 0.0 ? ref.magnitude : 1.0;
    double err = std::fabs(static_cast<double>(got) - ref.value) / scale;
    if (err > max_err_) max_err_ = err;
  }
  void add_absolute(float got, double ref) { add(got, RefValue{ref, 1.0}); }
  void merge(const ErrorMeter& other) {
    max_err_ = std::max(max_err_, other.max_err_);
    finite_ = finite_ && other.finite_;
  }
  double max_err() const { return max_err_; }
  bool finite() const { return finite_; }

 private:
  double max_err_ = 0.0;
  bool finite_ = true;
};

bool all_finite(std::span<const float> v);

// Reference time one full check may take, in nanoseconds of one core of the dev box
// (~1 s with its 2 cores; the reference runs on every OpenMP thread). Each case states
// what one output costs it (measured: linear 1.4 ns per term, conv2d 8, knn 3.7 per point).
inline constexpr double kFullCheckBudgetNs = 2e9;
// Random outputs in a sample, on top of the structural ones its case names.
inline constexpr size_t kRandomSample = 1000;

// The outputs one check compares.
class CheckSet {
 public:
  // Every output when comparing them all fits kFullCheckBudgetNs (or inside a
  // ScopedFullCheck) and not inside a ScopedSampledCheck; else the outputs `structural()` names (what bugs hit, bounded
  // by its case), the first and last output, and kRandomSample random ones drawn with a seed fixed by n_outputs: the
  // same sample on every run, sorted, without repeats.
  CheckSet(size_t n_outputs, double ns_per_output, const std::function<std::vector<size_t>()>& structural = {});
  bool full() const { return full_; }
  size_t size() const { return full_ ? n_ : sample_.size(); }
  size_t operator[](size_t k) const { return full_ ? k : sample_[k]; }
  std::string label() const;  // "full" or "sampled:<n>"

 private:
  size_t n_;
  bool full_;
  std::vector<size_t> sample_;
};

// Whether a problem of n_outputs at ns_per_output is checked in full (outside a ScopedFullCheck).
bool fits_full_check(double n_outputs, double ns_per_output);

// Rows and columns at each edge of a plane.
struct EdgeDepth {
  int64_t top = 1, bottom = 1, left = 1, right = 1;
};
// Outputs laid out [images, planes, rows, cols] that edge bugs hit: in the first and the
// last image, the edges of every plane (padding, tile tails, off-by-one row or column
// ends). At most 2 * planes * (depth.top + depth.bottom) * cols + same * rows indices.
std::vector<size_t> plane_edges(int64_t images, int64_t planes, int64_t rows, int64_t cols, EdgeDepth depth = {});

// Which outputs a check compares: by cost (full when it fits kFullCheckBudgetNs), all of
// them, or the sample whatever the size.
enum class CheckPolicy { by_cost, full, sampled };
// The policy in effect on this thread (a case whose check ignores CheckSet reads it).
CheckPolicy check_policy();

// While alive, every output is checked whatever the size (the reduced-size run
// that accompanies a sampled check, docs/ops.md, "Validation").
class ScopedFullCheck {
 public:
  ScopedFullCheck();
  ~ScopedFullCheck();
  ScopedFullCheck(const ScopedFullCheck&) = delete;
  ScopedFullCheck& operator=(const ScopedFullCheck&) = delete;

 private:
  CheckPolicy saved_;
};

// While alive, every check is the sampled one whatever the size: the cheap re-check of
// the last timed call's output (harness/runner.cpp, PreparedEntry::check_last_call).
class ScopedSampledCheck {
 public:
  ScopedSampledCheck();
  ~ScopedSampledCheck();
  ScopedSampledCheck(const ScopedSampledCheck&) = delete;
  ScopedSampledCheck& operator=(const ScopedSampledCheck&) = delete;

 private:
  CheckPolicy saved_;
};

// Compares `set` with `ref_at(index)` on every OpenMP thread (the reference is pure).
template <class RefAt>
ErrorMeter measure_errors(std::span<const float> out, const CheckSet& set, RefAt&& ref_at) {
  ErrorMeter total;
  const int64_t n = static_cast<int64_t>(set.size());
#pragma omp parallel
  {
    ErrorMeter mine;
#pragma omp for schedule(dynamic, 256) nowait
    for (int64_t k = 0; k < n; ++k) {
      const size_t idx = set[static_cast<size_t>(k)];
      mine.add(out[idx], ref_at(idx));
    }
#pragma omp critical
    total.merge(mine);
  }
  return total;
}

// The check linear and conv2d share: every output scanned for NaN/Inf, the CheckSet
// compared with `ref_at(index)` relative to its magnitude.
template <class RefAt>
Validation validate_against(std::span<const float> out, double tolerance, const CheckSet& set, RefAt&& ref_at) {
  Validation v;
  v.tolerance = tolerance;
  v.check = set.label();
  const ErrorMeter meter = measure_errors(out, set, ref_at);
  v.max_err = meter.max_err();
  v.finite = all_finite(out) && meter.finite();
  return v;
}

}  // namespace mb
