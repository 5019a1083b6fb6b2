// Planted bugs: deliberately wrong host variants of a correct impl of each op, run as
// impls of a registered case through the runner (poisoned outputs, validation, the
// reduced-size check of a sampled one), each of which must come out `wrong`; next to
// them the correct impls, which must pass with room. Each "[planted]" line is a row of
// the table in docs/ops.md, "Tolerances". Sizes keep each case's structure (channels, groups,
// kernel, stride, column tiles, chunks); MODEBENCH_MEASURE_ERRORS=1 runs the cases' own
// quick-profile sizes instead.
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/gbench.hpp"
#include "harness/runner.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/conv1d.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/linear.hpp"
#include "kernels/cpu/ssim.hpp"
#include "ops/knn/knn.hpp"
#include "ops/knn/stream.hpp"
#include "ops/linear/linear.hpp"
#include "tests/planted/wrong_taps.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/knn_stream_host.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

const uint64_t kSeed = RunConfig{}.seed;  // modebench run's default

// One call of `run_fn` on the problem, reporting `precision`.
class PlantedInstance : public Instance {
 public:
  PlantedInstance(std::function<void()> run_fn, Precision precision) : run_(std::move(run_fn)), precision_(precision) {}
  void run() override { run_(); }
  Precision precision() const override { return precision_; }

 private:
  std::function<void()> run_;
  Precision precision_;
};

// A registered case whose impl table holds planted host impls instead of its own; its
// problems, validation, tolerances and reduced runs are the registered case's.
class PlantedCase : public OpCase {
 public:
  using Make = std::function<std::unique_ptr<Instance>(Problem&)>;
  explicit PlantedCase(const OpCase& real) : real_(real) {}
  std::string op() const override { return real_.op(); }
  std::string name() const override { return real_.name(); }
  std::vector<int64_t> batches(Profile p) const override { return real_.batches(p); }
  double flops(int64_t b) const override { return real_.flops(b); }
  double bytes(int64_t b) const override { return real_.bytes(b); }
  // Made once per batch and seed, then copied: every impl of a row gets the same inputs.
  std::unique_ptr<Problem> make_problem(int64_t b, uint64_t seed) const final {
    std::unique_ptr<Problem>& made = made_[{b, seed}];
    if (!made) made = make(b, seed);
    return made->clone();
  }
  Validation validate(Problem& p, Precision precision) const override { return real_.validate(p, precision); }
  double tolerance(Precision precision) const override { return real_.tolerance(precision); }
  std::optional<ReducedRun> reduced_run(int64_t b, uint64_t seed) const override { return real_.reduced_run(b, seed); }

  // A planted bug, which validation must reject from batch `wrong_from` (a bug that hits
  // one input value can hide below the tolerance while a batch has only one row of them).
  void plant(const std::string& impl, Make make, int64_t wrong_from = 1) {
    add(impl, std::move(make));
    wrong_from_[impl] = wrong_from;
  }
  // A correct impl, which validation must pass.
  void plant_correct(const std::string& impl, Make make) { add(impl, std::move(make)); }
  // A correct impl of the registered case itself.
  void keep(const std::string& impl) {
    plant_correct(impl, [this, impl](Problem& p) { return make_cpu_instance(real_, impl, p); });
  }
  bool planted(const std::string& impl) const { return wrong_from_.contains(impl); }
  int64_t wrong_from(const std::string& impl) const { return wrong_from_.at(impl); }

 protected:
  virtual std::unique_ptr<Problem> make(int64_t b, uint64_t seed) const { return real_.make_problem(b, seed); }

 private:
  void add(const std::string& impl, Make make) {
    Impl i;
    i.name = impl;
    i.make = [make = std::move(make)](Problem& p, Device*, RowRange) { return make(p); };
    add_impl(std::move(i));
  }
  const OpCase& real_;
  std::map<std::string, int64_t> wrong_from_;
  mutable std::map<std::pair<int64_t, uint64_t>, std::unique_ptr<Problem>> made_;
};

// The registered case with its problems cut down by `crop`.
class CroppedCase : public PlantedCase {
 public:
  using Crop = std::function<std::unique_ptr<Problem>(Problem& whole)>;
  CroppedCase(const OpCase& real, Crop crop) : PlantedCase(real), crop_(std::move(crop)) {}

 protected:
  std::unique_ptr<Problem> make(int64_t b, uint64_t seed) const override { return crop_(*PlantedCase::make(b, seed)); }

 private:
  Crop crop_;
};

// The case as registered when measuring, else cut down by `crop`.
std::unique_ptr<PlantedCase> planted_case(const OpCase& real, CroppedCase::Crop crop) {
  if (measuring_errors()) return std::make_unique<PlantedCase>(real);
  return std::make_unique<CroppedCase>(real, std::move(crop));
}

struct Margins {
  double correct = 1e30;  // smallest tolerance / max_err of a correct impl
  double planted = 1e30;  // smallest max_err / tolerance of a planted bug
  std::string correct_at, planted_at;
};

// Every impl of `c` at `batch` through the runner: planted ones must be wrong, the others ok.
void run_table(const PlantedCase& c, int64_t batch, Margins& m, const std::string& size = "") {
  for (const std::string& impl : c.impl_names(Placement::host)) {
    const PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{.seed = kSeed, .warmup_calls = 0});
    const Validation& v = e.validation();
    const double ratio = v.finite ? v.max_err / v.tolerance : 1e30;
    const std::string at = c.id() + " " + (size.empty() ? "B=" + std::to_string(batch) : size) + " " + impl;
    std::printf("[planted] %-62s %-5s max_err %.2e tolerance %.2e ratio %.3g (check=%s)\n", at.c_str(),
                std::string(to_string(e.status().kind())).c_str(), v.max_err, v.tolerance, ratio, v.check.c_str());
    if (c.planted(impl)) {
      if (batch < c.wrong_from(impl)) {
        std::printf("[planted]   (not asserted below batch %lld)\n", static_cast<long long>(c.wrong_from(impl)));
        continue;
      }
      EXPECT_EQ(e.status(), StatusKind::wrong) << at << ": " << e.message();
      if (ratio < m.planted) m.planted = ratio, m.planted_at = at;
    } else {
      EXPECT_TRUE(e.status().is_ok()) << at << ": " << e.message();
      if (1 / ratio < m.correct) m.correct = 1 / ratio, m.correct_at = at;
    }
  }
}

void print_margins(const std::string& op, const Margins& m) {
  std::printf("[planted] %s: correct impls at least %.3gx inside (%s); planted bugs at least %.3gx outside (%s)\n",
              op.c_str(), m.correct, m.correct_at.c_str(), m.planted, m.planted_at.c_str());
}

// ---------------------------------------------------------------- linear

