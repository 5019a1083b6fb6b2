#pragma once
// The cuDNN convolution instance conv2d and conv1d share (conv1d runs as a 2-D convolution of
// height 1, as PyTorch does for nn.Conv1d): the math type set explicitly (FMA only, strict fp32,
// or cuDNN's default, which allows TF32 on Ampere and newer), the algorithm chosen once per
// shape, then our bias kernel. CUDA builds only.
#include <algorithm>
#include <cstdint>
#include <string>

#include "harness/device/cuda/cudnn_conv.hpp"
#include "harness/op_case.hpp"
#include "kernels/cuda/bias.hpp"

namespace mb {

// P: a problem with NCHW float arrays x, w, b, y; out_h x out_w: the reference's output size.
template <class P>
class CudnnConvInstance : public Instance {
 public:
  CudnnConvInstance(P& p, const ConvSetup& setup, int64_t out_h, int64_t out_w, CudaDevice& dev, bool tf32)
      : p_(p),
        dev_(dev),
        setup_(setup),
        out_pixels_(out_h * out_w),
        conv_(setup, tf32),
        x_(dev, p.x.size()),
        w_(dev, p.w.size()),
        b_(dev, p.b.size()),
        y_(dev, p.y.size()) {
    if (conv_.P() != out_h || conv_.Q() != out_w)
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
    check_cuda(cuda::add_bias_nchw(y_.data(), b_.data(), setup_.n, setup_.k, out_pixels_, dev_.stream()),
               "add_bias_nchw");
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

  P& p_;
  CudaDevice& dev_;
  ConvSetup setup_;
  int64_t out_pixels_;
  CudnnConv conv_;
  DeviceArray<float> x_, w_, b_, y_;
  ConvChoice choice_;
  DeviceArray<unsigned char> workspace_;
};

}  // namespace mb
