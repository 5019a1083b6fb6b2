// ssim in torch (modebench-torch only): the pure-PyTorch SSIM 3DGS falls back to without
// fused-ssim (gaussian-splatting utils/loss_utils.py: five depthwise 11x11 convolutions with a
// 2-D window and element-wise math, the window made on the host and moved on every call), with
// docs/ops.md's semantics: sigma^2 clamped at 0 and the map clamped to [-1, 1].
#include "kernels/common/gaussian.hpp"
#include "ops/ssim/ssim.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

// create_window(11, channels): the outer product of the 1-D taps in fp32, one per channel.
at::Tensor gaussian_window(int64_t channels) {
  at::Tensor taps = at::empty({common::kGaussTaps, 1}, at::kFloat);
  for (int i = 0; i < common::kGaussTaps; ++i) taps[i][0] = static_cast<float>(common::kGaussTapValues[i]);
  return taps.mm(taps.t()).expand({channels, 1, common::kGaussTaps, common::kGaussTaps}).contiguous();
}

class TorchSsim : public TorchCompute {
 public:
  explicit TorchSsim(at::Device where)
      : where_(where), math_(torch_math(where, at::globalContext().allowTF32CuDNN())) {}
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override {
    const at::Tensor &x = in[0], &y = in[1];
    const int64_t channels = x.size(1);
    const at::Tensor window = gaussian_window(channels).to(where_);
    auto blur = [&](const at::Tensor& t) { return at::conv2d(t, window, {}, 1, common::kGaussRadius, 1, channels); };
    const at::Tensor mu_x = blur(x), mu_y = blur(y);
    const at::Tensor mu_x2 = mu_x.pow(2), mu_y2 = mu_y.pow(2), mu_xy = mu_x * mu_y;
    const at::Tensor sigma_x2 = (blur(x * x) - mu_x2).clamp_min(0.0);
    const at::Tensor sigma_y2 = (blur(y * y) - mu_y2).clamp_min(0.0);
    const at::Tensor sigma_xy = blur(x * y) - mu_xy;
    const at::Tensor map =
        (((2 * mu_xy + kC1) * (2 * sigma_xy + kC2)) / ((mu_x2 + mu_y2 + kC1) * (sigma_x2 + sigma_y2 + kC2)))
            .clamp(-1.0, 1.0);
    return {map, map.mean().reshape({1})};
  }
  // The tolerance is the op's one whatever the math: TF32 blurs are what 3DGS runs on such GPUs.
  std::string label() const override { return math_.label + ";window=2d_11x11"; }

 private:
  at::Device where_;
  TorchMath math_;
};

}  // namespace

void install_torch_ssim() {
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    const ref::SsimShape& s = static_cast<SsimProblem&>(p).shape;
    const std::vector<int64_t> image{s.batch, s.channels, s.height, s.width};
    return {image, image, image, {1}};
  };
  op.make = [](Problem&, const std::vector<at::Tensor>&, at::Device where) {
    return std::make_unique<TorchSsim>(where);
  };
  install_torch_impls("ssim", "torch", std::move(op), /*hybrid=*/true);
}

}  // namespace mb
