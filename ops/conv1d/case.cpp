#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "cpu_ref/checked_size.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/conv1d.hpp"
#include "ops/conv1d/conv1d.hpp"

namespace mb {
namespace {

// Images [begin, end) of a problem: their shape and where their x and y start. Every impl
// computes such a range (the whole batch outside hybrid cached).
struct Images {
  Images(Conv1dProblem& p, RowRange r)
      : s(p.shape),
        x(p.x.data() + r.begin * p.shape.C * p.shape.L),
        y(p.y.data() + r.begin * p.shape.K * p.shape.Lout()) {
    s.N = r.end - r.begin;
  }
  ref::Conv1dShape s;
  const float* x;
  float* y;
};

class OnednnInstance : public Instance {
 public:
  OnednnInstance(Conv1dProblem& p, Images r) : r_(r), conv_(p.w.data(), p.b.data(), kernel_shape(r.s)) {}
  void run() override { conv_.run(r_.x, r_.y); }
  std::string label() const override {
    return "math=fp32;weights=packed;onednn_impl=" + conv_.impl_info() + ";reorder=" + conv_.reorders();
  }

 private:
  Images r_;
  cpu::OnednnConv1d conv_;
};

class Im2colInstance : public Instance {
 public:
  Im2colInstance(Conv1dProblem& p, Images r) : p_(p), r_(r), conv_(kernel_shape(r.s)) {}
  void run() override { conv_.run(r_.x, p_.w.data(), p_.b.data(), r_.y); }
  std::string label() const override {
    return conv_.skips_im2col() ? "math=fp32;blas=sgemm;im2col=skipped_1x1" : "math=fp32;blas=sgemm";
  }

