#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cpu_ref/checked_size.hpp"
#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/linear.hpp"
#include "ops/linear/linear.hpp"

namespace mb {
namespace {

// Both impls compute a range of batch rows of the problem (the whole batch outside hybrid cached).
class OpenblasInstance : public Instance {
 public:
  OpenblasInstance(LinearProblem& p, RowRange r) : p_(p), begin_(r.begin), rows_(r.end - r.begin) {}
  void run() override {
    const auto& s = p_.shape;
    cpu::linear_openblas(p_.x.data() + begin_ * s.in, p_.w.data(), p_.b.data(), p_.y.data() + begin_ * s.out, rows_,
                         s.in, s.out);
  }
  std::string label() const override { return rows_ == 1 ? "math=fp32;blas=sgemv" : "math=fp32;blas=sgemm"; }

 private:
  LinearProblem& p_;
  int64_t begin_, rows_;
};

class OnednnInstance : public Instance {
 public:
  OnednnInstance(LinearProblem& p, RowRange r)
      : p_(p), begin_(r.begin), lin_(p.w.data(), p.b.data(), r.end - r.begin, p.shape.in, p.shape.out) {}
  void run() override { lin_.run(p_.x.data() + begin_ * p_.shape.in, p_.y.data() + begin_ * p_.shape.out); }
  std::string label() const override { return "math=fp32;weights=packed"; }

 private:
  LinearProblem& p_;
  int64_t begin_;
  cpu::OnednnLinear lin_;
};

// Tolerances in the error metric of docs/ops.md ("Tolerances"; tests/test_tolerances.cpp
// measures them). fp32: every correct summation order stays below 2.7e-7 (sequential, the
// worst; blocked and lane orders below 1e-7); TF32 rounding of the inputs makes 1.4e-5 and
// more, so 2e-6 accepts the first with 7x room and rejects the second by 7x.
constexpr double kStrictTolerance = 2e-6;
// TF32: 2^-11 per input rounding makes an error that shrinks like 1/sqrt(terms) against the
// magnitude sum (max measured: 4.5e-3/sqrt(in) truncating, 1.5e-3/sqrt(in) rounding), while
// a missing bias or a dropped term shrinks like 1/in. 0.016/sqrt(in) leaves 3.5x room above
// truncation and stays 3x below a missing bias at in = 4096.
constexpr double kTf32ToleranceTimesSqrtTerms = 0.016;
// Reference cost of one output per reduction term (cpu_ref linear_at on the dev box).
constexpr double kRefNsPerTerm = 1.4;

class LinearCase : public CaseOf<LinearProblem> {
 public:
  // `batches` (a validation shape's) replaces both profiles' batches when not empty.
  LinearCase(std::string name, int64_t in, int64_t out, Inputs inputs = Inputs::random,
             std::vector<int64_t> batches = {})
      : name_(std::move(name)), in_(in), out_(out), inputs_(inputs), batches_(std::move(batches)) {
    // Measured here (bench/overhead/linear_overhead, 2 cores): oneDNN's packed
    // weights win 2x at small batches (B = 8: 68 vs 37 GFLOP/s); OpenBLAS sgemv at
    // B = 1 and sgemm from B = 64 (140 vs 85 GFLOP/s).
    add_host_impl("openblas", [](LinearProblem& p, RowRange r) { return std::make_unique<OpenblasInstance>(p, r); },
                  {.plain = true, .splits_rows = true, .best_for = [](int64_t b) { return b <= 1 || b >= 48; }});
    add_host_impl("onednn", [](LinearProblem& p, RowRange r) { return std::make_unique<OnednnInstance>(p, r); },
                  {.splits_rows = true, .best_for = [](int64_t b) { return b > 1 && b < 48; }});
    add_device_impl("cublas", Precision::fp32,
                    MB_CUDA_ONLY([](LinearProblem& p, Device& d) { return make_cublas_linear(p, d, Precision::fp32); }),
                    MB_CUDA_ONLY(linear_gpu_kernels), {"cublas"});
    add_device_impl("cublas_tf32", Precision::tf32,
                    MB_CUDA_ONLY([](LinearProblem& p, Device& d) { return make_cublas_linear(p, d, Precision::tf32); }),
                    MB_CUDA_ONLY(linear_gpu_kernels), {"cublas"});
    // at::linear in the user's torch (ops/linear/torch.cpp, modebench-torch); the quick profile
    // keeps the main job's time with two of the five shapes (the xtts ones are alike GEMMs).
    const bool quick_case = name_ == "square_1024" || name_ == "mobilenetv2_head";
    const auto quick = [quick_case](int64_t) { return quick_case; };
    for (Placement where : {Placement::host, Placement::device}) add_provider_impl("torch", where, "torch", quick);
    for (const char* hybrid : {"torch_naive", "torch_cached"})
      add_provider_impl(hybrid, Placement::hybrid, "torch", quick);
  }
  std::string op() const override { return "linear"; }
  std::string name() const override { return name_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (!batches_.empty()) return batches_;
    if (p == Profile::quick) return {1, 8, 64, 512};
    std::vector<int64_t> b;
    for (int64_t v = 1; v <= 4096; v *= 2) b.push_back(v);
    return b;
  }
  double flops(int64_t batch) const override { return 2.0 * batch * in_ * out_; }
  double bytes(int64_t batch) const override {
    const int64_t floats = checked_sum(
        {checked_product({batch, in_}), checked_product({out_, in_}), out_, checked_product({batch, out_})});
    return 4.0 * static_cast<double>(floats);
  }
  double tolerance(Precision precision) const override {
    if (precision == Precision::fp32) return kStrictTolerance;
    return std::max(kStrictTolerance, kTf32ToleranceTimesSqrtTerms / std::sqrt(static_cast<double>(in_)));
  }
  // The largest power-of-two batch below `batch` checked in full: a multi-row GEMM like the
  // sampled one (batch 1 runs a GEMV, so it backs nothing).
  std::optional<ReducedRun> reduced_run(int64_t batch, uint64_t seed) const override {
    int64_t small = 1;
    while (small * 2 < batch && fits_full_check(static_cast<double>(small * 2 * out_), ns_per_output())) small *= 2;
    if (small < 2) return std::nullopt;
    return ReducedRun{make(small, seed), std::to_string(small), nullptr};
  }

