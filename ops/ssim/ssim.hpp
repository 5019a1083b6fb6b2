#pragma once
// ssim (fused-ssim forward): one case struct per image size of ops.md.
#include <vector>

#include "cpu_ref/ssim.hpp"
#include "harness/op_case.hpp"

namespace mb {

struct SsimProblem : Problem {
  explicit SsimProblem(const ref::SsimShape& s)
      : Problem(s.batch),
        shape(s),
        x(static_cast<size_t>(s.pixels())),
        y(static_cast<size_t>(s.pixels())),
        map(static_cast<size_t>(s.pixels())),
        mean(1) {}
  std::vector<TensorRef> tensors() override {
    return {{"x", Role::input, x.data(), x.size()},
            {"y", Role::input, y.data(), y.size()},
            {"map", Role::output, map.data(), map.size()},
            {"mean", Role::output, mean.data(), mean.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<SsimProblem>(*this); }

  ref::SsimShape shape;          // [B, 3, H, W]
  std::vector<float> x, y, map;  // map: per-pixel SSIM, same layout as x
  std::vector<float> mean;       // [1]: mean of map
};

// GPU impls of ssim ("fused", "cudnn"; harness/cuda/, CUDA builds only).
std::unique_ptr<Instance> make_ssim_gpu(const std::string& impl, SsimProblem& p, Device& dev);

}  // namespace mb