// OpenBLAS on inputs changed the way each bug changes them.
struct LinearBug {
  bool tf32 = false;             // inputs truncated to TF32, and the impl says so
  bool tf32_as_fp32 = false;     // inputs rounded to TF32 under strict math
  bool no_bias = false;          // bias missing
  bool drop_first_term = false;  // the reduction starts one term late
  bool drop_last_term = false;   // the reduction stops one term short
  bool transposed = false;       // W read as [in, out]
};

std::unique_ptr<Instance> linear_variant(Problem& prob, LinearBug bug) {
  auto& p = static_cast<LinearProblem&>(prob);
  const Precision precision = bug.tf32 ? Precision::tf32 : Precision::fp32;
  return std::make_unique<PlantedInstance>(
      [&p, bug] {
        const auto& s = p.shape;
        std::vector<float> x = p.x, w = p.w, b = p.b;
        if (bug.tf32 || bug.tf32_as_fp32) {
          const emu::Tf32 mode = bug.tf32 ? emu::Tf32::truncate : emu::Tf32::round_nearest;
          x = emu::to_tf32(x, mode);
          w = emu::to_tf32(w, mode);
        }
        if (bug.no_bias) std::fill(b.begin(), b.end(), 0.0f);
        for (int64_t i = 0; i < s.batch; ++i) {
          if (bug.drop_first_term) x[static_cast<size_t>(i * s.in)] = 0.0f;
          if (bug.drop_last_term) x[static_cast<size_t>(i * s.in + s.in - 1)] = 0.0f;
        }
        if (bug.transposed)
          for (int64_t o = 0; o < s.out; ++o)
            for (int64_t k = 0; k < s.in; ++k)
              w[static_cast<size_t>(o * s.in + k)] = p.w[static_cast<size_t>(k * s.in + o)];
        cpu::linear_openblas(x.data(), w.data(), b.data(), p.y.data(), s.batch, s.in, s.out);
      },
      precision);
}

TEST(PlantedBugs, Linear) {
  Margins m;
  for (const char* id : {"linear/square_1024", "linear/mobilenetv2_head", "linear/xtts_qkv", "linear/xtts_mlp_up",
                         "linear/xtts_mlp_down"}) {
    const OpCase& real = registered_case(id);
    PlantedCase c(real);
    c.keep("openblas");
    c.keep("onednn");
    c.plant_correct("tf32", [](Problem& p) { return linear_variant(p, {.tf32 = true}); });
    auto plant = [&](const std::string& name, LinearBug bug, int64_t wrong_from = 1) {
      c.plant(
          name, [bug](Problem& p) { return linear_variant(p, bug); }, wrong_from);
    };
    plant("bug:bias_missing", {.no_bias = true});
    plant("bug:bias_missing_tf32", {.tf32 = true, .no_bias = true});
    plant("bug:first_term_dropped", {.drop_first_term = true});
    plant("bug:first_term_dropped_tf32", {.tf32 = true, .drop_first_term = true});
    plant("bug:last_term_dropped", {.drop_last_term = true});
    // One term's error is |x w| against sum |x w|: with one row, a small x hides it in
    // TF32's rounding (in = 1024 at seed 42: x[0][1023] = -0.025, 1e-4 against TF32's own
    // 1.1e-4 on that row); 8 rows make it 8x the tolerance.
    plant("bug:last_term_dropped_tf32", {.tf32 = true, .drop_last_term = true}, 8);
    plant("bug:tf32_under_strict_math", {.tf32_as_fp32 = true});
    if (std::string(id) == "linear/square_1024") plant("bug:weight_transposed", {.transposed = true});
    for (int64_t b : measuring_errors() ? real.batches(Profile::quick) : std::vector<int64_t>{1, 8}) run_table(c, b, m);
  }
  print_margins("linear", m);
}

// linear_openblas (bias broadcast into Y, then sgemm with beta = 1) with the broadcast done
// on the first call only, as if Y kept it: every later call adds X W^T onto the last result.
std::unique_ptr<Instance> bias_written_on_first_call_only(Problem& prob) {
  auto& p = static_cast<LinearProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p, first = true]() mutable {
        const auto& s = p.shape;
        if (first)
          for (int64_t i = 0; i < s.batch; ++i) std::copy(p.b.begin(), p.b.end(), p.y.begin() + i * s.out);
        first = false;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(s.batch), static_cast<blasint>(s.out),
                    static_cast<blasint>(s.in), 1.0f, p.x.data(), static_cast<blasint>(s.in), p.w.data(),
                    static_cast<blasint>(s.in), 1.0f, p.y.data(), static_cast<blasint>(s.out));
      },
      Precision::fp32);
}

// Right on its first call (validated before timing) and wrong on every later one: the
// timed loop's last call is checked again, so the entry ends `wrong` through Google
// Benchmark's loop (run_benchmarks), while the correct impls stay ok.
TEST(PlantedBugs, LinearBiasWrittenOnFirstCallOnlyIsWrongAfterTheTimedLoop) {
  PlantedCase c(registered_case("linear/mobilenetv2_head"));
  c.keep("openblas");
  c.keep("onednn");
  c.plant("bug:bias_written_on_first_call_only", bias_written_on_first_call_only);
  const PreparedEntry first_call_only(Entry{&c, Mode::cpu, "bug:bias_written_on_first_call_only", 8},
                                      RunConfig{.seed = kSeed});
  EXPECT_TRUE(first_call_only.status().is_ok()) << "its first call is right: " << first_call_only.message();

  std::vector<Entry> entries;
  for (const std::string& impl : c.impl_names(Placement::host))
    for (int64_t batch : {1, 8}) entries.push_back(Entry{&c, Mode::cpu, impl, batch});
  const std::string out = testing::TempDir() + "planted_last_call.json";
  const RunSummary s =
      run_benchmarks(entries, RunConfig{.seed = kSeed}, {{"profile", "test"}}, out, {"--benchmark_min_time=0.001"});
  EXPECT_EQ(s.count(StatusKind::ok), 4) << s.describe();
  EXPECT_EQ(s.count(StatusKind::wrong), 2) << s.describe();
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  std::remove(out.c_str());
  for (const auto& b : j["benchmarks"]) {
    const std::string name = b["name"], message = b.value("error_message", "");
    std::printf("[planted] %-70s %s\n", name.c_str(), message.empty() ? "ok" : message.c_str());
    if (name.find("impl:bug:") != std::string::npos) {
      EXPECT_TRUE(message.starts_with("wrong: max_err=")) << name << ": " << message;
      EXPECT_NE(message.find("the last timed call"), std::string::npos) << message;
    } else {
      EXPECT_TRUE(message.empty()) << name << ": " << message;
    }
  }
}

// ---------------------------------------------------------------- conv2d

