// Validation shapes (docs/ops.md, "Validation shapes"): every host impl of every op, on
// every one of its op's validation shapes and batches, through the real validation path
// (PreparedEntry: poisoned outputs, the first call validated against cpu_ref), at each of
// the thread counts the host impls' tests use. The largest error each impl makes there, as
// a fraction of its tolerance, is printed per op: docs/ops.md's tolerance table quotes it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "include/modebench/policy.hpp"
#include "ops/conv1d/conv1d.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "ops/linear/linear.hpp"
#include "ops/ssim/ssim.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

// Every op with a host impl of its own has validation shapes, and each names its
// dimensions as the policy readers do (the shape --shape is to take).
TEST(ValidationShapes, NameThePolicysDimensions) {
  std::map<std::string, int> per_op;
  for (const auto& v : registry().validation_cases()) {
    ++per_op[v.c->op()];
    EXPECT_NO_THROW(modebench::normalize(v.c->op(), v.shape.dims)) << v.c->id();
    EXPECT_FALSE(v.shape.batches.empty()) << v.c->id();
  }
  for (const auto& c : registry().cases()) {
    if (!c->has_own_host_impl()) continue;
    EXPECT_GT(per_op[c->op()], 0) << c->op() << " has no validation shapes";
  }
}

// Validation shapes whose result is an open finding rather than a pass (docs/ops.md,
// "Structured inputs"): ssim on the synthetic photo, where fp32's E[x^2] - mu^2 on flat
// regions (bright, or far from the kernel's shift) is off by more than the map tolerance that
// random inputs set. Validated and printed, not asserted, until ssim's metric accounts for it.
const char* open_finding(const OpCase& c, const ShapeSpec& s) {
  if (c.op() == "ssim" && s.inputs == Inputs::structured) return "ssim tolerance on flat regions";
  return nullptr;
}

struct Worst {
  double ratio = 0.0;
  std::string at;
};

TEST(ValidationShapes, EveryHostImplIsRightOnEveryValidationShapeAtEachThreadCount) {
  std::map<std::string, Worst> worst;  // by op/impl
  for (const auto& v : registry().validation_cases()) {
    const OpCase& c = *v.c;
    for (const std::string& impl : own_impl_names(c, Placement::host))
      for (int64_t batch : c.batches(Profile::quick))
        at_each_thread_count([&](int threads) {
          const PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{.warmup_calls = 0});
          const std::string at =
              c.id() + " " + impl + " B=" + std::to_string(batch) + " threads=" + std::to_string(threads);
          if (const char* open = open_finding(c, v.shape)) {
            std::printf("[validation shapes] open (%s): %s: %s\n", open, at.c_str(), e.message().c_str());
            return;
          }
          EXPECT_TRUE(e.status().is_ok()) << at << ": " << e.message();
          const Validation& val = e.validation();
          const double ratio = val.finite ? val.max_err / val.tolerance : 1e30;
          Worst& w = worst[c.op() + "/" + impl];
          if (ratio >= w.ratio) w = {ratio, at};
        });
  }
  for (const auto& [impl, w] : worst)
    std::printf("[validation shapes] %-22s max_err/tolerance %.3g (%s)\n", impl.c_str(), w.ratio, w.at.c_str());
}

