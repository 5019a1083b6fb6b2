// Does the harness add anything? Times each linear cpu impl through the harness
// (PreparedEntry, exactly what `modebench run` times) and as the bare library call
// on the same buffers, interleaved in one process, and prints the median ratio.
// Also states each result against this machine's fp32 peak (--peak-gflops).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "kernels/cpu/linear.hpp"
#include "ops/linear/linear.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double time_block_ms(F&& f, int calls) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / calls;
}

}  // namespace

int main(int argc, char** argv) {
  double peak_gflops = argc > 1 ? std::atof(argv[1]) : 0.0;
  const int rounds = 9;
  std::printf("%-18s %-9s %6s %12s %12s %8s %9s %8s\n", "case", "impl", "batch", "harness_us", "bare_us", "ratio",
              "GFLOP/s", "%peak");
  for (const auto& c : mb::registry().cases()) {
    if (c->op() != "linear") continue;
    for (int64_t batch : c->batches(mb::Profile::quick)) {
      for (const std::string impl : {"openblas", "onednn"}) {
        mb::Entry e{c.get(), mb::Mode::cpu, impl, batch};
        mb::PreparedEntry harnessed(e, mb::RunConfig{});
        if (!harnessed.status().is_ok()) {
          std::printf("%s: %s\n", e.name().c_str(), harnessed.message().c_str());
          return 1;
        }
        // The bare call on its own copy of the same inputs.
        auto prob = c->make_problem(batch, 42);
        auto& p = static_cast<mb::LinearProblem&>(*prob);
        const auto& s = p.shape;
        std::unique_ptr<mb::cpu::OnednnLinear> dnn;
        if (impl == "onednn")
          dnn = std::make_unique<mb::cpu::OnednnLinear>(p.w.data(), p.b.data(), s.batch, s.in, s.out);
        auto bare = [&] {
          if (dnn)
            dnn->run(p.x.data(), p.y.data());
          else
            mb::cpu::linear_openblas(p.x.data(), p.w.data(), p.b.data(), p.y.data(), s.batch, s.in, s.out);
        };
        // Enough calls per block for ~20 ms, blocks interleaved so drift hits both alike.
        const double one = std::max(1e-3, time_block_ms(bare, 3));
        const int calls = std::max(1, static_cast<int>(20.0 / one));
        std::vector<double> t_h, t_b;
        for (int r = 0; r < rounds; ++r) {
          t_h.push_back(time_block_ms([&] { harnessed.timed_call_ms(); }, calls));
          t_b.push_back(time_block_ms(bare, calls));
        }
        const double h = median(t_h), b = median(t_b);
        const double gflops = c->flops(batch) / (h * 1e-3) / 1e9;
        std::printf("%-18s %-9s %6lld %12.1f %12.1f %8.3f %9.1f %7.0f%%\n", c->name().c_str(), impl.c_str(),
                    static_cast<long long>(batch), h * 1e3, b * 1e3, h / b, gflops,
                    peak_gflops > 0 ? 100.0 * gflops / peak_gflops : 0.0);
      }
    }
  }
  return 0;
}