// Recomputes, with that bug, the outputs of the last channel whose window reads left padding.
void replicate_left_padding_in_last_channel(Conv2dProblem& p) {
  const auto& s = p.shape;
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t pp = 0; pp < P; ++pp)
      for (int64_t q = 0; q * s.stride < s.pad; ++q)
        p.y[static_cast<size_t>(((n * s.K + s.K - 1) * P + pp) * Q + q)] =
            emu::conv2d_output(p.x.data(), p.w.data(), p.b.data(), s, n, s.K - 1, pp, q, emu::Order::lanes8,
                               emu::ConvFault::left_padding_replicated_in_last_channel);
}

// im2col (the plain host impl) with the weights or bias a bug changes; the outputs a bug
// changes otherwise recomputed by the emulated direct convolution with that bug.
std::unique_ptr<Instance> conv2d_variant(Problem& prob, emu::ConvFault fault) {
  auto& p = static_cast<Conv2dProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p, fault] {
        const auto& s = p.shape;
        const int64_t plane = s.R * s.S;
        std::vector<float> w = p.w, b = p.b;
        if (fault == emu::ConvFault::kernel_flipped)
          for (int64_t f = 0; f < s.K * s.Cg(); ++f) std::reverse(w.begin() + f * plane, w.begin() + (f + 1) * plane);
        if (fault == emu::ConvFault::bias_missing_in_last_group) std::fill(b.end() - s.Kg(), b.end(), 0.0f);
        cpu::Im2colConv2d(kernel_shape(s)).run(p.x.data(), w.data(), b.data(), p.y.data());
        if (fault == emu::ConvFault::left_padding_replicated_in_last_channel) replicate_left_padding_in_last_channel(p);
        if (fault == emu::ConvFault::column_stride_off_by_one)
          emu::conv2d_direct(p.x.data(), p.w.data(), p.b.data(), s, emu::Order::lanes8, p.y.data(), fault);
      },
      Precision::fp32);
}

TEST(PlantedBugs, Conv2d) {
  Margins m;
  for (const char* id : {"conv2d/resnet_3x3", "conv2d/mbv2_depthwise", "conv2d/mbv2_pointwise", "conv2d/mbv2_stem"}) {
    const OpCase& real = registered_case(id);
    // Quarter-side images (stem: 56x56 -> 28x28 outputs, its odd/even stride edges kept).
    auto crop = [](Problem& whole) {
      const auto& p = static_cast<Conv2dProblem&>(whole);
      return std::make_unique<Conv2dProblem>(cropped(p, p.shape.N, p.shape.H / 4, p.shape.W / 4));
    };
    std::unique_ptr<PlantedCase> c = planted_case(real, crop);
    for (const std::string& impl : own_impl_names(real, Placement::host)) c->keep(impl);
    auto plant = [&](const std::string& name, emu::ConvFault fault) {
      c->plant(name, [fault](Problem& p) { return conv2d_variant(p, fault); });
    };
    auto probe = real.make_problem(1, kSeed);
    const auto& s = static_cast<Conv2dProblem&>(*probe).shape;
    if (s.pad > 0)
      plant("bug:left_padding_replicated_in_one_channel", emu::ConvFault::left_padding_replicated_in_last_channel);
    if (s.R > 1 || s.S > 1) plant("bug:kernel_flipped", emu::ConvFault::kernel_flipped);  // 1x1: a flip is no change
    plant("bug:column_stride_off_by_one", emu::ConvFault::column_stride_off_by_one);
    plant("bug:bias_missing_in_one_group", emu::ConvFault::bias_missing_in_last_group);
    auto tables = [&](const PlantedCase& table, const std::string& isa) {
      for (int64_t b : measuring_errors() ? real.batches(Profile::quick) : std::vector<int64_t>{1, 8})
        run_table(table, b, m,
                  (measuring_errors() ? "" : "quarter-side ") + std::string("N=") + std::to_string(b) + isa);
    };
    // The depthwise kernel dispatches (docs/ops.md, "SIMD targets"): the whole table on the best
    // target, the kernel alone on the others (nothing else in the table dispatches).
    const std::vector<std::string> impls = c->impl_names(Placement::host);
    if (std::find(impls.begin(), impls.end(), "depthwise") == impls.end()) {
      tables(*c, "");
      continue;
    }
    std::unique_ptr<PlantedCase> ours = planted_case(real, crop);
    ours->keep("depthwise");
    bool best = true;
    at_each_simd_target([&](const std::string& isa) {
      tables(best ? *c : *ours, " isa=" + isa);
      best = false;
    });
  }
  print_margins("conv2d", m);
}

// A registered case at its own size and batch: right first, then with its last channel's left
// padding replicated, which the sampled check alone (check=sampled) must find.
void replicate_left_padding_in_last_channel(Conv1dProblem& p);  // with conv1d's bugs, below
template <class P>
void expect_sample_alone_catches_one_channels_padding_bug(const char* id, int64_t batch) {
  const OpCase& c = registered_case(id);
  auto prob = c.make_problem(batch, kSeed);
  make_cpu_instance(c, c.best_host_impl(batch).name, *prob)->run();
  ASSERT_TRUE(c.validate(*prob, Precision::fp32).ok()) << id;
  replicate_left_padding_in_last_channel(static_cast<P&>(*prob));
  const Validation v = c.validate(*prob, Precision::fp32);
  std::printf("[planted] %-62s sample alone: max_err %.2e tolerance %.2e ratio %.3g (check=%s)\n",
              (std::string(id) + " B=" + std::to_string(batch) + " bug:left_padding_replicated_in_one_channel").c_str(),
              v.max_err, v.tolerance, v.max_err / v.tolerance, v.check.c_str());
  EXPECT_TRUE(v.check.starts_with("sampled:")) << id << " " << v.check;
  EXPECT_FALSE(v.ok()) << id;
}

// At the cases' own size, from the first sampled batch on: the sample alone (every output
// channel's edges in the first and last image) catches a padding bug confined to one
// channel's edge.
TEST(PlantedBugs, Conv2dSampleCoversEveryChannelsEdges) {
  for (auto [id, batch] :
       {std::pair{"conv2d/resnet_3x3", 8}, {"conv2d/mbv2_depthwise", 64}, {"conv2d/mbv2_stem", 32}}) {
    expect_sample_alone_catches_one_channels_padding_bug<Conv2dProblem>(id, batch);
  }
}

// ---------------------------------------------------------------- ad-hoc shapes (--shape)

