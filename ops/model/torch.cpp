// model/mobilenet_v2 in torch (modebench-torch only): torchvision's MobileNetV2 feature extractor
// written with libtorch's C++ modules (Conv2d without bias, BatchNorm2d in eval mode, ReLU6,
// inverted residuals; then adaptive average pooling), its weights from the run's seed
// (mobilenet_v2_weights), and the float64 copy of it on the host that validates it.
#include "ops/model/torch.hpp"

#include <torch/nn.h>

#include <map>
#include <mutex>

#include "ops/model/model.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

// TF32 as tensor cores take fp32 operands: the mantissa cut to 10 bits (truncated, the worse of
// the two conversions), in whatever float type the network runs.
at::Tensor to_tf32(const at::Tensor& t) {
  const at::Tensor f = t.to(at::kFloat).contiguous();
  return f.view(at::kInt).bitwise_and(~int32_t{0x1FFF}).view(at::kFloat).to(t.scalar_type());
}

struct ConvBnImpl : torch::nn::Module {
  explicit ConvBnImpl(const MbConv& c)
      : shape(c.shape),
        relu6(c.relu6),
        conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.shape.C, c.shape.K, c.shape.R)
                                                           .stride(c.shape.stride)
                                                           .padding(c.shape.pad)
                                                           .groups(c.shape.groups)
                                                           .bias(false)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(c.shape.K))) {}
  at::Tensor forward(const at::Tensor& x, bool tf32) {
    const at::Tensor y =
        tf32 ? at::conv2d(to_tf32(x), to_tf32(conv->weight), {}, shape.stride, shape.pad, 1, shape.groups)
             : conv->forward(x);
    const at::Tensor z = bn->forward(y);
    return relu6 ? at::hardtanh(z, 0.0, 6.0) : z;  // ReLU6, as torch::nn::ReLU6 computes it
  }
  ref::Conv2dShape shape;
  bool relu6;
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
};
TORCH_MODULE(ConvBn);

struct MobileNetV2Impl : torch::nn::Module {
  explicit MobileNetV2Impl(uint64_t seed) {
    int64_t layer = 0;
    for (const MbBlock& b : mobilenet_v2_blocks()) {
      std::vector<ConvBn> convs;
      for (const MbConv& c : b.convs) {
        ConvBn m = register_module("conv" + std::to_string(layer), ConvBn(c));
        load(*m, mobilenet_v2_weights(c, seed, layer++));
        convs.push_back(m);
      }
      blocks.push_back({std::move(convs), b.residual});
    }
    for (at::Tensor& p : parameters()) p.set_requires_grad(false);
    eval();
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = x;
    for (Block& b : blocks) {
      at::Tensor y = h;
      for (ConvBn& c : b.convs) y = c->forward(y, emulate_tf32);
      h = b.residual ? h + y : y;
    }
    return at::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
  }
  // Every convolution's inputs and weights rounded to TF32 (measuring the TF32 tolerance only).
  bool emulate_tf32 = false;

 private:
  struct Block {
    std::vector<ConvBn> convs;
    bool residual;
  };
  static void load(ConvBnImpl& m, const MbConvWeights& w) {
    const torch::NoGradGuard no_grad;
    auto copy = [](at::Tensor& dst, const std::vector<float>& src) {
      dst.copy_(at::from_blob(const_cast<float*>(src.data()), dst.sizes(), at::kFloat));
    };
    copy(m.conv->weight, w.weight);
    copy(m.bn->weight, w.gamma);
    copy(m.bn->bias, w.beta);
    copy(m.bn->running_mean, w.mean);
    copy(m.bn->running_var, w.var);
  }
  std::vector<Block> blocks;
};
TORCH_MODULE(MobileNetV2);

class TorchModel : public TorchCompute {
 public:
  TorchModel(uint64_t seed, at::Device where)
      : net_(seed), math_(torch_math(where, at::globalContext().allowTF32CuDNN())) {
    net_->to(where);
  }
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override { return {net_->forward(in[0])}; }
  std::vector<at::Tensor> weights() override {
    std::vector<at::Tensor> all = net_->parameters();
    for (const at::Tensor& b : net_->buffers()) all.push_back(b);
    return all;
  }
  std::string label() const override { return math_.label + ";net=mobilenet_v2_features;bn=eval"; }
  Precision precision() const override { return math_.precision; }

 private:
  MobileNetV2 net_;
  TorchMath math_;
};

at::Tensor images_of(const ModelProblem& p, const std::vector<int64_t>& images) {
  const at::Tensor all =
      at::from_blob(const_cast<float*>(p.x.data()), {p.batch(), 3, kMobilenetImage, kMobilenetImage}, at::kFloat);
  return all.index_select(0, at::tensor(images, at::kLong));
}

}  // namespace

at::Tensor mobilenet_v2_features(uint64_t seed, const at::Tensor& images, bool emulate_tf32) {
  MobileNetV2 net(seed);
  net->to(images.scalar_type());
  net->emulate_tf32 = emulate_tf32;
  return net->forward(images);
}

void install_torch_model() {
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    return {{p.batch(), 3, kMobilenetImage, kMobilenetImage}, {p.batch(), kMobilenetFeatures}};
  };
  op.make = [](Problem& p, const std::vector<at::Tensor>&, at::Device where) {
    return std::make_unique<TorchModel>(static_cast<ModelProblem&>(p).seed, where);
  };
  install_torch_impls("model", "torch", std::move(op), /*hybrid=*/true);

  // The float64 network of a seed is built once and kept.
  install_model_reference([](const ModelProblem& p, const std::vector<int64_t>& images) {
    static std::mutex mutex;
    static std::map<uint64_t, MobileNetV2> nets;
    const std::lock_guard lock(mutex);
    auto it = nets.find(p.seed);
    if (it == nets.end()) {
      it = nets.emplace(p.seed, MobileNetV2(p.seed)).first;
      it->second->to(at::kDouble);
    }
    const at::Tensor out = it->second->forward(images_of(p, images).to(at::kDouble)).contiguous();
    return std::vector<double>(out.data_ptr<double>(), out.data_ptr<double>() + out.numel());
  });
}

}  // namespace mb
