#include <algorithm>
#include <cmath>

#include "cpu_ref/checked_size.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/ssim.hpp"
#include "ops/ssim/ssim.hpp"

namespace mb {
namespace {

constexpr int64_t kChannels = 3;  // the cases' (RGB); a validation shape may name another
// ssim's FLOP count (docs/ops.md) is the plain separable algorithm's per pixel:
// 3 products + 5 stats x 2 passes x (11 mul + 10 add) + 21 for the formula + 1 for the mean.
constexpr double kFlopsPerPixel = 3 + 5 * 2 * 21 + 21 + 1;
// Tolerances (docs/ops.md, "Tolerances"; tests/test_tolerances.cpp measures them) on the
// benchmark's inputs. Map: the host kernel stays below 1.1e-6 and the plain separable fp32
// SSIM (five unshifted blurs, as the cuDNN path computes it) below 3.6e-6 (1.9e-6 on the
// validation shapes); 2e-5 leaves 5.6x room (5e-5 was 14x: looser than docs/ops.md's 8x)
// and rejects one pass missing its outermost taps (>= 2.7e-4) by 13x. Mean: both stay below
// 1.5e-8 and storing it as fp32 rounds by up to 3e-8; 2e-7 rejects that tap bug (3.2e-5) by
// 160x and a mean over one channel only (>= 2.9e-6 at B = 1) by 14x.
constexpr double kMapTolerance = 2e-5, kMeanTolerance = 2e-7;
// A mean of few pixels averages few of the map's rounding errors (the host kernel's reach
// 1.3e-6 on a 1x1 image's dark pixel): its tolerance is at least 4e-6 / sqrt(pixels), which
// is kMeanTolerance from 400 pixels on (every case) and 2.3e-6 at a 1x1 RGB image.
double mean_tolerance(int64_t pixels) {
  return std::max(kMeanTolerance, 4e-6 / std::sqrt(static_cast<double>(std::max<int64_t>(1, pixels))));
}
// Ill-conditioned pixels (docs/ops.md, "ssim", the metric): on flat windows fp32's
// E[x^2] - mu^2 loses about eps * E[x^2] and the map amplifies that by 1/C2 (the plain
// five-blur SSIM was 2.4e-3 off on bright constant planes), so a pixel's allowed error is the
// larger of kMapTolerance and kConditionedUlps units of fp32 rounding (2^-24) times
// ref::ssim_conditioning(), the bound on that amplification. Over the validation shapes correct
// fp32 reaches 8.5 of those units (the cuDNN path's arithmetic, five 11x11 2-D window sums, on
// the synthetic photo; the five-blur separable SSIM 4.0, the host kernel 0.73; on the flat planes
// 1.3): 10 leaves 1.18x room for the 2-D sums (the simulated cuDNN path: 0.85 of the tolerance)
// and is 7.7x the flat planes' largest, and still rejects flat windows scored 1 (10x) and
// uncentred moments (96x) there. More room for the 2-D sums costs the 8x rule on flat planes
// and the mean's margin on noise (at 17: 12.5x, and a mean over one channel only 1.16x out).
constexpr double kConditionedUlps = 10.0;
constexpr double kUnitRoundoff = 0x1p-24;
// The error scale of a pixel: its error over this is judged against kMapTolerance.
double map_magnitude(double conditioning) {
  return std::max(1.0, kConditionedUlps * kUnitRoundoff * conditioning / kMapTolerance);
}
// What a pixel adds to the mean's allowed error: its allowance above kMapTolerance.
double mean_allowance(double conditioning) { return kMapTolerance * (map_magnitude(conditioning) - 1.0); }

class FusedInstance : public Instance {
 public:
  explicit FusedInstance(SsimProblem& p) : p_(p), k_(p.shape.height, p.shape.width) {}
  void run() override {
    p_.mean[0] = static_cast<float>(k_.run(p_.x.data(), p_.y.data(), p_.map.data(), p_.shape.planes()));
  }
  std::string label() const override { return "math=fp32;isa=" + cpu::SsimFused::isa(); }

