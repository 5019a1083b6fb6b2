// linear in torch (modebench-torch only): at::linear, F.linear as a PyTorch user calls it.
#include "ops/linear/linear.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

class TorchLinear : public TorchCompute {
 public:
  TorchLinear(at::Tensor w, at::Tensor b)
      : w_(std::move(w)), b_(std::move(b)), math_(torch_math(w_.device(), at::globalContext().allowTF32CuBLAS())) {}
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override { return {at::linear(in[0], w_, b_)}; }
  std::vector<at::Tensor> weights() override { return {w_, b_}; }
  std::string label() const override { return math_.label; }
  Precision precision() const override { return math_.precision; }

 private:
  at::Tensor w_, b_;
  TorchMath math_;
};

}  // namespace

void install_torch_linear() {
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    const ref::LinearShape& s = static_cast<LinearProblem&>(p).shape;
    return {{s.batch, s.in}, {s.out, s.in}, {s.out}, {s.batch, s.out}};
  };
  op.make = [](Problem&, const std::vector<at::Tensor>& w, at::Device) {
    return std::make_unique<TorchLinear>(w[0], w[1]);
  };
  install_torch_impls("linear", "torch", std::move(op), /*hybrid=*/true);
}

}  // namespace mb
