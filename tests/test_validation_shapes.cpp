// Validation shapes (docs/ops.md, "Validation shapes"): every host impl of every op, on
// every one of its op's validation shapes and batches, through the real validation path
// (PreparedEntry: poisoned outputs, the first call validated against cpu_ref), at each of
// the thread counts the host impls' tests use, and our SIMD kernels on each SIMD target this
// CPU has (docs/ops.md, "SIMD targets"). The largest error each impl makes there, as a
// fraction of its tolerance, is printed per op: docs/ops.md's tolerance table quotes it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "cpu_ref/ssim.hpp"
#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "include/modebench/policy.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "ops/linear/linear.hpp"
#include "ops/ssim/ssim.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/simd_targets.hpp"
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

struct Worst {
  double ratio = 0.0;
  std::string at;
};

// The impls whose label names a SIMD target (isa=): our dispatched kernels, run on every target.
// An impl's label says so on the CPU's best target, the first at_each_simd_target forces.
TEST(ValidationShapes, EveryHostImplIsRightOnEveryValidationShapeAtEachThreadCountAndSimdTarget) {
  std::map<std::string, Worst> worst;  // by op/impl, and isa for the dispatched ones
  std::set<std::string> dispatched;    // op/impl
  bool best = true;
  at_each_simd_target([&](const std::string& isa) {
    for (const auto& v : registry().validation_cases()) {
      const OpCase& c = *v.c;
      for (const std::string& impl : own_impl_names(c, Placement::host)) {
        const std::string key = c.op() + "/" + impl;
        if (!best && !dispatched.contains(key)) continue;  // the same code on every target
        for (int64_t batch : c.batches(Profile::quick))
          at_each_thread_count([&](int threads) {
            const PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{.warmup_calls = 0});
            const std::string ran = label_value(e.label(), "isa");
            if (best && !ran.empty()) dispatched.insert(key);
            const std::string at = c.id() + " " + impl + " B=" + std::to_string(batch) +
                                   " threads=" + std::to_string(threads) + (ran.empty() ? "" : " isa=" + ran);
            if (!ran.empty()) {
              EXPECT_EQ(ran, isa) << at;
            }
            EXPECT_TRUE(e.status().is_ok()) << at << ": " << e.message();
            const Validation& val = e.validation();
            const double ratio = val.finite ? val.max_err / val.tolerance : 1e30;
            Worst& w = worst[ran.empty() ? key : key + " isa=" + ran];
            if (ratio >= w.ratio) w = {ratio, at};
          });
      }
    }
    best = false;
  });
  // ssim, knn and conv2d's depthwise kernel dispatch; a label that stopped saying so would leave
  // them to the best target alone.
  for (const char* k : {"ssim/fused", "knn/grid", "conv2d/depthwise"}) EXPECT_TRUE(dispatched.contains(k)) << k;
  for (const auto& [impl, w] : worst)
    std::printf("[validation shapes] %-22s max_err/tolerance %.3g (%s)\n", impl.c_str(), w.ratio, w.at.c_str());
}

const char* to_string(Inputs i) {
  switch (i) {
    case Inputs::random: return "random";
    case Inputs::structured: return "structured";
    case Inputs::flat: return "flat";
  }
  return "?";
}

// SSIM's conditioned error (docs/ops.md, "ssim"): the largest |map - ref| / (2^-24 *
// ref::ssim_conditioning()) over the problem's pixels, in units of fp32 rounding. ops/ssim's
// kConditionedUlps is set from the largest of these correct arithmetic reaches.
double ssim_error_in_conditioned_ulps(const SsimProblem& p) {
  const int64_t n = p.shape.plane_size();
  std::vector<double> ref_map(static_cast<size_t>(n)), cond(static_cast<size_t>(n));
  double worst = 0.0;
  for (int64_t pl = 0; pl < p.shape.planes(); ++pl) {
    ref::ssim_plane(p.x.data() + pl * n, p.y.data() + pl * n, p.shape.height, p.shape.width, ref_map.data(),
                    cond.data());
    for (int64_t i = 0; i < n; ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(p.map[static_cast<size_t>(pl * n + i)]) - ref_map[i]) /
                                  (0x1p-24 * cond[i]));
  }
  return worst;
}

