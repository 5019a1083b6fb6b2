// conv2d on the GPU through cuDNN (harness/device/cuda/cudnn_conv_instance.hpp).
#include "harness/device/cuda/cudnn_conv_instance.hpp"
#include "ops/conv2d/conv2d.hpp"

namespace mb {

std::unique_ptr<Instance> make_cudnn_conv2d(Conv2dProblem& p, Device& dev, Precision precision) {
  const ref::Conv2dShape& s = p.shape;
  const ConvSetup setup{s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.stride, s.pad, s.pad, 1, 1, s.groups};
  return std::make_unique<CudnnConvInstance<Conv2dProblem>>(p, setup, s.P(), s.Q(), as_cuda(dev),
                                                            precision == Precision::tf32);
}

std::vector<KernelRef> conv2d_gpu_kernels() { return {{"add_bias_nchw", cuda::add_bias_nchw_kernel(), "bias.cu"}}; }

}  // namespace mb