// A case of `modebench run --shape` (Registry::adhoc_case) is validated like a named one, against
// cpu_ref at the shape it was given: a planted bug on it is `wrong`, its own impls pass.
TEST(PlantedBugs, AdhocShapesAreValidatedLikeNamedCases) {
  Margins m;
  const OpCase& lin = registry().adhoc_case("linear:in_features=301,out_features=77");
  PlantedCase l(lin);
  for (const std::string& impl : own_impl_names(lin, Placement::host)) l.keep(impl);
  l.plant("bug:no_bias", [](Problem& p) { return linear_variant(p, {.no_bias = true}); });
  l.plant("bug:drop_last_term", [](Problem& p) { return linear_variant(p, {.drop_last_term = true}); });
  for (int64_t b : {1, 5}) run_table(l, b, m);
  print_margins("linear --shape", m);

  Margins mc;
  const OpCase& conv = registry().adhoc_case(
      "conv2d:in_channels=6,out_channels=4,height=11,width=9,kernel_size=3,stride=2,padding=1,groups=2");
  PlantedCase c(conv);
  for (const std::string& impl : own_impl_names(conv, Placement::host)) c.keep(impl);
  c.plant("bug:kernel_flipped", [](Problem& p) { return conv2d_variant(p, emu::ConvFault::kernel_flipped); });
  c.plant("bug:bias_missing_in_one_group",
          [](Problem& p) { return conv2d_variant(p, emu::ConvFault::bias_missing_in_last_group); });
  for (int64_t b : {1, 3}) run_table(c, b, mc);
  print_margins("conv2d --shape", mc);
}

// ---------------------------------------------------------------- ssim

// The plain five-blur fp32 SSIM (tests/support/host_variants.hpp), with `fault` planted.
PlantedCase::Make separable(emu::SsimFault fault) {
  return [fault](Problem& prob) -> std::unique_ptr<Instance> {
    auto& p = static_cast<SsimProblem&>(prob);
    return std::make_unique<PlantedInstance>(
        [&p, fault] {
          p.mean[0] = static_cast<float>(emu::ssim_separable(p.x.data(), p.y.data(), p.shape, p.map.data(), fault));
        },
        Precision::fp32);
  };
}

TEST(PlantedBugs, Ssim) {
  Margins m;
  for (const char* id : {"ssim/nerf_800", "ssim/mip_1600", "ssim/hd_1080p"}) {
    const OpCase& real = registered_case(id);
    // Two column tiles of the host kernel and rows enough for an interior, every image kept.
    auto crop = [](Problem& whole) {
      auto& p = static_cast<SsimProblem&>(whole);
      return std::make_unique<SsimProblem>(cropped(p, p.shape.batch, 120, 400));
    };
    std::unique_ptr<PlantedCase> c = planted_case(real, crop);
    c->keep("fused");
    // The other SIMD targets run our kernel only: the planted bugs below do not dispatch.
    std::unique_ptr<PlantedCase> ours = planted_case(real, crop);
    ours->keep("fused");
    c->plant_correct("separable", separable(emu::SsimFault::none));
    c->plant("bug:outer_taps_missing_in_one_pass", separable(emu::SsimFault::outer_taps_missing_in_horizontal_pass));
    c->plant("bug:replicate_padding_on_left_edge", separable(emu::SsimFault::replicate_padding_on_left_edge));
    c->plant("bug:constants_for_range_255", separable(emu::SsimFault::constants_for_range_255));
    c->plant("bug:mean_over_one_channel", separable(emu::SsimFault::mean_over_first_channel));
    c->plant("bug:moments_not_centred", separable(emu::SsimFault::moments_not_centred));
    bool best = true;
    at_each_simd_target([&](const std::string& isa) {
      for (int64_t b : real.batches(Profile::quick))
        run_table(best ? *c : *ours, b, m,
                  (measuring_errors() ? "" : "120x400 ") + std::string("B=") + std::to_string(b) + " isa=" + isa);
      best = false;
    });
  }
  print_margins("ssim", m);
}

// A wrong constant shared by kernel and reference: kernels/common/gaussian.hpp holding
// sigma 1.6's taps, the host kernel and the reference both built against it
// (tests/planted/wrong_taps.hpp). The reference computes its own taps, so validation (the
// registered case, at every quick batch) rejects that kernel, and the reference of that
// build agrees with ours. Before cpu_ref stopped reading the kernels' taps, the wrong
// build's reference matched its kernel (both at sigma 1.6) and the bug passed.
TEST(PlantedBugs, SsimTapsWrongInTheKernelsHeaderAreCaught) {
  Margins m;
  const OpCase& real = registered_case("ssim/nerf_800");
  std::unique_ptr<PlantedCase> c = planted_case(real, [](Problem& whole) {
    auto& p = static_cast<SsimProblem&>(whole);
    return std::make_unique<SsimProblem>(cropped(p, p.shape.batch, 120, 400));
  });
  c->keep("fused");
  c->plant("bug:sigma_1.6_taps_in_kernels_common", [](Problem& prob) -> std::unique_ptr<Instance> {
    auto& p = static_cast<SsimProblem&>(prob);
    return std::make_unique<PlantedInstance>(
        [&p] {
          p.mean[0] = static_cast<float>(wrong_taps::ssim_kernel(p.x.data(), p.y.data(), p.shape.planes(),
                                                                 p.shape.height, p.shape.width, p.map.data()));
        },
        Precision::fp32);
  });
  at_each_simd_target([&](const std::string& isa) {
    for (int64_t b : real.batches(Profile::quick))
      run_table(*c, b, m,
                (measuring_errors() ? "" : "120x400 ") + std::string("B=") + std::to_string(b) + " isa=" + isa);
  });
  print_margins("ssim (wrong shared taps)", m);

  auto prob = c->make_problem(1, kSeed);
  auto& p = static_cast<SsimProblem&>(*prob);
  const auto planes = p.shape.planes(), h = p.shape.height, w = p.shape.width;
  std::vector<float> kernel_map(p.map.size());
  std::vector<double> wrong_build_ref(p.map.size()), ref_map(p.map.size());
  wrong_taps::ssim_kernel(p.x.data(), p.y.data(), planes, h, w, kernel_map.data());
  wrong_taps::ssim_reference(p.x.data(), p.y.data(), planes, h, w, wrong_build_ref.data());
  ref::ssim(p.x.data(), p.y.data(), p.shape, ref_map.data());
  double kernel_err = 0, ref_diff = 0;
  for (size_t i = 0; i < ref_map.size(); ++i) {
    kernel_err = std::max(kernel_err, std::fabs(kernel_map[i] - wrong_build_ref[i]));
    ref_diff = std::max(ref_diff, std::fabs(wrong_build_ref[i] - ref_map[i]));
  }
  std::printf(
      "[planted] wrong taps' kernel against wrong taps' reference: max |map - ref| %.2e (tolerance %.2e); "
      "wrong taps' reference against ours: %.2e\n",
      kernel_err, real.tolerance(Precision::fp32), ref_diff);
  EXPECT_GT(kernel_err, real.tolerance(Precision::fp32)) << "the reference took the kernels' taps";
  // Equal up to rounding: that build is compiled for this CPU (FMA contraction), ours is not.
  EXPECT_LT(ref_diff, 1e-12) << "the reference depends on kernels/common/gaussian.hpp";
}

