#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cpu_ref/checked_size.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "ops/conv2d/conv2d.hpp"

namespace mb {
namespace {

// Images [begin, end) of a problem: their shape and where their x and y start.
// Every impl computes such a range (the whole batch outside hybrid cached).
struct Images {
  Images(Conv2dProblem& p, RowRange r)
      : s(p.shape),
        x(p.x.data() + r.begin * p.shape.C * p.shape.H * p.shape.W),
        y(p.y.data() + r.begin * p.shape.K * p.shape.P() * p.shape.Q()) {
    s.N = r.end - r.begin;
  }
  ref::Conv2dShape s;
  const float* x;
  float* y;
};

class OnednnInstance : public Instance {
 public:
  OnednnInstance(Conv2dProblem& p, Images r, cpu::ActivationLayout layout)
      : r_(r), conv_(p.w.data(), p.b.data(), kernel_shape(r.s), layout) {}
  void run() override { conv_.run(r_.x, r_.y); }
  std::string label() const override {
    return "math=fp32;weights=packed;onednn_impl=" + conv_.impl_info() + ";reorder=" + conv_.reorders();
  }

 private:
  Images r_;
  cpu::OnednnConv2d conv_;
};

class Im2colInstance : public Instance {
 public:
  Im2colInstance(Conv2dProblem& p, Images r) : p_(p), r_(r), conv_(kernel_shape(r.s)) {}
  void run() override { conv_.run(r_.x, p_.w.data(), p_.b.data(), r_.y); }
  std::string label() const override {
    return conv_.skips_im2col() ? "math=fp32;blas=sgemm;im2col=skipped_1x1" : "math=fp32;blas=sgemm";
  }

 private:
  Conv2dProblem& p_;
  Images r_;
  cpu::Im2colConv2d conv_;
};

class DepthwiseInstance : public Instance {
 public:
  DepthwiseInstance(Conv2dProblem& p, Images r) : p_(p), r_(r), s_(kernel_shape(r.s)) {}
  void run() override { cpu::conv2d_depthwise(r_.x, p_.w.data(), p_.b.data(), r_.y, s_); }
  std::string label() const override { return "math=fp32;kernel=direct;isa=" + cpu::conv2d_depthwise_isa(); }

