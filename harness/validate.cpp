#include "harness/validate.hpp"

#include <algorithm>
#include <cstdint>

#include "harness/rng.hpp"

namespace mb {

bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

namespace {
thread_local CheckPolicy policy = CheckPolicy::by_cost;
}  // namespace

CheckPolicy check_policy() { return policy; }

ScopedFullCheck::ScopedFullCheck() : saved_(policy) { policy = CheckPolicy::full; }
ScopedFullCheck::~ScopedFullCheck() { policy = saved_; }

ScopedSampledCheck::ScopedSampledCheck() : saved_(policy) { policy = CheckPolicy::sampled; }
ScopedSampledCheck::~ScopedSampledCheck() { policy = saved_; }

bool fits_full_check(double n_outputs, double ns_per_output) { return n_outputs * ns_per_output <= kFullCheckBudgetNs; }

std::vector<size_t> plane_edges(int64_t images, int64_t planes, int64_t rows, int64_t cols, EdgeDepth depth) {
  std::vector<size_t> idx;
  auto add_image = [&](int64_t n) {
    for (int64_t pl = 0; pl < planes; ++pl) {
      const int64_t base = (n * planes + pl) * rows * cols;
      for (int64_t r = 0; r < rows; ++r) {
        const bool edge_row = r < depth.top || r >= rows - depth.bottom;
        for (int64_t c = 0; c < cols; ++c) {
          if (!edge_row && c == depth.left && cols - depth.right > c) c = cols - depth.right;  // skip the interior
          idx.push_back(static_cast<size_t>(base + r * cols + c));
        }
      }
    }
  };
  add_image(0);
  if (images > 1) add_image(images - 1);
  return idx;
}

CheckSet::CheckSet(size_t n_outputs, double ns_per_output, const std::function<std::vector<size_t>()>& structural)
    : n_(n_outputs),
      full_(policy == CheckPolicy::full ||
            (policy == CheckPolicy::by_cost && fits_full_check(static_cast<double>(n_outputs), ns_per_output))) {
  if (full_) return;
  if (structural) sample_ = structural();
  sample_.push_back(0);  // the ends catch indexing off either end
  sample_.push_back(n_outputs - 1);
  Rng rng(0xC0FFEEull ^ n_outputs);
  for (size_t k = 0; k < kRandomSample; ++k) sample_.push_back(rng.below(n_outputs));
  std::sort(sample_.begin(), sample_.end());
  sample_.erase(std::unique(sample_.begin(), sample_.end()), sample_.end());
}

std::string CheckSet::label() const { return full_ ? "full" : "sampled:" + std::to_string(sample_.size()); }

}  // namespace mb