 private:
  SsimProblem& p_;
  cpu::SsimFused k_;
};

class SsimCase : public CaseOf<SsimProblem> {
 public:
  // `batches` (a validation shape's) replaces both profiles' batches when not empty.
  SsimCase(std::string name, int64_t width, int64_t height, int64_t channels = kChannels,
           Inputs inputs = Inputs::random, std::vector<int64_t> batches = {})
      : name_(std::move(name)), w_(width), h_(height), ch_(channels), inputs_(inputs), batches_(std::move(batches)) {
    add_host_impl("fused", [](SsimProblem& p, RowRange) { return std::make_unique<FusedInstance>(p); });
    add_device_impl("fused", Precision::fp32, MB_CUDA_ONLY(make_fused_ssim), MB_CUDA_ONLY(fused_ssim_kernels));
    add_device_impl("cudnn", Precision::fp32, MB_CUDA_ONLY(make_cudnn_ssim), MB_CUDA_ONLY(cudnn_ssim_kernels),
                    {"cudnn"});
    // The pure-PyTorch SSIM of 3DGS in the user's torch (ops/ssim/torch.cpp, modebench-torch). Its
    // 11x11 depthwise convolutions take seconds per image pair on a CPU: the quick profile runs
    // it at the smallest case's batch 1 only.
    const bool smallest = name_ == "nerf_800";
    const auto quick = [smallest](int64_t b) { return smallest && b == 1; };
    for (Placement where : {Placement::host, Placement::device}) add_provider_impl("torch", where, "torch", quick);
    for (const char* hybrid : {"torch_naive", "torch_cached"})
      add_provider_impl(hybrid, Placement::hybrid, "torch", quick);
  }
  std::string op() const override { return "ssim"; }
  std::string name() const override { return name_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (!batches_.empty()) return batches_;
    if (p == Profile::quick) return {1, 4};
    return {1, 2, 4, 8, 16};
  }
  double pixels(int64_t batch) const { return static_cast<double>(checked_product({batch, ch_, h_, w_})); }
  double flops(int64_t batch) const override { return kFlopsPerPixel * pixels(batch); }
  // x and y in, map out (4 bytes each per pixel), plus the mean.
  double bytes(int64_t batch) const override { return 12.0 * pixels(batch) + 4.0; }
  // Validation holds, per thread, one double reference plane and its 5 horizontal statistics.
  double host_bytes(int64_t batch) const override { return bytes(batch) + 2 * 48.0 * static_cast<double>(h_ * w_); }

  double tolerance(Precision) const override { return kMapTolerance; }

 protected:
  std::unique_ptr<SsimProblem> make(int64_t batch, uint64_t seed) const override {
    auto p = std::make_unique<SsimProblem>(ref::SsimShape{batch, ch_, h_, w_});
    if (inputs_ == Inputs::structured) {
      fill_scene(*p, seed);
      return p;
    }
    if (inputs_ == Inputs::flat) {
      fill_flat(*p);
      return p;
    }
    Rng(derive_seed(seed, 1)).fill_uniform(p->x, 0.0f, 1.0f);
    // Y = X plus small noise, so SSIM is near 1 as in training (docs/ops.md, "Inputs").
    Rng noise(derive_seed(seed, 2));
    for (size_t i = 0; i < p->y.size(); ++i) p->y[i] = std::clamp(p->x[i] + noise.uniform(-0.05f, 0.05f), 0.0f, 1.0f);
    return p;
  }

  // Every map pixel against the full double reference, plane by plane in parallel (the
  // mean needs every reference pixel anyway, so the map check is full at no extra cost).
  // docs/ops.md has two tolerances; max_err is in map units with the mean error scaled by
  // kMapTolerance / mean_tolerance(), so the one threshold kMapTolerance enforces both.
  Validation check(SsimProblem& p, Precision) const override {
    const int64_t planes = p.shape.planes(), n = p.shape.plane_size();
    Validation v;
    v.tolerance = kMapTolerance;
    v.check = "full";
    v.finite = all_finite(p.map) && std::isfinite(p.mean[0]);
    if (!v.finite) return v;
    if (check_policy() == CheckPolicy::sampled) return check_sampled(p, v);

    std::vector<double> plane_sum(static_cast<size_t>(planes)), plane_err(static_cast<size_t>(planes)),
        plane_allowance(static_cast<size_t>(planes));
#pragma omp parallel
    {
      std::vector<double> ref_map(static_cast<size_t>(n)), cond(static_cast<size_t>(n));
#pragma omp for schedule(dynamic)
      for (int64_t pl = 0; pl < planes; ++pl) {
        const float* got = p.map.data() + pl * n;
        plane_sum[pl] = ref::ssim_plane(p.x.data() + pl * n, p.y.data() + pl * n, p.shape.height, p.shape.width,
                                        ref_map.data(), cond.data());
        double err = 0.0, allowance = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          err = std::max(err, std::fabs(static_cast<double>(got[i]) - ref_map[i]) / map_magnitude(cond[i]));
          allowance += mean_allowance(cond[i]);
        }
        plane_err[pl] = err;
        plane_allowance[pl] = allowance;
      }
    }
    double sum = 0.0, allowance = 0.0;
    for (int64_t pl = 0; pl < planes; ++pl) sum += plane_sum[pl], allowance += plane_allowance[pl];
    const auto pixels = static_cast<double>(p.shape.pixels());
    const double mean_err = std::fabs(static_cast<double>(p.mean[0]) - sum / pixels);
    v.max_err = std::max(*std::max_element(plane_err.begin(), plane_err.end()),
                         mean_err * (kMapTolerance / (mean_tolerance(p.shape.pixels()) + allowance / pixels)));
    return v;
  }

