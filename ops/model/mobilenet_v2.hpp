#pragma once
// MobileNetV2 as torchvision builds it (width 1.0, 224x224 input), feature extractor: the
// `features` stack, then global average pooling to 1280 values per image (the classifier is
// left out). One table that the case (FLOP, bytes) and the torch modules (ops/model/torch.cpp)
// are both built from, and the per-layer comparisons (bench/torch/model_layers.cpp,
// bench/overhead/model_convs.cpp) read.
#include <cstdint>
#include <vector>

#include "cpu_ref/conv2d.hpp"

namespace mb {

// One Conv2d (no bias) + BatchNorm2d (+ ReLU6) of torchvision's Conv2dNormActivation, or the
// projection of an inverted residual (no activation).
struct MbConv {
  ref::Conv2dShape shape;  // N = 1; H, W: its input
  bool relu6;
};

// The stem, the 17 inverted residuals (t, c, n, s as torchvision's table), the 1x1 head conv.
struct MbBlock {
  std::vector<MbConv> convs;
  bool residual;  // stride 1 and as many channels out as in: x + block(x)
};

inline constexpr int64_t kMobilenetImage = 224, kMobilenetFeatures = 1280;

std::vector<MbBlock> mobilenet_v2_blocks();

// A layer's weights from the run's seed, the same for every torch build (no download, no torch
// generator): the convolution's He-uniform (+-sqrt(6 / fan_in), variance 2 / fan_in as ReLU
// networks are initialised) and BatchNorm's scale, shift and running statistics, drawn so each
// layer computes something other than the identity (eval mode normalises by the running ones).
struct MbConvWeights {
  std::vector<float> weight;                  // [K, C/groups, R, S]
  std::vector<float> gamma, beta, mean, var;  // [K]
};
MbConvWeights mobilenet_v2_weights(const MbConv& c, uint64_t seed, int64_t layer);

// One convolution at a batch with inputs of the run's kind (fill_layer_inputs, bias zero as
// the model's convolutions have none): what the per-layer timing tools feed each layer.
struct MbLayerInputs {
  ref::Conv2dShape shape;
  std::vector<float> x, w, b;
};
MbLayerInputs mobilenet_v2_layer_inputs(const MbConv& c, int64_t batch, uint64_t seed);

// Multiply-adds x 2 of every convolution per image (BatchNorm, ReLU6, residual adds and the
// pooling are not counted, as no op counts element-wise work): 0.60 GFLOP.
double mobilenet_v2_flops_per_image();
// Weights: convolutions' and BatchNorm's four vectors per channel (3.5 M values).
int64_t mobilenet_v2_weight_count();

}  // namespace mb