// ---------------------------------------------------------------- knn

// A point type whose distance drops zeros: the same search steps then exclude every
// duplicate by value, where they must exclude only the query itself, by index.
struct ByValuePoint {
  float x, y, z, w;
};
float knn_dist2(const ByValuePoint& a, const ByValuePoint& b) {
  const float dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z, d = dx * dx + dy * dy + dz * dz;
  return d == 0.0f ? INFINITY : d;
}
std::vector<ByValuePoint> by_value(const KnnPoint* p, int64_t count) {
  std::vector<ByValuePoint> out(static_cast<size_t>(count));
  std::transform(p, p + count, out.begin(), [](const KnnPoint& q) { return ByValuePoint{q.x, q.y, q.z, q.w}; });
  return out;
}

enum class KnnBug { none, self_counted, duplicates_excluded_by_value, box_after_second_chunk_skipped };

class PlantedKnnKernels : public HostKnnStreamKernels {
 public:
  PlantedKnnKernels(TestDevice& dev, KnnBug bug) : HostKnnStreamKernels(dev), bug_(bug) {}
  void init(const KnnChunkView<KnnPoint>& c) override {
    ++chunk_;
    if (bug_ != KnnBug::duplicates_excluded_by_value) {
      HostKnnStreamKernels::init(c);
      if (bug_ == KnnBug::self_counted)  // the query's own distance, 0, taken as a neighbour
        for (int64_t i = c.q_begin; i < c.q_end; ++i) c.state[i - c.q_begin].insert(0.0f);
      return;
    }
    dev_.synchronize();
    const Bounds b = bounds(c);
    const auto queries = by_value(c.queries, std::min(c.n, c.q_end + kKnnWindow) - c.first);
    const KnnChunkView<ByValuePoint> v{b.lo.data(), b.hi.data(), c.n,     queries.data(),
                                       c.first,     c.q_begin,   c.q_end, c.state};
    for (int64_t i = c.q_begin; i < c.q_end; ++i) knn_chunk_init(v, i);
  }
  void scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count, const KnnPoint* tile) override {
    if (bug_ == KnnBug::box_after_second_chunk_skipped && chunk_ == 2) {
      dev_.synchronize();
      std::vector<int32_t> kept;
      std::vector<KnnPoint> kept_tile;
      for (int64_t k = 0; k < count; ++k)
        if (list[k] != knn_chunk_end_box(c)) {
          kept.push_back(list[k]);
          kept_tile.insert(kept_tile.end(), tile + k * kKnnBoxPoints, tile + (k + 1) * kKnnBoxPoints);
        }
      HostKnnStreamKernels::scan(c, kept.data(), static_cast<int64_t>(kept.size()), kept_tile.data());
      return;
    }
    if (bug_ != KnnBug::duplicates_excluded_by_value) return HostKnnStreamKernels::scan(c, list, count, tile);
    dev_.synchronize();
    const Bounds b = bounds(c);
    const auto queries = by_value(c.queries, std::min(c.n, c.q_end + kKnnWindow) - c.first);
    const auto points = by_value(tile, count * kKnnBoxPoints);
    const KnnChunkView<ByValuePoint> v{b.lo.data(), b.hi.data(), c.n,     queries.data(),
                                       c.first,     c.q_begin,   c.q_end, c.state};
    for (int64_t i = c.q_begin; i < c.q_end; ++i) knn_chunk_scan(v, i, list, count, points.data());
  }

 private:
  struct Bounds {
    std::vector<ByValuePoint> lo, hi;
  };
  static Bounds bounds(const KnnChunkView<KnnPoint>& c) {
    const int64_t boxes = knn_box_count(c.n);
    return {by_value(c.box_lo, boxes), by_value(c.box_hi, boxes)};
  }
  KnnBug bug_;
  int64_t chunk_ = 0;
};

// The chunked variant's chunk loop on a test device of its own, with host kernels, under
// the budget in effect (the reduced run's, or a whole device's when none is set).
class StreamedKnnInstance : public Instance {
 public:
  StreamedKnnInstance(KnnProblem& p, KnnBug bug)
      : p_(p), kernels_(dev_, bug), streamer_(dev_, kernels_, p.n, knn_budget_from_env().value_or(size_t{1} << 40)) {}
  void run() override { streamer_.run(p_.points.data(), p_.out.data()); }
  std::string label() const override {
    return "chunks=" + std::to_string(streamer_.last_stats().chunks) +
           ";passes=" + std::to_string(streamer_.last_stats().passes);
  }

 private:
  KnnProblem& p_;
  TestDevice dev_;
  PlantedKnnKernels kernels_;
  KnnStreamer streamer_;
};

TEST(PlantedBugs, KnnChunked) {
  Margins m;
  for (const char* id : {"knn/uniform", "knn/clustered"}) {
    const OpCase& real = registered_case(id);
    PlantedCase c(real);
    auto streamed = [](KnnBug bug) {
      return [bug](Problem& p) { return std::make_unique<StreamedKnnInstance>(static_cast<KnnProblem&>(p), bug); };
    };
    c.plant_correct("chunked_on_test_device", streamed(KnnBug::none));
    c.plant("bug:self_counted", streamed(KnnBug::self_counted));
    c.plant("bug:duplicates_excluded_by_value", streamed(KnnBug::duplicates_excluded_by_value));
    c.plant("bug:box_after_second_chunk_skipped", streamed(KnnBug::box_after_second_chunk_skipped));
    // 10 000 points fit one chunk under a whole device's budget, where the skipped box is
    // code that does not run; it shows where the run streams: under a budget of 1-box
    // chunks, or in the reduced run that backs a sampled check (30 000 here: sampled like
    // 100 000, at a third of the cost).
    {
      const ScopedKnnBudget streaming(knn_stream_bytes(10'000, 1, 2));
      run_table(c, 10'000, m, "N=10000 1-box chunks");
    }
    for (int64_t n : measuring_errors() ? std::vector<int64_t>{100'000} : std::vector<int64_t>{30'000})
      run_table(c, n, m, "N=" + std::to_string(n));
  }
  print_margins("knn", m);
}

}  // namespace
}  // namespace mb

// ---------------------------------------------------------------- bugs only the validation shapes reach

namespace mb {
namespace {

// The status of `impl` of `c` at `batch` in mode cpu, validated as the runner does, printed.
StatusKind status_of(const PlantedCase& c, const std::string& impl, int64_t batch, const std::string& note = "") {
  const PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{.seed = kSeed, .warmup_calls = 0});
  const Validation& v = e.validation();
  std::printf("[planted] %-40s B=%-4lld %-34s %-5s max_err %.2e tolerance %.2e%s\n", c.id().c_str(),
              static_cast<long long>(batch), impl.c_str(), std::string(to_string(e.status().kind())).c_str(), v.max_err,
              v.tolerance, note.c_str());
  return e.status().kind();
}

// linear with the batch split over the OpenMP threads the way a hand-written parallel loop
// gets it wrong: max(1, B / threads) rows each, the remainder dropped. Right at 1 and 2
// threads on every power-of-two batch; at 3 threads B = 8 loses rows 6 and 7.
std::unique_ptr<Instance> linear_chunk_remainder_dropped(Problem& prob) {
  auto& p = static_cast<LinearProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p] {
        const auto& s = p.shape;
#pragma omp parallel
        {
          const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
          const int64_t chunk = std::max<int64_t>(1, s.batch / threads);
          const int64_t r0 = t * chunk, r1 = std::min(s.batch, r0 + chunk);
          if (r0 < r1)
            cpu::linear_openblas(p.x.data() + r0 * s.in, p.w.data(), p.b.data(), p.y.data() + r0 * s.out, r1 - r0, s.in,
                                 s.out);
        }
      },
      Precision::fp32);
}

