// conv1d in torch (modebench-torch only): at::conv1d, nn.Conv1d's forward as a PyTorch user
// calls it, with cuDNN's benchmark mode off (torch's default, as for conv2d).
#include <ATen/native/ConvUtils.h>

#include "ops/conv1d/conv1d.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

class TorchConv1d : public TorchCompute {
 public:
  TorchConv1d(const ref::Conv1dShape& s, at::Tensor w, at::Tensor b)
      : s_(s),
        w_(std::move(w)),
        b_(std::move(b)),
        math_(torch_math(w_.device(), at::globalContext().allowTF32CuDNN())) {
    const at::Tensor probe = at::empty({s.N, s.C, s.L}, w_.options());
    const std::vector<c10::SymInt> stride{s.stride}, pad{s.pad}, dilation{s.dilation}, out_pad{0};
    backend_ = conv_backend_name(at::native::select_conv_backend(probe, w_, b_, stride, pad, dilation, false, out_pad,
                                                                 c10::SymInt(s.groups), std::nullopt));
  }
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override {
    return {at::conv1d(in[0], w_, b_, {s_.stride}, {s_.pad}, {s_.dilation}, s_.groups)};
  }
  std::vector<at::Tensor> weights() override { return {w_, b_}; }
  std::string label() const override {
    return math_.label + ";conv_backend=" + backend_ + (w_.is_cuda() ? ";cudnn_benchmark=off" : "");
  }
  Precision precision() const override { return math_.precision; }

 private:
  ref::Conv1dShape s_;
  at::Tensor w_, b_;
  TorchMath math_;
  std::string backend_;
};

}  // namespace

void install_torch_conv1d() {
  at::globalContext().setBenchmarkCuDNN(false);
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    const ref::Conv1dShape& s = static_cast<Conv1dProblem&>(p).shape;
    return {{s.N, s.C, s.L}, {s.K, s.Cg(), s.kernel}, {s.K}, {s.N, s.K, s.Lout()}};
  };
  op.make = [](Problem& p, const std::vector<at::Tensor>& w, at::Device) {
    return std::make_unique<TorchConv1d>(static_cast<Conv1dProblem&>(p).shape, w[0], w[1]);
  };
  install_torch_impls("conv1d", "torch", std::move(op), /*hybrid=*/true);
}

}  // namespace mb
