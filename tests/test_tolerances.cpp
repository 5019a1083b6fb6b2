// Each case's tolerances against the errors of correct results (docs/ops.md, "Tolerances"):
// every correct fp32 computation we know of (other summation orders, Winograd, FFT, the
// plain separable SSIM, our own impls) passes the strict tolerance with room; TF32
// arithmetic fails it and passes the TF32 tolerance. All through the case's own
// validation on its own inputs. Each "[tolerance]" line is one measurement. By default
// at reduced sizes that keep each case's structure; MODEBENCH_MEASURE_ERRORS=1 runs the
// cases' own sizes and prints error quantiles (how the README table was measured).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "cpu_ref/linear.hpp"
#include "harness/runner.hpp"
#include "harness/validate.hpp"
#include "ops/knn/knn.hpp"
#include "ops/linear/linear.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

const uint64_t kSeed = RunConfig{}.seed;  // modebench run's default

// How far inside (< 1) or outside (> 1) its tolerance a result is, printed for the record.
double report(const std::string& what, const Validation& v) {
  const double ratio = v.max_err / v.tolerance;
  std::printf("[tolerance] %-58s max_err %.2e tolerance %.2e ratio %.3g (%s)\n", what.c_str(), v.max_err, v.tolerance,
              ratio, v.check.c_str());
  return v.finite ? ratio : 1e30;
}

// Quantiles of the per-output error (docs/ops.md's metric) of y against references ref_at(i).
template <class RefAt>
void print_quantiles(const std::string& what, const std::vector<float>& y, RefAt&& ref_at) {
  std::vector<double> e(y.size());
#pragma omp parallel for
  for (size_t i = 0; i < y.size(); ++i) {
    const RefValue r = ref_at(i);
    e[i] = std::fabs(static_cast<double>(y[i]) - r.value) / r.magnitude;
  }
  std::sort(e.begin(), e.end());
  auto q = [&](double f) { return e[static_cast<size_t>(f * static_cast<double>(e.size() - 1))]; };
  std::printf("[quantiles] %-58s p50 %.2e p99 %.2e p99.99 %.2e max %.2e over %zu\n", what.c_str(), q(0.5), q(0.99),
              q(0.9999), e.back(), e.size());
}

const std::vector<std::string>& linear_cases() {
  static const std::vector<std::string> ids = {"linear/square_1024", "linear/mobilenetv2_head", "linear/xtts_qkv",
                                               "linear/xtts_mlp_up", "linear/xtts_mlp_down"};
  return ids;
}

// Strict linear: the worst correct order 2.7e-7 against 2e-6 (7x); TF32 under strict
// math at least 1.6e-5 (8x over). TF32 math: truncating TF32 4x inside.
TEST(Tolerances, LinearAcceptsEveryFp32OrderRejectsTf32UnderStrictMath) {
  for (const std::string& id : linear_cases()) {
    const OpCase& c = registered_case(id);
    // One row: where TF32 is hardest to tell from fp32 (the fewest outputs to show it).
    for (int64_t batch : measuring_errors() ? std::vector<int64_t>{1, 8, 64} : std::vector<int64_t>{1}) {
      auto prob = c.make_problem(batch, kSeed);
      auto& p = static_cast<LinearProblem&>(*prob);
      const std::string at = id + " B=" + std::to_string(batch) + " ";
      for (emu::Order order : emu::all_orders()) {
        emu::linear(p.x.data(), p.w.data(), p.b.data(), p.shape, order, p.y.data());
        EXPECT_LE(report(at + emu::to_string(order), c.validate(p, Precision::fp32)), 1.0 / 5) << at;
        if (measuring_errors() && batch == 64)
          print_quantiles(at + emu::to_string(order), p.y, [&](size_t i) {
            return ref::linear_at(p.x.data(), p.w.data(), p.b.data(), p.shape, static_cast<int64_t>(i) / p.shape.out,
                                  static_cast<int64_t>(i) % p.shape.out);
          });
      }
      for (emu::Tf32 mode : {emu::Tf32::round_nearest, emu::Tf32::truncate}) {
        const std::string name = at + (mode == emu::Tf32::truncate ? "tf32 truncated" : "tf32 rounded");
        const std::vector<float> xt = emu::to_tf32(p.x, mode), wt = emu::to_tf32(p.w, mode);
        emu::linear(xt.data(), wt.data(), p.b.data(), p.shape, emu::Order::lanes8, p.y.data());
        EXPECT_GE(report(name + " as fp32", c.validate(p, Precision::fp32)), 5.0) << name;
        EXPECT_LE(report(name + " as tf32", c.validate(p, Precision::tf32)), 1.0 / 3.5) << name;
      }
    }
  }
}