// Validation at 3 threads (the odd count kTestThreadCounts holds) catches it; at 1 and 2
// threads it is right on the cases' power-of-two batches, and an odd batch of a validation
// shape catches it at 2.
TEST(PlantedBugs, ChunkRemainderDroppedIsCaughtAtThreeThreads) {
  PlantedCase c(registered_case("linear/mobilenetv2_head"));
  c.plant("bug:chunk_remainder_dropped", linear_chunk_remainder_dropped);
  for (int threads : {1, 2}) {
    const ScopedOmpThreads scoped(threads);
    for (int64_t b : {1, 8, 64})
      EXPECT_EQ(status_of(c, "bug:chunk_remainder_dropped", b, " threads=" + std::to_string(threads)), StatusKind::ok)
          << "hidden at " << threads << " threads, B=" << b;
  }
  {
    const ScopedOmpThreads scoped(3);
    EXPECT_EQ(status_of(c, "bug:chunk_remainder_dropped", 8, " threads=3"), StatusKind::wrong);
  }
  PlantedCase odd(validation_case("linear/v_13x7"));
  odd.plant("bug:chunk_remainder_dropped", linear_chunk_remainder_dropped);
  const ScopedOmpThreads scoped(2);
  EXPECT_EQ(status_of(odd, "bug:chunk_remainder_dropped", 3, " threads=2"), StatusKind::wrong);
}

// The host SSIM kernel with its last W % 8 columns (a vector tail on every SIMD target)
// stored one lane off: each tail column takes the value of the one to its right, the last
// keeps the one to its left. The cases' widths (800, 1600, 1920; their tiles) are multiples
// of 8 and never reach it; the validation shapes' odd widths do.
std::unique_ptr<Instance> ssim_tail_one_lane_off(Problem& prob) {
  auto& p = static_cast<SsimProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p, k = std::make_shared<cpu::SsimFused>(p.shape.height, p.shape.width)] {
        p.mean[0] = static_cast<float>(k->run(p.x.data(), p.y.data(), p.map.data(), p.shape.planes()));
        const int64_t w = p.shape.width, tail = w % 8;
        if (tail == 0) return;
        for (int64_t row = 0; row < p.shape.planes() * p.shape.height; ++row) {
          float* r = p.map.data() + row * w;
          const float left = r[w - 2 < 0 ? 0 : w - 2];
          for (int64_t c = w - tail; c + 1 < w; ++c) r[c] = r[c + 1];
          r[w - 1] = left;
        }
      },
      Precision::fp32);
}

// Every plane's local statistics as the reference defines them (double, zero padding):
// the sum of the two variances at each pixel.
std::vector<double> ssim_variance_sums(const SsimProblem& p) {
  const auto& taps = ref::ssim_taps();
  const int64_t h = p.shape.height, w = p.shape.width, n = h * w;
  std::vector<double> out(p.map.size());
  std::vector<double> hx(n), hy(n), hs(n);
  for (int64_t pl = 0; pl < p.shape.planes(); ++pl) {
    const float* x = p.x.data() + pl * n;
    const float* y = p.y.data() + pl * n;
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        double sx = 0, sy = 0, ss = 0;
        for (int k = 0; k < ref::kSsimTaps; ++k) {
          const int64_t cc = c + k - ref::kSsimTaps / 2;
          if (cc < 0 || cc >= w) continue;
          const double a = x[r * w + cc], b = y[r * w + cc];
          sx += taps[k] * a, sy += taps[k] * b, ss += taps[k] * (a * a + b * b);
        }
        hx[r * w + c] = sx, hy[r * w + c] = sy, hs[r * w + c] = ss;
      }
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        double mx = 0, my = 0, es = 0;
        for (int k = 0; k < ref::kSsimTaps; ++k) {
          const int64_t rr = r + k - ref::kSsimTaps / 2;
          if (rr < 0 || rr >= h) continue;
          mx += taps[k] * hx[rr * w + c], my += taps[k] * hy[rr * w + c], es += taps[k] * hs[rr * w + c];
        }
        out[pl * n + r * w + c] = es - mx * mx - my * my;
      }
  }
  return out;
}

// The host SSIM kernel with a shortcut for flat windows that drops the luminance term and C1:
// where the two variances sum below 1e-6 the map is 1. No window of random or noisy inputs is
// that flat; constant planes at different levels are.
std::unique_ptr<Instance> ssim_flat_windows_scored_one(Problem& prob) {
  auto& p = static_cast<SsimProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p, k = std::make_shared<cpu::SsimFused>(p.shape.height, p.shape.width)] {
        k->run(p.x.data(), p.y.data(), p.map.data(), p.shape.planes());
        const std::vector<double> var = ssim_variance_sums(p);
        double sum = 0.0;
        for (size_t i = 0; i < p.map.size(); ++i) {
          if (var[i] < 1e-6) p.map[i] = 1.0f;
          sum += p.map[i];
        }
        p.mean[0] = static_cast<float>(sum / static_cast<double>(p.map.size()));
      },
      Precision::fp32);
}

