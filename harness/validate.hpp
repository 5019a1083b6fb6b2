#pragma once
// Helpers every op's validate() shares: the error metric of ops.md, NaN/Inf
// scans over every output, and the fixed output sample for large problems.
#include <cmath>
#include <cstdint>
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
  void note_nonfinite() { finite_ = false; }
  double max_err() const { return max_err_; }
  bool finite() const { return finite_; }

 private:
  double max_err_ = 0.0;
  bool finite_ = true;
};

bool all_finite(std::span<const float> v);

// Output sizes up to this many elements are checked in full; larger ones on a sample.
inline constexpr size_t kFullCheckLimit = 200'000;
inline constexpr size_t kSampleSize = 1000;

// Which outputs to check: all of them when small, else a fixed seeded sample of kSampleSize.
std::vector<size_t> outputs_to_check(size_t n_outputs, size_t full_limit = kFullCheckLimit);
std::string check_label(size_t n_outputs, size_t full_limit = kFullCheckLimit);

// While alive, every output is checked whatever the size (the reduced-size run
// that accompanies a sampled check, ops.md "Validation at scale").
class ScopedFullCheck {
 public:
  ScopedFullCheck();
  ~ScopedFullCheck();
  ScopedFullCheck(const ScopedFullCheck&) = delete;
  ScopedFullCheck& operator=(const ScopedFullCheck&) = delete;

 private:
  bool saved_;
};

// The check linear and conv2d share: every output scanned for NaN/Inf, the
// outputs_to_check() set compared with `ref_at(index)` relative to its magnitude.
template <class RefAt>
Validation validate_against(std::span<const float> out, double tolerance, RefAt&& ref_at) {
  Validation v;
  v.tolerance = tolerance;
  v.check = check_label(out.size());
  ErrorMeter meter;
  for (size_t idx : outputs_to_check(out.size())) meter.add(out[idx], ref_at(idx));
  v.max_err = meter.max_err();
  v.finite = all_finite(out) && meter.finite();
  return v;
}

}  // namespace mb