 private:
  // The sampled check (the re-check of a last timed call): the map at the sample (every
  // plane's edges in the first and last image, 1 000 random pixels) against the reference's
  // window at that pixel; the mean against the mean of the impl's own map, which is what a
  // correct mean is up to rounding (both correct impls: <= 3e-8 apart), scaled as above.
  Validation check_sampled(SsimProblem& p, Validation v) const {
    const int64_t h = p.shape.height, w = p.shape.width, n = p.shape.plane_size();
    const CheckSet set(p.map.size(), 0.0, [&] { return plane_edges(p.shape.batch, p.shape.channels, h, w); });
    v.check = set.label();
    const ErrorMeter meter = measure_errors(p.map, set, [&](size_t idx) {
      const int64_t i = static_cast<int64_t>(idx), base = i / n * n, r = i % n / w, c = i % w;
      double cond = 0.0;
      const double value = ref::ssim_map_at(p.x.data() + base, p.y.data() + base, h, w, r, c, &cond);
      return RefValue{value, map_magnitude(cond)};
    });
    double sum = 0.0;
    const auto pixels = static_cast<int64_t>(p.map.size());
#pragma omp parallel for reduction(+ : sum)
    for (int64_t i = 0; i < pixels; ++i) sum += p.map[static_cast<size_t>(i)];
    const double mean_err = std::fabs(static_cast<double>(p.mean[0]) - sum / static_cast<double>(pixels));
    v.max_err = std::max(meter.max_err(), mean_err * (kMapTolerance / mean_tolerance(pixels)));
    v.finite = meter.finite();
    return v;
  }

  // Structured inputs (docs/ops.md, "Structured inputs"): a synthetic photo, deterministic
  // and cheap at any size, with what random pixels lack: flat regions (where the map is the
  // luminance term alone and C1 and C2 decide it), saturated 0 and 1 regions, step edges,
  // a smooth gradient, fine stripes and a noisy patch. Y is X changed as a renderer's
  // output differs: the flat ground darkened (flat in both, at other levels), the stripes
  // shifted by one pixel, the disc identical (map exactly 1), noise elsewhere. Image b of
  // the batch is the scene moved 3b pixels to the left; channels differ in level.
  void fill_scene(SsimProblem& p, uint64_t seed) const {
    const int64_t h = p.shape.height, w = p.shape.width;
    Rng noise(derive_seed(seed, 3));
    auto scene = [&](int64_t r, int64_t c, int64_t ch) {
      const float u = (static_cast<float>(c) + 0.5f) / static_cast<float>(w);
      const float v = (static_cast<float>(r) + 0.5f) / static_cast<float>(h);
      if (u < 0.15f && v < 0.3f) return 1.0f;                                                  // saturated highlight
      if (u > 0.85f && v > 0.8f) return 0.0f;                                                  // black shadow
      if (v > 0.6f) return 0.35f + 0.1f * static_cast<float>(ch);                              // flat ground
      if ((u - 0.3f) * (u - 0.3f) + (v - 0.4f) * (v - 0.4f) < 0.03f) return 0.9f;              // disc
      if (u > 0.7f && v < 0.5f) return 0.5f + 0.4f * std::sin(static_cast<float>(c) * 1.19f);  // stripes
      return 0.15f + 0.6f * u - 0.05f * static_cast<float>(ch);                                // sky gradient
    };
    for (int64_t pl = 0; pl < p.shape.planes(); ++pl) {
      const int64_t b = pl / p.shape.channels, ch = pl % p.shape.channels;
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c) {
          const int64_t cs = c + 3 * b;  // the scene moved per image
          const float u = (static_cast<float>(c) + 0.5f) / static_cast<float>(w);
          const float v = (static_cast<float>(r) + 0.5f) / static_cast<float>(h);
          const float x = scene(r, cs, ch);
          float y;
          if (v > 0.6f && !(u > 0.85f && v > 0.8f))
            y = 0.8f * x + 0.02f;  // the ground darkened: still flat
          else if ((u - 0.3f) * (u - 0.3f) + (v - 0.4f) * (v - 0.4f) < 0.03f)
            y = x;
          else if (u > 0.7f && v < 0.5f)
            y = scene(r, cs + 1, ch);
          else if (u > 0.45f && u < 0.6f && v > 0.1f && v < 0.5f)
            y = noise.uniform(0.2f, 0.8f);  // a patch of pure noise
          else
            y = std::clamp(x + noise.uniform(-0.03f, 0.03f), 0.0f, 1.0f);
          const size_t i = static_cast<size_t>((pl * h + r) * w + c);
          p.x[i] = x;
          p.y[i] = y;
        }
    }
  }