// Each op's fp32 tolerance against the largest error correct arithmetic makes on the
// validation shapes (docs/ops.md, "Tolerances"): the host impls (our SIMD kernels on each SIMD
// target), and the other correct fp32 arithmetic a device impl may run (linear and conv2d:
// every summation order of tests/support/host_variants.hpp, conv2d FFT and Winograd where they
// apply; ssim: the plain separable fp32 SSIM and the 2-D window sums). Every one must pass, and
// the tolerance may be at most 8x the largest, per op and per input kind (random, structured,
// flat) where correct arithmetic errs at all, on every SIMD target (that target's kernels and the
// arithmetic that does not dispatch). Fails when a tolerance is looser (knn's 2e-6 was 13x the
// grid's 1.5e-7).
TEST(ValidationShapes, EachToleranceIsAtMost8TimesTheLargestCorrectErrorOnEverySimdTarget) {
  std::map<std::string, Worst> worst;       // by op, op/input kind and op/input kind/arithmetic (+ isa)
  std::map<std::string, double> ssim_ulps;  // by arithmetic/input kind
  std::set<std::string> isas;
  for (const auto& v : registry().validation_cases()) {
    const OpCase& c = *v.c;
    for (int64_t batch : c.batches(Profile::quick)) {
      auto prob = c.make_problem(batch, RunConfig{}.seed);
      auto judge = [&](const std::string& what, const std::string& isa = "") {
        const Validation val = c.validate(*prob, Precision::fp32);
        const std::string at = c.id() + " B=" + std::to_string(batch) + " " + what;
        EXPECT_TRUE(val.ok()) << at << ": max_err " << val.max_err << " tolerance " << val.tolerance;
        const std::string kind = c.op() + "/" + to_string(v.shape.inputs);
        const std::string tag = isa.empty() ? "" : " isa=" + isa;
        for (const std::string& key : {c.op() + tag, kind + tag, kind + "/" + what}) {
          Worst& w = worst[key];
          if (val.max_err / val.tolerance >= w.ratio) w = {val.max_err / val.tolerance, at};
        }
        if (auto* p = dynamic_cast<SsimProblem*>(prob.get())) {
          double& u = ssim_ulps[what + "/" + to_string(v.shape.inputs)];
          u = std::max(u, ssim_error_in_conditioned_ulps(*p));
        }
      };
      for (const std::string& impl : own_impl_names(c, Placement::host)) {
        auto inst = make_cpu_instance(c, impl, *prob);
        inst->run();
        if (label_value(inst->label(), "isa").empty()) {
          judge(impl);
          continue;
        }
        at_each_simd_target([&](const std::string& isa) {
          isas.insert(isa);
          auto each = make_cpu_instance(c, impl, *prob);
          each->run();
          ASSERT_EQ(label_value(each->label(), "isa"), isa);
          judge(impl + " isa=" + isa, isa);
        });
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
          judge("fft");
        }
        if (s.R == 3 && s.S == 3 && s.stride == 1)
          for (int m : {2, 4, 6}) {
            emu::conv2d_winograd(p->x.data(), p->w.data(), p->b.data(), s, m, p->y.data());
            judge("winograd F(" + std::to_string(m) + "x" + std::to_string(m) + ",3x3)");
          }
      }
      if (auto* p = dynamic_cast<SsimProblem*>(prob.get())) {
        p->mean[0] = static_cast<float>(emu::ssim_separable(p->x.data(), p->y.data(), p->shape, p->map.data()));
        judge("separable fp32");
        p->mean[0] = static_cast<float>(emu::ssim_window_2d(p->x.data(), p->y.data(), p->shape, p->map.data()));
        judge("2-D window fp32");
      }
    }
  }
  ASSERT_EQ(isas.size(), cpu::simd_targets().size());
  for (const auto& [what, u] : ssim_ulps)
    std::printf("[validation shapes] ssim %-28s largest error %.3g x 2^-24 x conditioning\n", what.c_str(), u);
  std::set<std::string> judged;  // op and op/input kind, without the target
  for (const auto& [key, w] : worst) {
    const std::string base = key.substr(0, key.find(" isa="));
    if (std::count(base.begin(), base.end(), '/') <= 1) {
      judged.insert(base);
    } else {
      std::printf("[validation shapes] %-34s tolerance / largest correct error %.3g (%s)\n", key.c_str(), 1 / w.ratio,
                  w.at.c_str());
    }
  }
  for (const std::string& base : judged) {
    for (const std::string& isa : isas) {
      Worst w;  // the arithmetic that does not dispatch, and this target's kernels
      for (const std::string& key : {base, base + " isa=" + isa})
        if (const auto it = worst.find(key); it != worst.end() && it->second.ratio >= w.ratio) w = it->second;
      std::printf("[validation shapes] %-18s isa=%-7s tolerance / largest correct error %.3g (%s)\n", base.c_str(),
                  isa.c_str(), 1 / w.ratio, w.at.c_str());
      // Per op, and per input kind where this metric's scale is set from them (docs/ops.md: the
      // structured and flat inputs' conditioning and transform scales); random alone: printed.
      const bool asserted =
          base.find('/') == std::string::npos || base.ends_with("/structured") || base.ends_with("/flat");
      if (asserted && w.ratio > 0) {
        EXPECT_GE(w.ratio, 1.0 / 8) << base << " isa=" << isa
                                    << ": the tolerance is more than 8x the largest correct error (" << w.at << ")";
      }
    }
  }
}

}  // namespace
}  // namespace mb