 private:
  Conv2dProblem& p_;
  Images r_;
  cpu::Conv2dShape s_;
};

// Tolerances in the error metric of docs/ops.md ("Tolerances"; tests/test_tolerances.cpp
// measures them). fp32 as linear: every correct summation order (im2col + GEMM, direct,
// FFT) stays below 2.7e-7, so 2e-6 rejects TF32 (>= 1.6e-4 here) by 80x.
constexpr double kStrictTolerance = 2e-6;
// Where cuDNN may pick Winograd in fp32 (3x3, stride 1) its transforms lose more, and like
// TF32's rounding their error shrinks like 1/sqrt(terms). Measured against the transform scale
// of stride-1 shapes (TransformScale below), F(6x6,3x3) emulated on the host reaches
// 1.1e-5/sqrt(terms) on the validation shapes (random and wide-range inputs alike; F(4x4) 7.4e-6):
// 7.5e-5/sqrt(terms) leaves 6.7x room (7.6x on the wide range) and rejects TF32 under strict math
// by >= 9x. (4e-4 against the window's magnitude sum passed F(6x6) on random inputs and failed it
// by up to 0.13 on a wide range.)
constexpr double kWinogradToleranceTimesSqrtTerms = 7.5e-5;
// TF32 as linear: 0.016 / sqrt(terms per output), terms = C/groups * R * S.
constexpr double kTf32ToleranceTimesSqrtTerms = 0.016;
// Reference cost of one output per window term (cpu_ref conv2d_at on the dev box: 5-8.5 ns).
constexpr double kRefNsPerTerm = 8.0;

class Conv2dCase : public CaseOf<Conv2dProblem> {
 public:
  // `best` is the fastest host impl of this case as measured on the dev box (see register_conv2d).
  // `batches` (a validation shape's) replaces both profiles' batches when not empty.
  Conv2dCase(std::string name, ref::Conv2dShape s, const std::string& best, Inputs inputs = Inputs::random,
             std::vector<int64_t> batches = {})
      : name_(std::move(name)), s_(s), inputs_(inputs), batches_(std::move(batches)) {
    auto best_here = [best](const std::string& impl) { return [is_best = impl == best](int64_t) { return is_best; }; };
    // oneDNN twice: which activation layout wins depends on the shape (kernels/cpu/conv2d.hpp).
    add_host_impl("onednn",
                  [](Conv2dProblem& p, RowRange r) {
                    return std::make_unique<OnednnInstance>(p, Images(p, r), cpu::ActivationLayout::primitive_choice);
                  },
                  {.splits_rows = true, .best_for = best_here("onednn")});
    add_host_impl("onednn_nchw",
                  [](Conv2dProblem& p, RowRange r) {
                    return std::make_unique<OnednnInstance>(p, Images(p, r), cpu::ActivationLayout::caller_nchw);
                  },
                  {.splits_rows = true, .best_for = best_here("onednn_nchw")});
    add_host_impl("im2col",
                  [](Conv2dProblem& p, RowRange r) { return std::make_unique<Im2colInstance>(p, Images(p, r)); },
                  {.plain = true, .splits_rows = true, .best_for = best_here("im2col")});
    // The direct depthwise kernel is listed only where it applies.
    if (cpu::is_depthwise(kernel_shape(s_)))
      add_host_impl("depthwise",
                    [](Conv2dProblem& p, RowRange r) { return std::make_unique<DepthwiseInstance>(p, Images(p, r)); },
                    {.splits_rows = true, .best_for = best_here("depthwise")});
    add_device_impl("cudnn", Precision::fp32,
                    MB_CUDA_ONLY([](Conv2dProblem& p, Device& d) { return make_cudnn_conv2d(p, d, Precision::fp32); }),
                    MB_CUDA_ONLY(conv2d_gpu_kernels), {"cudnn"});
    add_device_impl("cudnn_tf32", Precision::tf32,
                    MB_CUDA_ONLY([](Conv2dProblem& p, Device& d) { return make_cudnn_conv2d(p, d, Precision::tf32); }),
                    MB_CUDA_ONLY(conv2d_gpu_kernels), {"cudnn"});
    // at::conv2d in the user's torch (ops/conv2d/torch.cpp, modebench-torch).
    for (Placement where : {Placement::host, Placement::device}) add_provider_impl("torch", where, "torch");
    for (const char* hybrid : {"torch_naive", "torch_cached"}) add_provider_impl(hybrid, Placement::hybrid, "torch");
  }
  std::string op() const override { return "conv2d"; }
  std::string name() const override { return name_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (!batches_.empty()) return batches_;
    if (p == Profile::quick) return {1, 8, 32};
    std::vector<int64_t> b;
    for (int64_t v = 1; v <= 256; v *= 2) b.push_back(v);
    return b;
  }
  double flops(int64_t batch) const override {
    const auto s = at(batch);
    return 2.0 * static_cast<double>(s.output_size()) * static_cast<double>(s.Cg() * s.R * s.S);
  }
  double bytes(int64_t batch) const override {
    const auto s = at(batch);
    return 4.0 * static_cast<double>(checked_sum({s.input_size(), s.weight_size(), s.K, s.output_size()}));
  }
  double tolerance(Precision precision) const override {
    const double sqrt_terms = std::sqrt(static_cast<double>(terms()));
    const bool winograd = s_.R == 3 && s_.S == 3 && s_.stride == 1;
    const double strict =
        winograd ? std::max(kStrictTolerance, kWinogradToleranceTimesSqrtTerms / sqrt_terms) : kStrictTolerance;
    if (precision == Precision::fp32) return strict;
    return std::max(strict, kTf32ToleranceTimesSqrtTerms / sqrt_terms);
  }
  // The same channels, kernel, stride, padding and groups checked in full: the largest
  // power-of-two batch of at least 2 (first and last image differ) below `batch` at the
  // case's image size, else 2 images with height and width halved until they fit.
  std::optional<ReducedRun> reduced_run(int64_t batch, uint64_t seed) const override {
    ref::Conv2dShape s = at(std::min<int64_t>(batch, 2));
    while (s.N * 2 < batch && fits(at(s.N * 2))) s = at(s.N * 2);
    while (!fits(s) && (s.H + 1) / 2 + 2 * s.pad >= s.R && (s.W + 1) / 2 + 2 * s.pad >= s.S) {
      s.H = (s.H + 1) / 2;
      s.W = (s.W + 1) / 2;
    }
    const bool same_image = s.H == s_.H && s.W == s_.W;
    if (same_image && s.N >= batch) return std::nullopt;  // no smaller run than the entry itself
    return ReducedRun{make_at(s, seed),
                      std::to_string(s.N) + (same_image ? "" : ":" + std::to_string(s.H) + "x" + std::to_string(s.W)),
                      nullptr};
  }

