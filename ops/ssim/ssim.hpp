#pragma once
// ssim (fused-ssim forward): the problem of one (case, batch) and the device impls'
// factories (gpu.cpp, CUDA builds only). The cases and the impl table: case.cpp.
#include <memory>
#include <vector>

#include "cpu_ref/ssim.hpp"
#include "harness/device/device.hpp"
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

// An ssim case of a shape (height, width, channels; docs/ops.md, "Validation shapes").
std::unique_ptr<OpCase> make_ssim_case(const ShapeSpec& s);

// One fused tile kernel (as fused-ssim does), and the 3DGS framework fallback: five
// depthwise 11x11 cuDNN convolutions plus element-wise kernels (gpu.cpp).
std::unique_ptr<Instance> make_fused_ssim(SsimProblem& p, Device& dev);
std::unique_ptr<Instance> make_cudnn_ssim(SsimProblem& p, Device& dev);
std::vector<KernelRef> fused_ssim_kernels();
std::vector<KernelRef> cudnn_ssim_kernels();

}  // namespace mb
