#pragma once
// The network of ops/model/torch.cpp, for the tests that measure its tolerances and the
// per-layer comparison (bench/torch/model_layers.cpp). modebench-torch only.
#include <ATen/ATen.h>

#include <cstdint>

namespace mb {

// Features [n, 1280] of `images` [n, 3, 224, 224] on their device, in their float type, by a
// fresh network with the weights of `seed`; with `emulate_tf32`, every convolution's inputs and
// weights cut to TF32 first.
at::Tensor mobilenet_v2_features(uint64_t seed, const at::Tensor& images, bool emulate_tf32 = false);

}  // namespace mb