 protected:
  std::unique_ptr<Conv2dProblem> make(int64_t batch, uint64_t seed) const override { return make_at(at(batch), seed); }

  // Sampled: in the first and the last image, the edges of every output channel: each row
  // and column whose window reads padding, and at least the first and last row and column
  // (<= 2 * K * 2 * (P + Q) outputs for one-deep edges), plus the random ones.
  Validation check(Conv2dProblem& p, Precision precision) const override {
    const auto& s = p.shape;
    const int64_t P = s.P(), Q = s.Q();
    const CheckSet set(p.y.size(), ns_per_output(), [&] { return plane_edges(s.N, s.K, P, Q, padded_edges(s)); });
    const TransformScale fast = transform_scale(p);
    return validate_against(p.y, tolerance(precision), set, [&](size_t idx) {
      const auto i = static_cast<int64_t>(idx);
      const int64_t q = i % Q, pp = (i / Q) % P, k = (i / (P * Q)) % s.K, n = i / (P * Q * s.K);
      RefValue r = ref::conv2d_at(p.x.data(), p.w.data(), p.b.data(), s, n, k, pp, q);
      if (!fast.x_max.empty())
        r.magnitude = std::max(r.magnitude, fast.x_max[static_cast<size_t>(n * s.groups + k / s.Kg())] *
                                                    fast.w_sum[static_cast<size_t>(k)] +
                                                std::fabs(static_cast<double>(p.b[static_cast<size_t>(k)])));
      return r;
    });
  }

 private:
  ref::Conv2dShape at(int64_t batch) const {
    ref::Conv2dShape s = s_;
    s.N = batch;
    return s;
  }
  std::unique_ptr<Conv2dProblem> make_at(const ref::Conv2dShape& s, uint64_t seed) const {
    auto p = std::make_unique<Conv2dProblem>(s);
    if (inputs_ == Inputs::structured)
      fill_layer_inputs_wide(seed, p->x, p->w, p->b, terms());
    else
      fill_layer_inputs(seed, p->x, p->w, p->b, terms());
    return p;
  }
  int64_t terms() const { return s_.Cg() * s_.R * s_.S; }
  // Where cuDNN may pick FFT or Winograd (stride 1), an output's error scale is also the largest
  // |input| of its image's group times the sum of its filter's |weights| (docs/ops.md, "conv2d"):
  // those algorithms transform whole tiles (FFT: the plane), so their rounding is relative to the
  // largest values there, not to the output's own window. Empty elsewhere.
  struct TransformScale {
    std::vector<double> x_max;  // [image][group]
    std::vector<double> w_sum;  // [output channel]
  };
  static TransformScale transform_scale(const Conv2dProblem& p) {
    const auto& s = p.shape;
    TransformScale t;
    if (s.stride != 1) return t;
    const int64_t plane = s.H * s.W, per_group = s.Cg() * plane, filter = s.Cg() * s.R * s.S;
    t.x_max.assign(static_cast<size_t>(s.N * s.groups), 0.0);
    for (size_t i = 0; i < t.x_max.size(); ++i)
      for (int64_t j = 0; j < per_group; ++j)
        t.x_max[i] = std::max(t.x_max[i], std::fabs(static_cast<double>(p.x[i * per_group + j])));
    t.w_sum.assign(static_cast<size_t>(s.K), 0.0);
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t j = 0; j < filter; ++j)
        t.w_sum[static_cast<size_t>(k)] += std::fabs(static_cast<double>(p.w[k * filter + j]));
    return t;
  }
  double ns_per_output() const { return kRefNsPerTerm * static_cast<double>(terms()); }
  bool fits(const ref::Conv2dShape& s) const {
    return fits_full_check(static_cast<double>(s.output_size()), ns_per_output());
  }
  // Output rows (columns) whose window reads padding at each edge, at least one.
  static EdgeDepth padded_edges(const ref::Conv2dShape& s) {
    const int64_t leading = std::max<int64_t>(1, (s.pad + s.stride - 1) / s.stride);
    auto trailing = [&](int64_t in, int64_t kernel, int64_t out) {
      const int64_t first_reading_pad = (in + s.pad - kernel) / s.stride + 1;  // its window ends past the input
      return std::max<int64_t>(1, out - first_reading_pad);
    };
    return {leading, trailing(s.H, s.R, s.P()), leading, trailing(s.W, s.S, s.Q())};
  }

