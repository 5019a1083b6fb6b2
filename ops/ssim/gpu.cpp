// ssim on the GPU: "fused" (one tile kernel, as fused-ssim does) and "cudnn"
// (the 3DGS framework fallback: five depthwise 11x11 convolutions through cuDNN,
// the products as elementwise kernels, one SSIM-map kernel, then the mean).
#include "harness/device/cuda/cudnn_conv.hpp"
#include "kernels/common/gaussian.hpp"
#include "kernels/cuda/ssim.hpp"
#include "ops/ssim/ssim.hpp"

namespace mb {
namespace {

// Uploads x and y, poisons the outputs; fetch_outputs() downloads map and mean.
class SsimGpuBase : public Instance {
 public:
  SsimGpuBase(SsimProblem& p, CudaDevice& dev)
      : p_(p), dev_(dev), x_(dev, p.x.size()), y_(dev, p.y.size()), map_(dev, p.map.size()), mean_(dev, 1) {
    if (p.shape.pixels() <= 0) throw BadInput("ssim needs at least one pixel");
    x_.upload(p.x.data());
    y_.upload(p.y.data());
    // NaN bytes: a result that was never written cannot validate.
    check_cuda(cudaMemsetAsync(map_.data(), 0xFF, map_.bytes(), dev.stream()), "cudaMemsetAsync(map)");
    check_cuda(cudaMemsetAsync(mean_.data(), 0xFF, mean_.bytes(), dev.stream()), "cudaMemsetAsync(mean)");
    dev.synchronize();
  }
  double timed_run_ms() override {
    return time_on_stream_ms(dev_, [this] { run(); });
  }
  void fetch_outputs() override {
    map_.download(p_.map.data());
    mean_.download(p_.mean.data());
  }

 protected:
  SsimProblem& p_;
  CudaDevice& dev_;
  DeviceArray<float> x_, y_, map_, mean_;
};

class FusedSsim : public SsimGpuBase {
 public:
  FusedSsim(SsimProblem& p, CudaDevice& dev)
      : SsimGpuBase(p, dev),
        partials_(dev,
                  static_cast<size_t>(cuda::ssim_fused_partials(p.shape.planes(), p.shape.height, p.shape.width))) {}
  void run() override {
    const auto& s = p_.shape;
    check_cuda(cuda::ssim_fused(x_.data(), y_.data(), map_.data(), partials_.data(), s.planes(), s.height, s.width,
                                dev_.stream()),
               "ssim_fused");
    check_cuda(cuda::ssim_mean(partials_.data(), static_cast<int64_t>(partials_.size()), s.pixels(), mean_.data(),
                               dev_.stream()),
               "ssim_mean");
  }
  std::string label() const override { return "math=fp32;" + kernel_image_label(cuda::ssim_fused_kernel()); }

 private:
  DeviceArray<float> partials_;
};

ConvSetup window_conv(const ref::SsimShape& s) {
  const int64_t taps = common::kGaussTaps, pad = common::kGaussRadius;
  return ConvSetup{s.batch, s.channels, s.height, s.width, s.channels, taps, taps, 1, 1, pad, pad, 1, 1, s.channels};
}

class CudnnSsim : public SsimGpuBase {
 public:
  CudnnSsim(SsimProblem& p, CudaDevice& dev)
      : SsimGpuBase(p, dev),
        conv_(window_conv(p.shape), /*tf32=*/false),
        window_(dev, static_cast<size_t>(p.shape.channels * common::kGaussTaps * common::kGaussTaps)),
        product_(dev, p.x.size()),
        partials_(dev, static_cast<size_t>(cuda::ssim_map_partials(p.shape.pixels()))) {
    if (conv_.P() != p.shape.height || conv_.Q() != p.shape.width)
      throw DeviceFailure(ErrorClass::library_error, "cuDNN 'same' convolution changed the image size");
    for (auto& m : moments_) m = DeviceArray<float>(dev, p.x.size());
    // The framework's 2D window: outer product of the 1D taps, one copy per channel.
    std::vector<float> window(window_.size());
    const int t = common::kGaussTaps;
    for (size_t i = 0; i < window.size(); ++i) {
      const int r = static_cast<int>(i / t) % t, c = static_cast<int>(i % t);
      window[i] = common::gauss_tap(r) * common::gauss_tap(c);
    }
    window_.upload(window.data());
    choice_ = conv_.choose(dev, x_.data(), window_.data(), moments_[0].data());
    workspace_ = DeviceArray<unsigned char>(dev, std::max<size_t>(choice_.workspace, 1));
  }

  void run() override {
    const int64_t n = static_cast<int64_t>(p_.x.size());
    cudaStream_t st = dev_.stream();
    cudnnHandle_t h = dev_.cudnn();
    auto blur = [&](const float* in, DeviceArray<float>& out) {
      conv_.forward(h, choice_, in, window_.data(), out.data(), workspace_.data());
    };
    blur(x_.data(), moments_[0]);
    blur(y_.data(), moments_[1]);
    check_cuda(cuda::multiply(x_.data(), x_.data(), product_.data(), n, st), "multiply(x, x)");
    blur(product_.data(), moments_[2]);
    check_cuda(cuda::multiply(y_.data(), y_.data(), product_.data(), n, st), "multiply(y, y)");
    blur(product_.data(), moments_[3]);
    check_cuda(cuda::multiply(x_.data(), y_.data(), product_.data(), n, st), "multiply(x, y)");
    blur(product_.data(), moments_[4]);
    check_cuda(
        cuda::ssim_map_from_moments(moments_[0].data(), moments_[1].data(), moments_[2].data(), moments_[3].data(),
                                    moments_[4].data(), map_.data(), partials_.data(), n, st),
        "ssim_map_from_moments");
    check_cuda(cuda::ssim_mean(partials_.data(), static_cast<int64_t>(partials_.size()), n, mean_.data(), st),
               "ssim_mean");
  }
  std::string label() const override {
    return "math=" + cudnn_math(static_cast<int>(choice_.math), dev_.compute_capability()).label +
           ";algo=" + conv_algo_name(choice_.algo) + ";" + kernel_image_label(cuda::ssim_map_kernel());
  }

 private:
  CudnnConv conv_;
  DeviceArray<float> window_, product_, partials_;
  DeviceArray<float> moments_[5];  // mu_x, mu_y, E[x^2], E[y^2], E[xy]
  ConvChoice choice_;
  DeviceArray<unsigned char> workspace_;
};

}  // namespace

std::unique_ptr<Instance> make_fused_ssim(SsimProblem& p, Device& dev) {
  return std::make_unique<FusedSsim>(p, as_cuda(dev));
}
std::unique_ptr<Instance> make_cudnn_ssim(SsimProblem& p, Device& dev) {
  return std::make_unique<CudnnSsim>(p, as_cuda(dev));
}

std::vector<KernelRef> fused_ssim_kernels() {
  return {{"ssim_fused", cuda::ssim_fused_kernel(), "ssim.cu"}, {"ssim_mean", cuda::ssim_mean_kernel(), "ssim.cu"}};
}
std::vector<KernelRef> cudnn_ssim_kernels() {
  return {{"ssim_map", cuda::ssim_map_kernel(), "ssim.cu"},
          {"multiply", cuda::multiply_kernel(), "ssim.cu"},
          {"ssim_mean", cuda::ssim_mean_kernel(), "ssim.cu"}};
}

}  // namespace mb
