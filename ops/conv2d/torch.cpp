// conv2d in torch (modebench-torch only): at::conv2d, F.conv2d as a PyTorch user calls it, with
// cuDNN's benchmark mode off (torch's default: one heuristic choice, no autotuning at first call).
#include <ATen/native/ConvUtils.h>

#include "ops/conv2d/conv2d.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

class TorchConv2d : public TorchCompute {
 public:
  TorchConv2d(const ref::Conv2dShape& s, at::Tensor w, at::Tensor b)
      : s_(s),
        w_(std::move(w)),
        b_(std::move(b)),
        math_(torch_math(w_.device(), at::globalContext().allowTF32CuDNN())) {
    const at::Tensor probe = at::empty({s.N, s.C, s.H, s.W}, w_.options());
    const std::vector<c10::SymInt> stride{s.stride, s.stride}, pad{s.pad, s.pad}, dilation{1, 1}, out_pad{0, 0};
    backend_ = conv_backend_name(at::native::select_conv_backend(probe, w_, b_, stride, pad, dilation, false, out_pad,
                                                                 c10::SymInt(s.groups), std::nullopt));
  }
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override {
    return {at::conv2d(in[0], w_, b_, {s_.stride, s_.stride}, {s_.pad, s_.pad}, {1, 1}, s_.groups)};
  }
  std::vector<at::Tensor> weights() override { return {w_, b_}; }
  std::string label() const override {
    return math_.label + ";conv_backend=" + backend_ + (w_.is_cuda() ? ";cudnn_benchmark=off" : "");
  }
  Precision precision() const override { return math_.precision; }

 private:
  ref::Conv2dShape s_;
  at::Tensor w_, b_;
  TorchMath math_;
  std::string backend_;
};

}  // namespace

void install_torch_conv2d() {
  at::globalContext().setBenchmarkCuDNN(false);
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    const ref::Conv2dShape& s = static_cast<Conv2dProblem&>(p).shape;
    return {{s.N, s.C, s.H, s.W}, {s.K, s.Cg(), s.R, s.S}, {s.K}, {s.N, s.K, s.P(), s.Q()}};
  };
  op.make = [](Problem& p, const std::vector<at::Tensor>& w, at::Device) {
    return std::make_unique<TorchConv2d>(static_cast<Conv2dProblem&>(p).shape, w[0], w[1]);
  };
  install_torch_impls("conv2d", "torch", std::move(op), /*hybrid=*/true);
}

}  // namespace mb