  std::string name_;
  ref::Conv2dShape s_;
  Inputs inputs_;
  std::vector<int64_t> batches_;
};

// Shorthands for the validation shapes below (policy names, include/modebench/policy.hpp).
ShapeSpec conv(std::string name, int64_t c, int64_t k, int64_t h, int64_t w, int64_t r, int64_t s, int64_t stride,
               int64_t pad, int64_t groups, std::vector<int64_t> batches, Inputs inputs = Inputs::random) {
  return {std::move(name),
          {{"in_channels", c},
           {"out_channels", k},
           {"height", h},
           {"width", w},
           {"kernel_h", r},
           {"kernel_w", s},
           {"stride_h", stride},
           {"stride_w", stride},
           {"pad_h", pad},
           {"pad_w", pad},
           {"groups", groups}},
          std::move(batches),
          inputs};
}

// Validation shapes (docs/ops.md, "Validation shapes"): every tail and edge of the host
// kernels. Depthwise: output widths 29, 33 (3x3) and 12, 61 (5x3 and 3x5: the generic tap
// loops) give each vector target's 2-row x 2-vector tile, single vector and masked tail in both
// instantiations (61 = 32 + 16 + 13 = 48 + 8 + 5 = 56 + 4 + 1 at 16, 8, 4 lanes), 9 at stride 2 (the strided
// loops; 3x3 and 5x5), 1x1 images; odd row counts leave a row outside the 2-row tiles. Dense: odd channels, stride 2
// with padding on odd sizes (the window of the last row and column reads the bottom and right padding), groups, 1x1
// (im2col skipped) and 1x1 images, 576 terms per output (resnet's reduction); batch 1
// (im2col splits columns across threads; 2x4 outputs leave 3 of 7 threads' chunks empty) and odd.
const std::vector<ShapeSpec>& conv2d_validation_shapes() {
  static const std::vector<ShapeSpec> shapes{
      conv("v_dw_3x3_9x29", 5, 5, 9, 29, 3, 3, 1, 1, 5, {1, 3}),
      conv("v_dw_5x3_7x12", 4, 4, 7, 12, 5, 3, 1, 1, 4, {2}),
      conv("v_dw_3x5_7x63", 2, 2, 7, 63, 3, 5, 1, 1, 2, {1}),
      conv("v_dw_5x5_s2_p2_11x21", 3, 3, 11, 21, 5, 5, 2, 2, 3, {1}),
      conv("v_dw_3x3_s2_17x17", 6, 6, 17, 17, 3, 3, 2, 1, 6, {1, 3}),
      conv("v_dw_3x3_1x1", 3, 3, 1, 1, 3, 3, 1, 1, 3, {1, 2}),
      conv("v_dw_3x3_s1_p0_6x35", 2, 2, 6, 35, 3, 3, 1, 0, 2, {1}),
      conv("v_3x3_5to7_11x13", 5, 7, 11, 13, 3, 3, 1, 1, 1, {1, 3}),
      conv("v_3x3_64to16_6x7", 64, 16, 6, 7, 3, 3, 1, 1, 1, {1}),
      conv("v_3x3_3to2_2x4", 3, 2, 2, 4, 3, 3, 1, 1, 1, {1}),
      conv("v_3x3_s2_3to8_15x15", 3, 8, 15, 15, 3, 3, 2, 1, 1, {1, 2}),
      conv("v_5x5_s2_p2_4to6_9x10", 4, 6, 9, 10, 5, 5, 2, 2, 1, {1}),
      conv("v_3x3_g2_6to4_10x10", 6, 4, 10, 10, 3, 3, 1, 0, 2, {1, 3}),
      conv("v_1x1_17to9_7x7", 17, 9, 7, 7, 1, 1, 1, 0, 1, {1, 5}),
      conv("v_1x1_s2_8to3_9x9", 8, 3, 9, 9, 1, 1, 2, 0, 1, {1}),
      conv("v_1x1_4to4_1x1", 4, 4, 1, 1, 1, 1, 1, 0, 1, {1, 3}),
      conv("v_3x3_16to8_12x12_wide_range", 16, 8, 12, 12, 3, 3, 1, 1, 1, {1, 2}, Inputs::structured),
      conv("v_dw_3x3_8x20_wide_range", 8, 8, 8, 20, 3, 3, 1, 1, 8, {1}, Inputs::structured),
  };
  return shapes;
}

}  // namespace

