// model_convs: the sum over MobileNetV2's 52 convolutions of modebench's best CPU conv2d impl
// at that layer's shape (the direct depthwise kernel for depthwise layers, else the faster of
// oneDNN's two activation layouts), per batch, against the fp32 peak. torch_model_layers times
// the torch side of the same layers; this half runs without libtorch because a process that
// loads libtorch_cpu binds Debian oneDNN's GEMM initialisation to torch's own oneDNN (an
// exported std::call_once thunk of the same name), and oneDNN's gemm:jit primitives then
// fail to execute.
//   model_convs [--batches 1,8,32] [--calls N] [--peak-gflops G]
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/median_ms.hpp"
#include "harness/host_allocator.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "ops/model/mobilenet_v2.hpp"

namespace {

double best_convs_ms(int64_t batch, int calls) {
  double total = 0;
  for (const mb::MbBlock& block : mb::mobilenet_v2_blocks())
    for (const mb::MbConv& c : block.convs) {
      const mb::MbLayerInputs in = mb::mobilenet_v2_layer_inputs(c, batch, 7);
      const mb::cpu::Conv2dShape s = mb::kernel_shape(in.shape);
      std::vector<float> y(static_cast<size_t>(in.shape.output_size()));
      if (mb::cpu::is_depthwise(s)) {
        total += mb::median_ms(calls,
                               [&] { mb::cpu::conv2d_depthwise(in.x.data(), in.w.data(), in.b.data(), y.data(), s); });
        continue;
      }
      double fastest = 0;
      for (auto layout : {mb::cpu::ActivationLayout::primitive_choice, mb::cpu::ActivationLayout::caller_nchw}) {
        mb::cpu::OnednnConv2d conv(in.w.data(), in.b.data(), s, layout);
        const double ms = mb::median_ms(calls, [&] { conv.run(in.x.data(), y.data()); });
        fastest = fastest == 0 ? ms : std::min(fastest, ms);
      }
      total += fastest;
    }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"model_convs: MobileNetV2's convolutions with modebench's best CPU impl per layer"};
  std::vector<int64_t> batches{1, 8, 32};
  int calls = 5;
  double peak_gflops = 0;
  app.add_option("--batches", batches, "batches")->delimiter(',');
  app.add_option("--calls", calls, "timed calls per layer")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--peak-gflops", peak_gflops, "this machine's fp32 peak (machine_limits), for the % column");
  CLI11_PARSE(app, argc, argv);
  if (!mb::settle_host_allocator_and_say("model_convs")) return 2;
  std::printf("%6s %14s %10s %9s%s\n", "batch", "best convs ms", "ms/image", "GFLOP/s",
              peak_gflops > 0 ? "    %peak" : "");
  for (int64_t batch : batches) {
    const double ms = best_convs_ms(batch, calls);
    const double gflops = mb::mobilenet_v2_flops_per_image() * static_cast<double>(batch) / (ms * 1e6);
    std::printf("%6lld %14.2f %10.2f %9.1f", static_cast<long long>(batch), ms, ms / static_cast<double>(batch),
                gflops);
    if (peak_gflops > 0) std::printf(" %7.0f%%", 100.0 * gflops / peak_gflops);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