 private:
  Conv1dProblem& p_;
  Images r_;
  cpu::Im2colConv1d conv_;
};

// Tolerances in the error metric of docs/ops.md ("Tolerances"), as conv2d's: every correct
// fp32 summation order stays far below 2e-6 (tests/test_validation_shapes.cpp measures it on
// the validation shapes), which rejects TF32 by ~80x. cuDNN has no Winograd for a 1 x kernel
// filter, so conv2d's Winograd allowance does not apply.
constexpr double kStrictTolerance = 2e-6;
// TF32 as linear and conv2d: 0.016 / sqrt(terms per output), terms = C/groups * kernel.
constexpr double kTf32ToleranceTimesSqrtTerms = 0.016;
// Reference cost of one output per window term (as conv2d's cpu_ref loop).
constexpr double kRefNsPerTerm = 8.0;
// An ad-hoc shape's best host impl: im2col at B < 8, oneDNN from 8, as on most XTTS layers.
constexpr int64_t kOnednnFrom = 8;

class Conv1dCase : public CaseOf<Conv1dProblem> {
 public:
  // The fastest host impl as measured on the dev box (see register_conv1d): im2col below batch
  // `onednn_from`, onednn from it. `batches` (a validation shape's) replaces both profiles'
  // batches when not empty; `quick`: whether the quick profile runs the case.
  Conv1dCase(std::string name, ref::Conv1dShape s, int64_t onednn_from, bool quick = true,
             Inputs inputs = Inputs::random, std::vector<int64_t> batches = {})
      : name_(std::move(name)), s_(s), quick_(quick), inputs_(inputs), batches_(std::move(batches)) {
    auto best_here = [onednn_from](const std::string& impl) {
      return [onednn_from, onednn = impl == "onednn"](int64_t batch) { return (batch >= onednn_from) == onednn; };
    };
    add_host_impl("onednn",
                  [](Conv1dProblem& p, RowRange r) { return std::make_unique<OnednnInstance>(p, Images(p, r)); },
                  {.splits_rows = true, .best_for = best_here("onednn")});
    add_host_impl("im2col",
                  [](Conv1dProblem& p, RowRange r) { return std::make_unique<Im2colInstance>(p, Images(p, r)); },
                  {.plain = true, .splits_rows = true, .best_for = best_here("im2col")});
    add_device_impl("cudnn", Precision::fp32,
                    MB_CUDA_ONLY([](Conv1dProblem& p, Device& d) { return make_cudnn_conv1d(p, d, Precision::fp32); }),
                    MB_CUDA_ONLY(conv1d_gpu_kernels), {"cudnn"});
    add_device_impl("cudnn_tf32", Precision::tf32,
                    MB_CUDA_ONLY([](Conv1dProblem& p, Device& d) { return make_cudnn_conv1d(p, d, Precision::tf32); }),
                    MB_CUDA_ONLY(conv1d_gpu_kernels), {"cudnn"});
    // at::conv1d in the user's torch (ops/conv1d/torch.cpp, modebench-torch).
    for (Placement where : {Placement::host, Placement::device}) add_provider_impl("torch", where, "torch");
    for (const char* hybrid : {"torch_naive", "torch_cached"}) add_provider_impl(hybrid, Placement::hybrid, "torch");
  }
  std::string op() const override { return "conv1d"; }
  std::string name() const override { return name_; }
  bool in_quick_profile() const override { return quick_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (!batches_.empty()) return batches_;
    if (p == Profile::quick) return {1, 8, 32};
    return {1, 2, 4, 8, 16, 32, 64};
  }
  double flops(int64_t batch) const override {
    const auto s = at(batch);
    return 2.0 * static_cast<double>(s.output_size()) * static_cast<double>(terms());
  }
  double bytes(int64_t batch) const override {
    const auto s = at(batch);
    return 4.0 * static_cast<double>(checked_sum({s.input_size(), s.weight_size(), s.K, s.output_size()}));
  }
  double tolerance(Precision precision) const override {
    if (precision == Precision::fp32) return kStrictTolerance;
    return std::max(kStrictTolerance, kTf32ToleranceTimesSqrtTerms / std::sqrt(static_cast<double>(terms())));
  }
  // The same channels, kernel, stride, padding, dilation and groups checked in full: the
  // largest power-of-two batch of at least 2 (first and last image differ) below `batch` at the
  // case's length, else 2 images with the length halved until they fit.
  std::optional<ReducedRun> reduced_run(int64_t batch, uint64_t seed) const override {
    ref::Conv1dShape s = at(std::min<int64_t>(batch, 2));
    while (s.N * 2 < batch && fits(at(s.N * 2))) s = at(s.N * 2);
    while (!fits(s)) {
      ref::Conv1dShape half = s;
      half.L = (s.L + 1) / 2;
      if (!half.valid() || half.L == s.L) break;
      s = half;
    }
    const bool same_length = s.L == s_.L;
    if (same_length && s.N >= batch) return std::nullopt;  // no smaller run than the entry itself
    return ReducedRun{make_at(s, seed), std::to_string(s.N) + (same_length ? "" : ":L" + std::to_string(s.L)), nullptr};
  }

 protected:
  std::unique_ptr<Conv1dProblem> make(int64_t batch, uint64_t seed) const override { return make_at(at(batch), seed); }

  // Sampled: in the first and the last image, the ends of every output channel: each position
  // whose window reads padding, and at least the first and last, plus the random ones.
  Validation check(Conv1dProblem& p, Precision precision) const override {
    const auto& s = p.shape;
    const int64_t Lo = s.Lout();
    const CheckSet set(p.y.size(), ns_per_output(), [&] { return plane_edges(s.N, s.K, 1, Lo, padded_ends(s)); });
    return validate_against(p.y, tolerance(precision), set, [&](size_t idx) {
      const auto i = static_cast<int64_t>(idx);
      const int64_t l = i % Lo, k = (i / Lo) % s.K, n = i / (Lo * s.K);
      return ref::conv1d_at(p.x.data(), p.w.data(), p.b.data(), s, n, k, l);
    });
  }

