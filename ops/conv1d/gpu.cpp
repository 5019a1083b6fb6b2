// conv1d on the GPU through cuDNN as a 2-D convolution of height 1 (the 1 x kernel filter
// slides along the width), what PyTorch does for nn.Conv1d
// (harness/device/cuda/cudnn_conv_instance.hpp).
#include "harness/device/cuda/cudnn_conv_instance.hpp"
#include "ops/conv1d/conv1d.hpp"

namespace mb {

std::unique_ptr<Instance> make_cudnn_conv1d(Conv1dProblem& p, Device& dev, Precision precision) {
  const ref::Conv1dShape& s = p.shape;
  const ConvSetup setup{s.N, s.C, 1, s.L, s.K, 1, s.kernel, 1, s.stride, 0, s.pad, 1, s.dilation, s.groups};
  return std::make_unique<CudnnConvInstance<Conv1dProblem>>(p, setup, 1, s.Lout(), as_cuda(dev),
                                                            precision == Precision::tf32);
}

std::vector<KernelRef> conv1d_gpu_kernels() { return {{"add_bias_nchw", cuda::add_bias_nchw_kernel(), "bias.cu"}}; }

}  // namespace mb