// conv2d whose stride-2 path pads the bottom and right edges by replicating the last row
// and column instead of zeros. At the cases' even sizes (mbv2_stem: 224, cut to 56 here) no
// stride-2 window reaches past the bottom or right edge; on the validation shapes' odd ones
// the last row and column of windows do.
std::unique_ptr<Instance> conv2d_stride2_far_padding_replicated(Problem& prob) {
  auto& p = static_cast<Conv2dProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p] {
        const auto& s = p.shape;
        cpu::Im2colConv2d(kernel_shape(s)).run(p.x.data(), p.w.data(), p.b.data(), p.y.data());
        if (s.stride != 2) return;
        const int64_t P = s.P(), Q = s.Q();
        for (int64_t n = 0; n < s.N; ++n)
          for (int64_t k = 0; k < s.K; ++k)
            for (int64_t pp = 0; pp < P; ++pp)
              for (int64_t q = 0; q < Q; ++q) {
                const int64_t h0 = pp * s.stride - s.pad, w0 = q * s.stride - s.pad;
                if (h0 + s.R <= s.H && w0 + s.S <= s.W) continue;  // reads no far padding
                const int64_t g = k / s.Kg();
                double acc = p.b[k];
                for (int64_t c = 0; c < s.Cg(); ++c)
                  for (int64_t r = 0; r < s.R; ++r)
                    for (int64_t t = 0; t < s.S; ++t) {
                      int64_t ih = h0 + r, iw = w0 + t;
                      if (ih < 0 || iw < 0) continue;  // the near padding stays zero
                      ih = std::min(ih, s.H - 1), iw = std::min(iw, s.W - 1);
                      acc += static_cast<double>(p.w[((k * s.Cg() + c) * s.R + r) * s.S + t]) *
                             p.x[((n * s.C + g * s.Cg() + c) * s.H + ih) * s.W + iw];
                    }
                p.y[((n * s.K + k) * P + pp) * Q + q] = static_cast<float>(acc);
              }
      },
      Precision::fp32);
}

// ---------------------------------------------------------------- conv1d

// Recomputes, with that bug, the outputs of the last channel whose window reads left padding.
void replicate_left_padding_in_last_channel(Conv1dProblem& p) {
  const auto& s = p.shape;
  const int64_t Lo = s.Lout();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t l = 0; l < Lo && l * s.stride < s.pad; ++l)
      p.y[static_cast<size_t>((n * s.K + s.K - 1) * Lo + l)] =
          emu::conv1d_output(p.x.data(), p.w.data(), p.b.data(), s, n, s.K - 1, l, emu::Order::lanes8,
                             emu::Conv1dFault::left_padding_replicated_in_last_channel);
}

// im2col (the plain host impl) with the weights or bias a bug changes; the outputs a bug
// changes otherwise recomputed by the emulated direct convolution with that bug.
std::unique_ptr<Instance> conv1d_variant(Problem& prob, emu::Conv1dFault fault) {
  auto& p = static_cast<Conv1dProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p, fault] {
        using F = emu::Conv1dFault;
        const auto& s = p.shape;
        std::vector<float> w = p.w, b = p.b;
        if (fault == F::kernel_flipped)
          for (int64_t f = 0; f < s.K * s.Cg(); ++f)
            std::reverse(w.begin() + f * s.kernel, w.begin() + (f + 1) * s.kernel);
        if (fault == F::bias_missing_in_last_group) std::fill(b.end() - s.Kg(), b.end(), 0.0f);
        cpu::Im2colConv1d(kernel_shape(s)).run(p.x.data(), w.data(), b.data(), p.y.data());
        if (fault == F::left_padding_replicated_in_last_channel) replicate_left_padding_in_last_channel(p);
        if (fault == F::stride_off_by_one || fault == F::dilation_ignored)
          emu::conv1d_direct(p.x.data(), p.w.data(), p.b.data(), s, emu::Order::lanes8, p.y.data(), fault);
      },
      Precision::fp32);
}

// im2col on inputs and weights truncated to TF32 (what tensor cores read), reporting `precision`:
// right under the TF32 tolerance, wrong under the strict fp32 one.
std::unique_ptr<Instance> conv1d_tf32(Problem& prob, Precision precision) {
  auto& p = static_cast<Conv1dProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p] {
        const std::vector<float> x = emu::to_tf32(p.x, emu::Tf32::truncate), w = emu::to_tf32(p.w, emu::Tf32::truncate);
        cpu::Im2colConv1d(kernel_shape(p.shape)).run(x.data(), w.data(), p.b.data(), p.y.data());
      },
      precision);
}

// XTTS's layers: the quick profile's two and the widest dilation. Lengths cut to a quarter, at
// most 64 (conv_pre's 87 -> 21, the dilated ones' -> 64; every window still reads both paddings).
TEST(PlantedBugs, Conv1d) {
  Margins m;
  for (const char* id : {"conv1d/xtts_hifigan_pre", "conv1d/xtts_hifigan_s3_k3_d3", "conv1d/xtts_hifigan_s0_k11_d5"}) {
    const OpCase& real = registered_case(id);
    std::unique_ptr<PlantedCase> c = planted_case(real, [](Problem& whole) {
      const auto& p = static_cast<Conv1dProblem&>(whole);
      return std::make_unique<Conv1dProblem>(cropped(p, p.shape.N, std::min<int64_t>(p.shape.L / 4, 64)));
    });
    for (const std::string& impl : own_impl_names(real, Placement::host)) c->keep(impl);
    auto plant = [&](const std::string& name, emu::Conv1dFault fault) {
      c->plant(name, [fault](Problem& p) { return conv1d_variant(p, fault); });
    };
    auto probe = real.make_problem(1, kSeed);
    const auto& s = static_cast<Conv1dProblem&>(*probe).shape;
    if (s.pad > 0)
      plant("bug:left_padding_replicated_in_one_channel", emu::Conv1dFault::left_padding_replicated_in_last_channel);
    if (s.kernel > 1) plant("bug:kernel_flipped", emu::Conv1dFault::kernel_flipped);
    if (s.dilation > 1) plant("bug:dilation_ignored", emu::Conv1dFault::dilation_ignored);
    plant("bug:stride_off_by_one", emu::Conv1dFault::stride_off_by_one);
    c->plant_correct("tf32", [](Problem& p) { return conv1d_tf32(p, Precision::tf32); });
    c->plant("bug:tf32_under_strict_math", [](Problem& p) { return conv1d_tf32(p, Precision::fp32); });
    plant("bug:bias_missing_in_one_group", emu::Conv1dFault::bias_missing_in_last_group);
    for (int64_t b : measuring_errors() ? real.batches(Profile::quick) : std::vector<int64_t>{1, 8})
      run_table(*c, b, m, (measuring_errors() ? "" : "cut-length ") + std::string("N=") + std::to_string(b));
  }
  print_margins("conv1d", m);
}

// At the cases' own size, where the check is sampled: the sample alone (every output
// channel's ends in the first and last image) catches a padding bug confined to one channel.
TEST(PlantedBugs, Conv1dSampleCoversEveryChannelsEnds) {
  for (auto [id, batch] : {std::pair{"conv1d/xtts_hifigan_pre", 32}, {"conv1d/xtts_hifigan_s3_k3_d3", 8}}) {
    expect_sample_alone_catches_one_channels_padding_bug<Conv1dProblem>(id, batch);
  }
}

