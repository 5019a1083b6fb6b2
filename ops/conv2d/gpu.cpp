// conv2d on the GPU through cuDNN with the math type set explicitly: FMA only
// (strict fp32) or cuDNN's default, which allows TF32 on Ampere and newer.
#include "harness/device/cuda/cudnn_conv.hpp"
#include "kernels/cuda/bias.hpp"
#include "ops/conv2d/conv2d.hpp"

namespace mb {
namespace {

ConvSetup setup_of(const ref::Conv2dShape& s) {
  return ConvSetup{s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.stride, s.pad, s.pad, 1, 1, s.groups};
}

class CudnnConv2d : public Instance {
 public:
  CudnnConv2d(Conv2dProblem& p, CudaDevice& dev, bool tf32)
      : p_(p),
        dev_(dev),
        conv_(setup_of(p.shape), tf32),
        x_(dev, p.x.size()),
        w_(dev, p.w.size()),
        b_(dev, p.b.size()),
        y_(dev, p.y.size()) {
    if (conv_.P() != p.shape.P() || conv_.Q() != p.shape.Q())
      throw DeviceFailure(ErrorClass::library_error, "cuDNN output size differs from the reference's");
    x_.upload(p.x.data());
    w_.upload(p.w.data());
    b_.upload(p.b.data());
    choice_ = conv_.choose(dev, x_.data(), w_.data(), y_.data());
    workspace_ = DeviceArray<unsigned char>(dev, std::max<size_t>(choice_.workspace, 1));
    // NaN bytes after the search wrote y: a result that was never written cannot validate.
    check_cuda(cudaMemsetAsync(y_.data(), 0xFF, y_.bytes(), dev.stream()), "cudaMemsetAsync(y)");
    dev.synchronize();
  }

  void run() override {
    conv_.forward(dev_.cudnn(), choice_, x_.data(), w_.data(), y_.data(), workspace_.data());
    const auto& s = p_.shape;
    check_cuda(cuda::add_bias_nchw(y_.data(), b_.data(), s.N, s.K, s.P() * s.Q(), dev_.stream()), "add_bias_nchw");
  }
  double timed_run_ms() override {
    return time_on_stream_ms(dev_, [this] { run(); });
  }
  void fetch_outputs() override { y_.download(p_.y.data()); }
  std::string label() const override {
    // The math the chosen algorithm was measured with, not the one asked for.
    return "math=" + math().label + ";algo=" + conv_algo_name(choice_.algo) +
           ";workspace=" + std::to_string(choice_.workspace) + ";" + kernel_image_label(cuda::add_bias_nchw_kernel());
  }
  Precision precision() const override { return math().precision; }

 private:
  MathRan math() const { return cudnn_math(static_cast<int>(choice_.math), dev_.compute_capability()); }

  Conv2dProblem& p_;
  CudaDevice& dev_;
  CudnnConv conv_;
  DeviceArray<float> x_, w_, b_, y_;
  ConvChoice choice_;
  DeviceArray<unsigned char> workspace_;
};

}  // namespace

std::unique_ptr<Instance> make_cudnn_conv2d(Conv2dProblem& p, Device& dev, Precision precision) {
  return std::make_unique<CudnnConv2d>(p, as_cuda(dev), precision == Precision::tf32);
}

std::vector<KernelRef> conv2d_gpu_kernels() { return {{"add_bias_nchw", cuda::add_bias_nchw_kernel(), "bias.cu"}}; }

}  // namespace mb