// Strict conv2d: 2e-6, or 4e-4/sqrt(terms) where Winograd may run (3x3, stride 1). Every
// summation order and FFT at least 5x inside, Winograd F(4x4,3x3) 4x and F(6x6,3x3) 3x.
// TF32 math: truncating TF32 2.5x inside; under strict math it fails, by 3x where Winograd
// may run and 20x elsewhere.
TEST(Tolerances, Conv2dAcceptsWinogradAndFftUnderStrictMath) {
  for (const char* id : {"conv2d/resnet_3x3", "conv2d/mbv2_depthwise", "conv2d/mbv2_pointwise", "conv2d/mbv2_stem"}) {
    const OpCase& c = registered_case(id);
    auto whole = c.make_problem(measuring_errors() ? 8 : 1, kSeed);
    const auto& ws = static_cast<Conv2dProblem&>(*whole).shape;
    // Reduced: a quarter of the image side (stride 2 keeps its odd/even edges), one image.
    const std::vector<Conv2dProblem> problems = [&] {
      std::vector<Conv2dProblem> v;
      if (!measuring_errors()) v.push_back(cropped(static_cast<Conv2dProblem&>(*whole), 1, ws.H / 4, ws.W / 4));
      if (measuring_errors())
        for (int64_t n : {1, 8}) v.push_back(cropped(static_cast<Conv2dProblem&>(*whole), n, ws.H, ws.W));
      return v;
    }();
    for (Conv2dProblem p : problems) {
      const auto& s = p.shape;
      const std::string at =
          std::string(id) + " N=" + std::to_string(s.N) + " " + std::to_string(s.H) + "x" + std::to_string(s.W) + " ";
      auto strict = [&](const std::string& what) { return report(at + what, c.validate(p, Precision::fp32)); };
      for (emu::Order order : emu::all_orders()) {
        emu::conv2d_direct(p.x.data(), p.w.data(), p.b.data(), s, order, p.y.data());
        EXPECT_LE(strict(emu::to_string(order)), 1.0 / 5) << at;
      }
      if (s.stride == 1) {
        emu::conv2d_fft(p.x.data(), p.w.data(), p.b.data(), s, p.y.data());
        EXPECT_LE(strict("fft"), 1.0 / 5) << at;
      }
      const bool winograd = s.R == 3 && s.S == 3 && s.stride == 1;
      if (winograd)
        for (auto [m, room] : {std::pair{2, 5.0}, {4, 4.0}, {6, 3.0}}) {
          emu::conv2d_winograd(p.x.data(), p.w.data(), p.b.data(), s, m, p.y.data());
          EXPECT_LE(strict("winograd F(" + std::to_string(m) + "x" + std::to_string(m) + ",3x3)"), 1.0 / room) << at;
          if (measuring_errors() && m == 6)
            print_quantiles(at + "winograd F(6x6,3x3)", p.y, [&](size_t i) {
              const int64_t P = s.P(), Q = s.Q(), k = static_cast<int64_t>(i);
              return ref::conv2d_at(p.x.data(), p.w.data(), p.b.data(), s, k / (P * Q * s.K), k / (P * Q) % s.K,
                                    k / Q % P, k % Q);
            });
        }
      for (emu::Tf32 mode : {emu::Tf32::round_nearest, emu::Tf32::truncate}) {
        const std::string name = mode == emu::Tf32::truncate ? "tf32 truncated" : "tf32 rounded";
        const std::vector<float> xt = emu::to_tf32(p.x, mode), wt = emu::to_tf32(p.w, mode);
        emu::conv2d_direct(xt.data(), wt.data(), p.b.data(), s, emu::Order::lanes8, p.y.data());
        EXPECT_GE(strict(name + " as fp32"), winograd ? 3.0 : 20.0) << at << name;
        EXPECT_LE(report(at + name + " as tf32", c.validate(p, Precision::tf32)), 1.0 / 2.5) << at << name;
      }
    }
  }
}

// Map 2e-5: the host kernel stays below 1.1e-6 and the plain separable fp32 SSIM (no
// shift against cancellation) below 3.6e-6 (5.6x). Mean 2e-7 (in map units x100): storing
// the mean in fp32 alone rounds by up to 3e-8 (6.7x), summing adds less than 1.5e-8.
TEST(Tolerances, SsimAcceptsTheHostKernelAndThePlainSeparableSsim) {
  for (const char* id : {"ssim/nerf_800", "ssim/mip_1600", "ssim/hd_1080p"}) {
    const OpCase& c = registered_case(id);
    auto whole = c.make_problem(1, kSeed);
    auto& full = static_cast<SsimProblem&>(*whole);
    // Reduced: 3 column tiles of the host kernel, rows enough for an interior.
    SsimProblem p = measuring_errors() ? full : cropped(full, 1, 96, 600);
    const std::string at = std::string(id) + " " + std::to_string(p.shape.height) + "x" + std::to_string(p.shape.width);
    make_cpu_instance(c, "fused", p)->run();
    EXPECT_LE(report(at + " fused (host)", c.validate(p, Precision::fp32)), 1.0 / 5);
    p.mean[0] = static_cast<float>(emu::ssim_separable(p.x.data(), p.y.data(), p.shape, p.map.data()));
    EXPECT_LE(report(at + " separable fp32", c.validate(p, Precision::fp32)), 1.0 / 5);
  }
}

// 1e-6 per point: rounding of squared distances and their mean stays below 2e-7 (5x) in
// the host grid; the chunked variant streaming under the reduced run's budget is measured
// in test_knn_stream.cpp (KnnStream.ReducedRunStreamsThroughChunksAndTilePasses).
TEST(Tolerances, KnnAcceptsTheGrid) {
  for (const char* id : {"knn/uniform", "knn/clustered"}) {
    const OpCase& c = registered_case(id);
    for (int64_t n : measuring_errors() ? std::vector<int64_t>{10'000, 100'000} : std::vector<int64_t>{10'000}) {
      auto prob = c.make_problem(n, kSeed);
      make_cpu_instance(c, "grid", *prob)->run();
      EXPECT_LE(report(std::string(id) + " N=" + std::to_string(n) + " grid", c.validate(*prob, Precision::fp32)),
                1.0 / 4);
    }
  }
}

}  // namespace
}  // namespace mb
