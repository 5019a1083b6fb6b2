// torch_model_layers: MobileNetV2 whole against the sum of its layers, on the CPU. Per batch:
//   model:        the model op's torch impl as modebench-torch times it (median call)
//   torch convs:  the sum over its 52 convolutions of at::conv2d alone at that layer's shape
//   torch layers: the same with each layer's BatchNorm and ReLU6 (what the model runs, minus
//                 the residual adds and the pooling)
// The gaps say what the network costs beyond its convolutions; model_convs (a process without
// libtorch: see there why) times the same convolutions with modebench's best impl per layer.
//   torch_model_layers [--batches 1,8,32] [--calls N]
#include <ATen/ATen.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <vector>

#include "bench/median_ms.hpp"
#include "harness/host_allocator.hpp"
#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "harness/status.hpp"
#include "ops/model/mobilenet_v2.hpp"
#include "ops/torch_ops.hpp"

namespace {

using mb::median_ms;

struct LayerTimes {
  double torch_conv = 0, torch_layer = 0;
};

LayerTimes time_layers(int64_t batch, int calls) {
  LayerTimes t;
  for (const mb::MbBlock& block : mb::mobilenet_v2_blocks())
    for (const mb::MbConv& c : block.convs) {
      mb::MbLayerInputs in = mb::mobilenet_v2_layer_inputs(c, batch, 7);
      const mb::ref::Conv2dShape& s = in.shape;
      const at::Tensor xt = at::from_blob(in.x.data(), {s.N, s.C, s.H, s.W});
      const at::Tensor wt = at::from_blob(in.w.data(), {s.K, s.Cg(), s.R, s.S});
      const at::Tensor ones = at::ones({s.K}), zeros = at::zeros({s.K});
      auto conv = [&] { return at::conv2d(xt, wt, {}, s.stride, s.pad, 1, s.groups); };
      t.torch_conv += median_ms(calls, [&] { conv(); });
      t.torch_layer += median_ms(calls, [&] {
        const at::Tensor z = at::batch_norm(conv(), ones, zeros, zeros, ones, false, 0.1, 1e-5, false);
        if (c.relu6) at::hardtanh(z, 0.0, 6.0);
      });
    }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"torch_model_layers: MobileNetV2 whole against the sum of its layers (CPU)"};
  std::vector<int64_t> batches{1, 8, 32};
  int calls = 5;
  app.add_option("--batches", batches, "batches")->delimiter(',');
  app.add_option("--calls", calls, "timed calls per layer and per model")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!mb::settle_host_allocator_and_say("torch_model_layers")) return 2;
  mb::install_torch_ops();
  const mb::OpCase* model = nullptr;
  for (const auto& c : mb::registry().cases())
    if (c->id() == "model/mobilenet_v2") model = c.get();

  std::printf("%6s %12s %14s %14s %10s\n", "batch", "model ms", "torch convs", "torch layers", "ms/image");
  for (int64_t batch : batches) {
    mb::PreparedEntry p(mb::Entry{model, mb::Mode::cpu, "torch", batch}, mb::RunConfig{.seed = 42});
    if (!p.status().is_ok()) {
      std::printf("%6lld %s\n", static_cast<long long>(batch), p.message().c_str());
      continue;
    }
    const double whole = median_ms(calls, [&] { p.timed_call_ms(); });
    const LayerTimes layers = time_layers(batch, calls);
    std::printf("%6lld %12.2f %14.2f %14.2f %10.2f\n", static_cast<long long>(batch), whole, layers.torch_conv,
                layers.torch_layer, whole / static_cast<double>(batch));
    std::fflush(stdout);
  }
  return 0;
}