// Each op's fp32 tolerance against the largest error correct arithmetic makes on the
// validation shapes (docs/ops.md, "Tolerances"): the host impls, and the other correct fp32
// arithmetic a device impl may run (linear, conv2d and conv1d: every summation order of
// tests/support/host_variants.hpp, conv2d FFT and Winograd where they apply; ssim: the plain
// separable fp32 SSIM). Every one must pass, and the tolerance may be at most 8x the largest.
// Fails when a tolerance is looser (knn's 2e-6 was 13x the grid's 1.5e-7).
TEST(ValidationShapes, EachToleranceIsAtMost8TimesTheLargestCorrectError) {
  std::map<std::string, Worst> worst;  // by op
  for (const auto& v : registry().validation_cases()) {
    const OpCase& c = *v.c;
    if (open_finding(c, v.shape)) continue;
    for (int64_t batch : c.batches(Profile::quick)) {
      auto prob = c.make_problem(batch, RunConfig{}.seed);
      auto judge = [&](const std::string& what) {
        const Validation val = c.validate(*prob, Precision::fp32);
        const std::string at = c.id() + " B=" + std::to_string(batch) + " " + what;
        EXPECT_TRUE(val.ok()) << at << ": max_err " << val.max_err << " tolerance " << val.tolerance;
        Worst& w = worst[c.op()];
        if (val.max_err / val.tolerance >= w.ratio) w = {val.max_err / val.tolerance, at};
      };
      // Open findings (docs/ops.md, "Tolerances"): arithmetic whose error the metric does not
      // bound on structured inputs. FFT and Winograd mix values outside an output's window into
      // it (a wide range then swamps the window's magnitude sum); the unshifted fp32 SSIM loses
      // eps * E[x^2] on flat windows, where the map's sensitivity is 1/C2. Printed, not judged.
      auto judge_fast = [&](const std::string& what) {
        if (v.shape.inputs == Inputs::random) return judge(what);
        const Validation val = c.validate(*prob, Precision::fp32);
        std::printf("[validation shapes] open (%s on structured inputs): %s B=%lld: max_err %.2e tolerance %.2e\n",
                    what.c_str(), c.id().c_str(), static_cast<long long>(batch), val.max_err, val.tolerance);
      };
      for (const std::string& impl : own_impl_names(c, Placement::host)) {
        make_cpu_instance(c, impl, *prob)->run();
        judge(impl);
      }
      if (auto* p = dynamic_cast<LinearProblem*>(prob.get()))
        for (emu::Order order : emu::all_orders()) {
          emu::linear(p->x.data(), p->w.data(), p->b.data(), p->shape, order, p->y.data());
          judge(emu::to_string(order));
        }
      if (auto* p = dynamic_cast<Conv2dProblem*>(prob.get())) {
        const auto& s = p->shape;
        for (emu::Order order : emu::all_orders()) {
          emu::conv2d_direct(p->x.data(), p->w.data(), p->b.data(), s, order, p->y.data());
          judge(emu::to_string(order));
        }
        if (s.stride == 1) {
          emu::conv2d_fft(p->x.data(), p->w.data(), p->b.data(), s, p->y.data());
          judge_fast("fft");
        }
        if (s.R == 3 && s.S == 3 && s.stride == 1)
          for (int m : {2, 4, 6}) {
            emu::conv2d_winograd(p->x.data(), p->w.data(), p->b.data(), s, m, p->y.data());
            judge_fast("winograd F(" + std::to_string(m) + "x" + std::to_string(m) + ",3x3)");
          }
      }
      if (auto* p = dynamic_cast<Conv1dProblem*>(prob.get()))
        for (emu::Order order : emu::all_orders()) {
          emu::conv1d_direct(p->x.data(), p->w.data(), p->b.data(), p->shape, order, p->y.data());
          judge(emu::to_string(order));
        }
      if (auto* p = dynamic_cast<SsimProblem*>(prob.get())) {
        p->mean[0] = static_cast<float>(emu::ssim_separable(p->x.data(), p->y.data(), p->shape, p->map.data()));
        judge_fast("separable fp32");
      }
    }
  }
  for (const auto& [op, w] : worst) {
    std::printf("[validation shapes] %-7s tolerance / largest correct error %.3g (%s)\n", op.c_str(), 1 / w.ratio,
                w.at.c_str());
    EXPECT_GE(w.ratio, 1.0 / 8) << op << ": the tolerance is more than 8x the largest correct error (" << w.at << ")";
  }
}

}  // namespace
}  // namespace mb
