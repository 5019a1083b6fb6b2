#include "ops/model/mobilenet_v2.hpp"

#include <cmath>

#include "harness/rng.hpp"

namespace mb {
namespace {

MbConv conv(int64_t in, int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t groups, bool relu6) {
  return {ref::Conv2dShape{1, in, size, size, out, kernel, kernel, stride, (kernel - 1) / 2, groups}, relu6};
}

}  // namespace

std::vector<MbBlock> mobilenet_v2_blocks() {
  // torchvision.models.mobilenetv2: expansion t, output channels c, repeats n, first stride s.
  struct Setting {
    int64_t t, c, n, s;
  };
  static constexpr Setting kSettings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::vector<MbBlock> blocks;
  int64_t size = kMobilenetImage, channels = 32;
  blocks.push_back({{conv(3, channels, size, 3, 2, 1, true)}, false});
  size = (size + 1) / 2;
  for (const Setting& st : kSettings) {
    for (int64_t i = 0; i < st.n; ++i) {
      const int64_t stride = i == 0 ? st.s : 1, hidden = channels * st.t;
      MbBlock b{{}, stride == 1 && channels == st.c};
      if (st.t != 1) b.convs.push_back(conv(channels, hidden, size, 1, 1, 1, true));
      b.convs.push_back(conv(hidden, hidden, size, 3, stride, hidden, true));
      size = (size + 2 - 3) / stride + 1;
      b.convs.push_back(conv(hidden, st.c, size, 1, 1, 1, false));
      blocks.push_back(std::move(b));
      channels = st.c;
    }
  }
  blocks.push_back({{conv(channels, kMobilenetFeatures, size, 1, 1, 1, true)}, false});
  return blocks;
}

MbConvWeights mobilenet_v2_weights(const MbConv& c, uint64_t seed, int64_t layer) {
  const ref::Conv2dShape& s = c.shape;
  Rng rng(derive_seed(seed, 1000 + static_cast<uint64_t>(layer)));
  MbConvWeights w;
  w.weight.resize(static_cast<size_t>(s.weight_size()));
  const float bound = std::sqrt(6.0f / static_cast<float>(s.Cg() * s.R * s.S));
  rng.fill_uniform(w.weight, -bound, bound);
  const auto k = static_cast<size_t>(s.K);
  w.gamma.resize(k);
  w.beta.resize(k);
  w.mean.resize(k);
  w.var.resize(k);
  rng.fill_uniform(w.gamma, 0.5f, 1.5f);
  rng.fill_uniform(w.beta, -0.2f, 0.2f);
  rng.fill_uniform(w.mean, -0.2f, 0.2f);
  rng.fill_uniform(w.var, 0.5f, 2.0f);
  return w;
}

MbLayerInputs mobilenet_v2_layer_inputs(const MbConv& c, int64_t batch, uint64_t seed) {
  MbLayerInputs in{c.shape, {}, {}, {}};
  ref::Conv2dShape& s = in.shape;
  s.N = batch;
  in.x.resize(static_cast<size_t>(s.input_size()));
  in.w.resize(static_cast<size_t>(s.weight_size()));
  in.b.assign(static_cast<size_t>(s.K), 0.0f);
  fill_layer_inputs(seed, in.x, in.w, in.b, s.Cg() * s.R * s.S);
  return in;
}

double mobilenet_v2_flops_per_image() {
  double flops = 0.0;
  for (const MbBlock& b : mobilenet_v2_blocks())
    for (const MbConv& c : b.convs)
      flops +=
          2.0 * static_cast<double>(c.shape.output_size()) * static_cast<double>(c.shape.Cg() * c.shape.R * c.shape.S);
  return flops;
}

int64_t mobilenet_v2_weight_count() {
  int64_t n = 0;
  for (const MbBlock& b : mobilenet_v2_blocks())
    for (const MbConv& c : b.convs) n += c.shape.weight_size() + 4 * c.shape.K;
  return n;
}

}  // namespace mb