  // Flat inputs: every plane of X and of Y constant, at levels that differ (the map is the
  // luminance term alone, and C1 and C2 decide it) and in one pair agree (the map is 1).
  static void fill_flat(SsimProblem& p) {
    static constexpr float kLevels[][2] = {{0.6f, 0.3f}, {0.2f, 0.25f}, {0.5f, 0.5f}, {0.9f, 0.8f}, {0.05f, 0.1f}};
    const int64_t n = p.shape.plane_size();
    for (int64_t pl = 0; pl < p.shape.planes(); ++pl) {
      const auto& lv = kLevels[pl % std::size(kLevels)];
      std::fill_n(p.x.begin() + pl * n, n, lv[0]);
      std::fill_n(p.y.begin() + pl * n, n, lv[1]);
    }
  }

  std::string name_;
  int64_t w_, h_, ch_;
  Inputs inputs_;
  std::vector<int64_t> batches_;
};

// Validation shapes (docs/ops.md, "Validation shapes"): 1x1 and 2-row images (the window is
// all padding but one row), widths that leave an AVX2 tail of every length 1 to 5 in the
// last column tile (9, 13, 37, 45, 300: two tiles, 523: three) and tiles of an even (17, 300)
// and an odd number of 16-float vectors (AVX-512's horizontal pass makes 32 outputs a step),
// heights 1-3 mod 4 (the last four output rows partly past the image), 70 rows (two row bands
// at 2 threads), one channel; batch 1 and 3; constant planes; the synthetic photo.
const std::vector<ShapeSpec>& ssim_validation_shapes() {
  static const std::vector<ShapeSpec> shapes{
      {"v_1x1", {{"height", 1}, {"width", 1}}, {1, 2}},
      {"v_2x9", {{"height", 2}, {"width", 9}}, {1}},
      {"v_7x13", {{"height", 7}, {"width", 13}}, {1, 3}},
      {"v_33x37", {{"height", 33}, {"width", 37}}, {1}},
      {"v_70x45", {{"height", 70}, {"width", 45}}, {1}},
      {"v_30x300", {{"height", 30}, {"width", 300}}, {1}},
      {"v_9x523", {{"height", 9}, {"width", 523}}, {1}},
      {"v_16x17_1ch", {{"height", 16}, {"width", 17}, {"channels", 1}}, {1, 3}},
      {"v_40x37_flat", {{"height", 40}, {"width", 37}}, {1, 2}, Inputs::flat},
      {"v_64x72_scene", {{"height", 64}, {"width", 72}}, {1, 2}, Inputs::structured},
      {"v_97x203_scene", {{"height", 97}, {"width", 203}}, {1}, Inputs::structured},
  };
  return shapes;
}

}  // namespace

std::unique_ptr<OpCase> make_ssim_case(const ShapeSpec& s) {
  return std::make_unique<SsimCase>(s.name, s.dim("width"), s.dim("height"), s.dim("channels", kChannels), s.inputs,
                                    s.batches);
}

void register_ssim(Registry& r) {
  r.add(std::make_unique<SsimCase>("nerf_800", 800, 800));
  r.add(std::make_unique<SsimCase>("mip_1600", 1600, 1066));
  r.add(std::make_unique<SsimCase>("hd_1080p", 1920, 1080));
  r.add_shape_factory("ssim", make_ssim_case);
  for (const ShapeSpec& s : ssim_validation_shapes()) r.add_validation(s, make_ssim_case(s));
}

}  // namespace mb