// conv1d whose stride-2 path pads the far end by replicating the last position instead of
// zeros. XTTS's layers all have stride 1; the validation shapes' stride-2 ones read the far
// padding in their last window.
std::unique_ptr<Instance> conv1d_stride2_far_padding_replicated(Problem& prob) {
  auto& p = static_cast<Conv1dProblem&>(prob);
  return std::make_unique<PlantedInstance>(
      [&p] {
        const auto& s = p.shape;
        cpu::Im2colConv1d(kernel_shape(s)).run(p.x.data(), p.w.data(), p.b.data(), p.y.data());
        if (s.stride != 2) return;
        const int64_t Lo = s.Lout();
        for (int64_t n = 0; n < s.N; ++n)
          for (int64_t k = 0; k < s.K; ++k)
            for (int64_t l = 0; l < Lo; ++l) {
              const int64_t l0 = l * s.stride - s.pad;
              if (l0 + (s.kernel - 1) * s.dilation < s.L) continue;  // reads no far padding
              const int64_t g = k / s.Kg();
              double acc = p.b[k];
              for (int64_t c = 0; c < s.Cg(); ++c)
                for (int64_t t = 0; t < s.kernel; ++t) {
                  const int64_t il = l0 + t * s.dilation;
                  if (il < 0) continue;  // the near padding stays zero
                  acc += static_cast<double>(p.w[(k * s.Cg() + c) * s.kernel + t]) *
                         p.x[(n * s.C + g * s.Cg() + c) * s.L + std::min(il, s.L - 1)];
                }
              p.y[(n * s.K + k) * Lo + l] = static_cast<float>(acc);
            }
      },
      Precision::fp32);
}

// Each bug hides from the registered cases (validated ok there) and is `wrong` on the
// validation shapes that reach it.
TEST(PlantedBugs, BugsOnlyTheValidationShapesReachAreCaught) {
  struct Row {
    const char* bug;
    PlantedCase::Make make;
    std::vector<std::pair<const char*, int64_t>> hidden_in;  // registered case, batch
    std::vector<std::pair<const char*, int64_t>> caught_in;  // validation shape, batch
    bool on_simd_kernel = false;                             // planted on our SSIM kernel: checked on every SIMD target
  };
  const std::vector<Row> rows{
      {"bug:ssim_tail_one_lane_off",
       ssim_tail_one_lane_off,
       {{"ssim/nerf_800", 1}},
       {{"ssim/v_2x9", 1}, {"ssim/v_7x13", 3}, {"ssim/v_33x37", 1}, {"ssim/v_30x300", 1}, {"ssim/v_9x523", 1}},
       true},
      {"bug:ssim_flat_windows_scored_one",
       ssim_flat_windows_scored_one,
       {{"ssim/nerf_800", 1}},
       {{"ssim/v_40x37_flat", 1}, {"ssim/v_40x37_flat", 2}},
       true},
      {"bug:conv2d_stride2_far_padding_replicated",
       conv2d_stride2_far_padding_replicated,
       {{"conv2d/mbv2_stem", 1}, {"conv2d/mbv2_stem", 8}},
       {{"conv2d/v_3x3_s2_3to8_15x15", 1}, {"conv2d/v_dw_3x3_s2_17x17", 3}, {"conv2d/v_5x5_s2_p2_4to6_9x10", 1}}},
      {"bug:conv1d_stride2_far_padding_replicated",
       conv1d_stride2_far_padding_replicated,
       {{"conv1d/xtts_hifigan_pre", 1}, {"conv1d/xtts_hifigan_pre", 8}},
       {{"conv1d/v_k7_s2_p3_4to6_L21", 1}, {"conv1d/v_k5_s2_p2_3to8_L10", 1}, {"conv1d/v_k3_d2_s2_p1_4to5_L15", 1}}},
  };
  for (const Row& row : rows) {
    auto check = [&](const std::string& isa) {
      for (const auto& [id, batch] : row.hidden_in) {
        const OpCase& real = registered_case(id);
        // Quarter-side images as in PlantedBugs.Conv2d (the stem's even size kept), ssim cut to
        // 120x400 (two column tiles of 200): the same structure, less time.
        std::unique_ptr<PlantedCase> c = planted_case(real, [](Problem& whole) -> std::unique_ptr<Problem> {
          if (auto* conv = dynamic_cast<Conv2dProblem*>(&whole))
            return std::make_unique<Conv2dProblem>(cropped(*conv, conv->shape.N, conv->shape.H / 4, conv->shape.W / 4));
          if (auto* conv = dynamic_cast<Conv1dProblem*>(&whole))
            return std::make_unique<Conv1dProblem>(cropped(*conv, conv->shape.N, conv->shape.L / 4));
          auto& ssim = static_cast<SsimProblem&>(whole);
          return std::make_unique<SsimProblem>(cropped(ssim, ssim.shape.batch, 120, 400));
        });
        c->plant(row.bug, row.make);
        EXPECT_EQ(status_of(*c, row.bug, batch, " (registered case: hidden)"), StatusKind::ok) << id;
      }
      for (const auto& [id, batch] : row.caught_in) {
        PlantedCase c(validation_case(id));
        c.plant(row.bug, row.make);
        EXPECT_EQ(status_of(c, row.bug, batch), StatusKind::wrong) << id << isa;
      }
    };
    if (row.on_simd_kernel)
      at_each_simd_target([&](const std::string& isa) { check(" isa=" + isa); });
    else
      check("");
  }
}

// SSIM's metric scales a pixel's tolerance by its conditioning (docs/ops.md, "ssim"): on flat
// planes and the synthetic photo, where correct fp32 (the host kernel, the plain five-blur SSIM)
// is allowed up to 16 units of rounding times the conditioning, the bugs that flat regions
// expose are still wrong: flat windows scored 1 (the luminance term and C1 dropped) and the
// moments not centred (sigma^2 = E[x^2]). Before the conditioned metric the five-blur SSIM was
// wrong on these shapes (2.4e-3 against 2e-5 on the flat planes).
TEST(PlantedBugs, SsimFlatRegionBugsAreCaughtWhereCorrectFp32Passes) {
  Margins m;
  for (const auto& [id, batches] : std::vector<std::pair<const char*, std::vector<int64_t>>>{
           {"ssim/v_40x37_flat", {1, 2}}, {"ssim/v_64x72_scene", {1, 2}}, {"ssim/v_97x203_scene", {1}}}) {
    PlantedCase c(validation_case(id));
    c.keep("fused");
    c.plant_correct("separable", separable(emu::SsimFault::none));
    c.plant("bug:ssim_flat_windows_scored_one", ssim_flat_windows_scored_one);
    c.plant("bug:moments_not_centred", separable(emu::SsimFault::moments_not_centred));
    for (int64_t b : batches) run_table(c, b, m);
  }
  print_margins("ssim flat and photo", m);
}

}  // namespace
}  // namespace mb
