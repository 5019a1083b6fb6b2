#include "harness/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "harness/rng.hpp"

namespace mb {

bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

namespace {
thread_local bool force_full_check = false;
size_t effective_limit(size_t full_limit) { return force_full_check ? SIZE_MAX : full_limit; }
}  // namespace

ScopedFullCheck::ScopedFullCheck() : saved_(force_full_check) { force_full_check = true; }
ScopedFullCheck::~ScopedFullCheck() { force_full_check = saved_; }

std::vector<size_t> outputs_to_check(size_t n_outputs, size_t full_limit) {
  full_limit = effective_limit(full_limit);
  std::vector<size_t> idx;
  if (n_outputs <= full_limit) {
    idx.resize(n_outputs);
    std::iota(idx.begin(), idx.end(), size_t{0});
    return idx;
  }
  Rng rng(0xC0FFEEull ^ n_outputs);
  idx.reserve(kSampleSize + 2);
  idx.push_back(0);  // the corners catch indexing off the ends
  idx.push_back(n_outputs - 1);
  while (idx.size() < kSampleSize) idx.push_back(rng.below(n_outputs));
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  return idx;
}

std::string check_label(size_t n_outputs, size_t full_limit) {
  if (n_outputs <= effective_limit(full_limit)) return "full";
  return "sampled:" + std::to_string(outputs_to_check(n_outputs, full_limit).size());
}

}  // namespace mb