 private:
  ref::Conv1dShape at(int64_t batch) const {
    ref::Conv1dShape s = s_;
    s.N = batch;
    return s;
  }
  std::unique_ptr<Conv1dProblem> make_at(const ref::Conv1dShape& s, uint64_t seed) const {
    auto p = std::make_unique<Conv1dProblem>(s);
    if (inputs_ == Inputs::structured)
      fill_layer_inputs_wide(seed, p->x, p->w, p->b, terms());
    else
      fill_layer_inputs(seed, p->x, p->w, p->b, terms());
    return p;
  }
  int64_t terms() const { return s_.Cg() * s_.kernel; }
  double ns_per_output() const { return kRefNsPerTerm * static_cast<double>(terms()); }
  bool fits(const ref::Conv1dShape& s) const {
    return fits_full_check(static_cast<double>(s.output_size()), ns_per_output());
  }
  // Output positions whose window reads padding at each end, at least one (no rows: a length).
  static EdgeDepth padded_ends(const ref::Conv1dShape& s) {
    const int64_t span = (s.kernel - 1) * s.dilation + 1, Lo = s.Lout();
    const int64_t leading = std::max<int64_t>(1, (s.pad + s.stride - 1) / s.stride);
    // The first output whose window ends past the input.
    const int64_t first_reading_pad = s.L + s.pad >= span ? (s.L + s.pad - span) / s.stride + 1 : 0;
    const int64_t trailing = std::max<int64_t>(1, Lo - first_reading_pad);
    return {0, 0, std::min(leading, Lo), std::min(trailing, Lo)};
  }