std::unique_ptr<OpCase> make_conv2d_case(const ShapeSpec& s) {
  if (s.inputs == Inputs::flat) throw std::invalid_argument("conv2d shape " + s.name + ": no flat inputs");
  const int64_t stride = s.dim("stride_h", 1), pad = s.dim("pad_h", 0);
  if (s.dim("stride_w", stride) != stride || s.dim("pad_w", pad) != pad)
    throw std::invalid_argument("conv2d shape " + s.name + ": the cases take one stride and one padding for h and w");
  const ref::Conv2dShape shape{1,
                               s.dim("in_channels"),
                               s.dim("height"),
                               s.dim("width"),
                               s.dim("out_channels"),
                               s.dim("kernel_h"),
                               s.dim("kernel_w"),
                               stride,
                               pad,
                               s.dim("groups", 1)};
  return std::make_unique<Conv2dCase>(s.name, shape, "im2col", s.inputs, s.batches);
}

void register_conv2d(Registry& r) {
  // Shapes of docs/ops.md: {N, C, H, W, K, R, S, stride, pad, groups}; N is the batch axis.
  // The last argument is the fastest cpu impl measured here with 2 threads on an idle
  // machine (quick profile, every batch, 3 processes): oneDNN in its blocked layout 1.2-1.3x
  // oneDNN on NCHW for resnet; oneDNN on NCHW 2.3-4.1x the blocked layout on pointwise and
  // 1.4-1.9x on the stem; the direct depthwise kernel 1.5-2.2x oneDNN and ~20x im2col.
  r.add(std::make_unique<Conv2dCase>("resnet_3x3", ref::Conv2dShape{1, 64, 56, 56, 64, 3, 3, 1, 1, 1}, "onednn"));
  r.add(std::make_unique<Conv2dCase>("mbv2_depthwise", ref::Conv2dShape{1, 144, 56, 56, 144, 3, 3, 1, 1, 144},
                                     "depthwise"));
  r.add(std::make_unique<Conv2dCase>("mbv2_pointwise", ref::Conv2dShape{1, 96, 56, 56, 24, 1, 1, 1, 0, 1},
                                     "onednn_nchw"));
  r.add(std::make_unique<Conv2dCase>("mbv2_stem", ref::Conv2dShape{1, 3, 224, 224, 32, 3, 3, 2, 1, 1}, "onednn_nchw"));
  r.add_shape_factory("conv2d", make_conv2d_case);
  for (const ShapeSpec& s : conv2d_validation_shapes()) r.add_validation(s, make_conv2d_case(s));
}

}  // namespace mb
