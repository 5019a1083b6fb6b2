// torch_overhead: does the harness add anything to a torch call? Per op (each op's first case,
// at every batch the quick profile runs its torch impl), the median time of one call
//   bare:    the op's torch code called directly in a loop (ops/<op>/torch.cpp's compute on
//            views of the same inputs: for linear and conv2d, at::linear / at::conv2d itself)
//   harness: the same impl as modebench-torch times it (PreparedEntry's instance, torch_guarded,
//            the per-call clock)
// alternating call by call (both see the same machine), in one process; the ratio of the
// medians, harness / bare. Issue 14 asks for <= 1.05.
//   torch_overhead [--rounds R] [--round-ms MS] [--ops a,b] [--path both|bare|harness]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/host_allocator.hpp"
#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "harness/status.hpp"
#include "ops/torch_ops.hpp"
#include "providers/torch/torch_impl.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The op's compute on views of the problem's tensors, called directly.
class Bare {
 public:
  Bare(const mb::TorchOp& op, mb::Problem& p) {
    const std::vector<mb::TensorRef> refs = p.tensors();
    const auto shapes = op.shapes(p);
    std::vector<at::Tensor> weights;
    for (size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].role == mb::Role::input) inputs_.push_back(mb::host_view(refs[i].data, shapes[i]));
      if (refs[i].role == mb::Role::weight) weights.push_back(mb::host_view(refs[i].data, shapes[i]));
    }
    compute_ = op.make(p, weights, at::Device(at::kCPU));
  }
  double call_ms() {
    const auto t0 = Clock::now();
    const std::vector<at::Tensor> out = compute_->forward(inputs_);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }

 private:
  std::vector<at::Tensor> inputs_;
  std::unique_ptr<mb::TorchCompute> compute_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"torch_overhead: the harness's time for a torch call against a bare loop of it"};
  int rounds = 41;
  double round_ms = 0.0;  // one call of each per round
  std::vector<std::string> ops;
  app.add_option("--rounds", rounds, "alternating rounds per entry")->capture_default_str();
  app.add_option("--round-ms", round_ms, "time of one round of each")->capture_default_str();
  app.add_option("--ops", ops, "ops (default: every op)")->delimiter(',');
  // `--path bare` and `--path harness` time one path per process (both are set up alike), to
  // compare two processes' medians; MODEBENCH_HOST_ALLOCATOR=default shows what glibc's
  // dynamic thresholds do to ops with large temporaries (harness/host_allocator.hpp).
  std::string path = "both";
  app.add_option("--path", path, "both (alternating), bare or harness")
      ->check(CLI::IsMember({"both", "bare", "harness"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!mb::settle_host_allocator_and_say("torch_overhead")) return 2;
  mb::install_torch_ops();

  std::printf("%-44s %12s %12s %8s\n", "entry (cpu, impl torch)", "bare ms", "harness ms", "ratio");
  std::vector<std::string> seen;
  for (const auto& c : mb::registry().cases()) {
    if (std::find(seen.begin(), seen.end(), c->op()) != seen.end()) continue;
    if (!ops.empty() && std::find(ops.begin(), ops.end(), c->op()) == ops.end()) continue;
    seen.push_back(c->op());
    const std::string impl = c->op() == "knn" ? "torch_exact" : "torch";
    const mb::TorchOp* op = mb::installed_torch_op(c->op(), impl);
    const mb::Impl* row = c->find_impl(impl, mb::Placement::host);
    for (int64_t batch : c->batches(mb::Profile::quick)) {
      if (row->in_quick_profile && !row->in_quick_profile(batch)) continue;
      mb::PreparedEntry harness(mb::Entry{c.get(), mb::Mode::cpu, impl, batch}, mb::RunConfig{.seed = 42});
      if (!harness.status().is_ok()) {
        std::printf("%-44s %s\n", harness.entry().name().c_str(), harness.message().c_str());
        continue;
      }
      auto problem = c->make_problem(batch, 42);
      Bare bare(*op, *problem);
      bare.call_ms();  // warm, as the harness's entry is
      std::vector<double> bare_ms, harness_ms;
      for (int r = 0; r < rounds; ++r) {
        for (double spent = 0.0; path != "harness" && (spent < round_ms || spent == 0.0);)
          spent += bare_ms.emplace_back(bare.call_ms());
        for (double spent = 0.0; path != "bare" && (spent < round_ms || spent == 0.0);)
          spent += harness_ms.emplace_back(harness.timed_call_ms());
      }
      const double b = bare_ms.empty() ? 0.0 : median(bare_ms), h = harness_ms.empty() ? 0.0 : median(harness_ms);
      std::printf("%-44s %12.4f %12.4f %8.3f\n", (c->id() + " batch " + std::to_string(batch)).c_str(), b, h,
                  b > 0.0 && h > 0.0 ? h / b : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
}