  std::string name_;
  ref::Conv1dShape s_;
  bool quick_;
  Inputs inputs_;
  std::vector<int64_t> batches_;
};

// Shorthand for the shapes below, in the policy's names (include/modebench/policy.hpp).
ShapeSpec conv1d(std::string name, int64_t c, int64_t k, int64_t length, int64_t kernel, int64_t stride,
                 int64_t padding, int64_t dilation, int64_t groups, std::vector<int64_t> batches,
                 Inputs inputs = Inputs::random) {
  return {std::move(name),
          {{"in_channels", c},
           {"out_channels", k},
           {"length", length},
           {"kernel", kernel},
           {"stride", stride},
           {"padding", padding},
           {"dilation", dilation},
           {"groups", groups}},
          std::move(batches),
          inputs};
}

// Validation shapes (docs/ops.md, "Validation shapes"): odd lengths; stride 2 whose last
// window reads the far padding (21 with kernel 7, padding 3), and stride 2 that leaves input
// unread (10 with kernel 3, no padding: oneDNN's right padding would be negative); dilation
// (XTTS's 3 and 5, a window wider than the input, one output); groups and depthwise; kernel 1
// (im2col skipped) and length 1; 448 terms per output; batch 1 (im2col splits positions
// across threads) and odd; inputs over a wide range.
const std::vector<ShapeSpec>& conv1d_validation_shapes() {
  static const std::vector<ShapeSpec> shapes{
      conv1d("v_k3_5to7_L13", 5, 7, 13, 3, 1, 1, 1, 1, {1, 3}),
      conv1d("v_k7_s2_p3_4to6_L21", 4, 6, 21, 7, 2, 3, 1, 1, {1, 2}),
      conv1d("v_k5_s2_p2_3to8_L10", 3, 8, 10, 5, 2, 2, 1, 1, {1}),
      conv1d("v_k3_s2_p0_4to4_L10", 4, 4, 10, 3, 2, 0, 1, 1, {1, 3}),
      conv1d("v_k3_d3_p3_6to6_L17", 6, 6, 17, 3, 1, 3, 3, 1, {1, 3}),
      conv1d("v_k11_d5_p25_8to8_L40", 8, 8, 40, 11, 1, 25, 5, 1, {1}),
      conv1d("v_k3_d2_s2_p1_4to5_L15", 4, 5, 15, 3, 2, 1, 2, 1, {1}),
      conv1d("v_k5_d2_3to2_L9", 3, 2, 9, 5, 1, 0, 2, 1, {1, 2}),
      conv1d("v_k3_g2_6to4_L12", 6, 4, 12, 3, 1, 0, 1, 2, {1, 3}),
      conv1d("v_dw_k5_p2_8_L29", 8, 8, 29, 5, 1, 2, 1, 8, {1, 2}),
      conv1d("v_k1_17to9_L7", 17, 9, 7, 1, 1, 0, 1, 1, {1, 5}),
      conv1d("v_k1_s2_8to3_L9", 8, 3, 9, 1, 2, 0, 1, 1, {1}),
      conv1d("v_k3_p1_4to4_L1", 4, 4, 1, 3, 1, 1, 1, 1, {1, 3}),
      conv1d("v_k1_4to4_L1", 4, 4, 1, 1, 1, 0, 1, 1, {1}),
      conv1d("v_k7_p3_64to16_L9", 64, 16, 9, 7, 1, 3, 1, 1, {1}),
      conv1d("v_k3_16to8_L24_wide_range", 16, 8, 24, 3, 1, 1, 1, 1, {1, 2}, Inputs::structured),
      conv1d("v_dw_k7_d3_p9_8_L20_wide_range", 8, 8, 20, 7, 1, 9, 3, 8, {1}, Inputs::structured),
  };
  return shapes;
}

}  // namespace

std::unique_ptr<OpCase> make_conv1d_case(const ShapeSpec& s) {
  if (s.inputs == Inputs::flat) throw std::invalid_argument("conv1d shape " + s.name + ": no flat inputs");
  const ref::Conv1dShape shape{1,
                               s.dim("in_channels"),
                               s.dim("length"),
                               s.dim("out_channels"),
                               s.dim("kernel"),
                               s.dim("stride", 1),
                               s.dim("padding", 0),
                               s.dim("dilation", 1),
                               s.dim("groups", 1)};
  if (!shape.valid())
    throw std::invalid_argument("conv1d shape " + s.name +
                                ": not a convolution (every dimension positive, padding at least 0, groups dividing "
                                "the channels, the dilated kernel no longer than the padded length)");
  return std::make_unique<Conv1dCase>(s.name, shape, kOnednnFrom, true, s.inputs, s.batches);
}

void register_conv1d(Registry& r) {
  // The Conv1d layers of XTTS v2 (docs/ops.md, "conv1d cases"): {N, C, L, K, kernel, stride,
  // padding, dilation, groups}, N the batch axis. The HiFi-GAN decoder on one 20-latent
  // streaming chunk (87 frames after conv_pre's interpolation, x8 x8 x2 x2 by the upsamplers),
  // and the GPT conditioning encoder's attention qkv on a 4 s reference chunk (345 mel frames).
  // The quick profile runs the first two. The third argument: the batch from which oneDNN beat
  // im2col here (2 threads, batches 1, 8, 32; docs/ops.md): im2col won at B = 1 on all but
  // conv_pre, oneDNN from B = 8 on all but the 256-channel k3 layer.
  auto add = [&r](const char* name, ref::Conv1dShape s, int64_t onednn_from, bool quick) {
    r.add(std::make_unique<Conv1dCase>(name, s, onednn_from, quick));
  };
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  add("xtts_hifigan_pre", {1, 1024, 87, 512, 7, 1, 3, 1, 1}, 1, true);
  add("xtts_hifigan_s3_k3_d3", {1, 32, 22272, 32, 3, 1, 3, 3, 1}, 8, true);
  add("xtts_hifigan_s0_k3_d1", {1, 256, 696, 256, 3, 1, 1, 1, 1}, kNever, false);
  add("xtts_hifigan_s0_k11_d5", {1, 256, 696, 256, 11, 1, 25, 5, 1}, 8, false);
  add("xtts_hifigan_s1_k7_d3", {1, 128, 5568, 128, 7, 1, 9, 3, 1}, 8, false);
  add("xtts_hifigan_s2_k11_d1", {1, 64, 11136, 64, 11, 1, 5, 1, 1}, 8, false);
  add("xtts_hifigan_post", {1, 32, 22272, 1, 7, 1, 3, 1, 1}, 8, false);
  add("xtts_cond_qkv", {1, 1024, 345, 3072, 1, 1, 0, 1, 1}, 8, false);
  for (const ShapeSpec& s : conv1d_validation_shapes()) r.add_validation(s, make_conv1d_case(s));
  r.add_shape_factory("conv1d", make_conv1d_case);
}

}  // namespace mb