 protected:
  std::unique_ptr<LinearProblem> make(int64_t batch, uint64_t seed) const override {
    auto p = std::make_unique<LinearProblem>(ref::LinearShape{batch, in_, out_});
    if (inputs_ == Inputs::structured)
      fill_layer_inputs_wide(seed, p->x, p->w, p->b, in_);
    else
      fill_layer_inputs(seed, p->x, p->w, p->b, in_);
    return p;
  }

  // Sampled: the first and last rows of the batch in full and the first and last output
  // feature of every row (<= 2 * (batch + out) outputs), plus the random ones.
  Validation check(LinearProblem& p, Precision precision) const override {
    const CheckSet set(p.y.size(), ns_per_output(), [&] { return plane_edges(1, 1, p.shape.batch, out_); });
    return validate_against(p.y, tolerance(precision), set, [&](size_t idx) {
      const auto i = static_cast<int64_t>(idx) / out_, o = static_cast<int64_t>(idx) % out_;
      return ref::linear_at(p.x.data(), p.w.data(), p.b.data(), p.shape, i, o);
    });
  }

 private:
  double ns_per_output() const { return kRefNsPerTerm * static_cast<double>(in_); }

  std::string name_;
  int64_t in_, out_;
  Inputs inputs_;
  std::vector<int64_t> batches_;
};

// Validation shapes (docs/ops.md, "Validation shapes"): a GEMV and GEMMs whose sizes are no
// multiple of any SIMD width or block (1, 7, 13, 33, 1000), a single dot product, batch 1 and
// odd batches; one with a wide dynamic range.
const std::vector<ShapeSpec>& linear_validation_shapes() {
  static const std::vector<ShapeSpec> shapes{
      {"v_1x1", {{"in_features", 1}, {"out_features", 1}}, {1, 2}},
      {"v_13x7", {{"in_features", 13}, {"out_features", 7}}, {1, 3}},
      {"v_33x17", {{"in_features", 33}, {"out_features", 17}}, {5, 9}},
      {"v_1000x1", {{"in_features", 1000}, {"out_features", 1}}, {1, 7}},
      {"v_257x65_wide_range", {{"in_features", 257}, {"out_features", 65}}, {1, 3}, Inputs::structured},
  };
  return shapes;
}

}  // namespace

std::unique_ptr<OpCase> make_linear_case(const ShapeSpec& s) {
  if (s.inputs == Inputs::flat) throw std::invalid_argument("linear shape " + s.name + ": no flat inputs");
  return std::make_unique<LinearCase>(s.name, s.dim("in_features"), s.dim("out_features"), s.inputs, s.batches);
}

void register_linear(Registry& r) {
  r.add(std::make_unique<LinearCase>("square_1024", 1024, 1024));
  r.add(std::make_unique<LinearCase>("mobilenetv2_head", 1280, 1000));
  r.add(std::make_unique<LinearCase>("xtts_qkv", 1024, 3072));
  r.add(std::make_unique<LinearCase>("xtts_mlp_up", 1024, 4096));
  r.add(std::make_unique<LinearCase>("xtts_mlp_down", 4096, 1024));
  r.add_shape_factory("linear", make_linear_case);
  for (const ShapeSpec& s : linear_validation_shapes()) r.add_validation(s, make_linear_case(s));
}

}  // namespace mb
