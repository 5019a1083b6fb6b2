#include "ops/linear/linear.hpp"

#include <cmath>

#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/linear.hpp"

namespace mb {
namespace {

// Both impls compute rows [begin, end) of the problem (the whole batch from make_cpu).
class OpenblasInstance : public Instance {
 public:
  OpenblasInstance(LinearProblem& p, int64_t begin, int64_t end) : p_(p), begin_(begin), rows_(end - begin) {}
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
  OnednnInstance(LinearProblem& p, int64_t begin, int64_t end)
      : p_(p), begin_(begin), lin_(p.w.data(), p.b.data(), end - begin, p.shape.in, p.shape.out) {}
  void run() override { lin_.run(p_.x.data() + begin_ * p_.shape.in, p_.y.data() + begin_ * p_.shape.out); }
  std::string label() const override { return "math=fp32;weights=packed"; }

 private:
  LinearProblem& p_;
  int64_t begin_;
  cpu::OnednnLinear lin_;
};

class LinearCase : public OpCase {
 public:
  LinearCase(std::string name, int64_t in, int64_t out) : name_(std::move(name)), in_(in), out_(out) {}
  std::string op() const override { return "linear"; }
  std::string name() const override { return name_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (p == Profile::quick) return {1, 8, 64, 512};
    std::vector<int64_t> b;
    for (int64_t v = 1; v <= 4096; v *= 2) b.push_back(v);
    return b;
  }
  double flops(int64_t batch) const override { return 2.0 * batch * in_ * out_; }
  double bytes(int64_t batch) const override { return 4.0 * (batch * in_ + out_ * in_ + out_ + batch * out_); }

  std::unique_ptr<Problem> make_problem(int64_t batch, uint64_t seed) const override {
    auto p = std::make_unique<LinearProblem>(ref::LinearShape{batch, in_, out_});
    fill_layer_inputs(seed, p->x, p->w, p->b, in_);
    return p;
  }

  Validation validate(Problem& prob, bool reduced_precision) const override {
    auto& p = static_cast<LinearProblem&>(prob);
    return validate_against(p.y, reduced_precision, [&](size_t idx) {
      const auto i = static_cast<int64_t>(idx) / out_, o = static_cast<int64_t>(idx) % out_;
      return ref::linear_at(p.x.data(), p.w.data(), p.b.data(), p.shape, i, o);
    });
  }

  std::vector<std::string> cpu_impls() const override { return {"openblas", "onednn"}; }
  std::vector<std::string> gpu_impls() const override { return {"cublas", "cublas_tf32"}; }
  // Measured here (bench/overhead/linear_overhead, 2 cores): oneDNN's packed
  // weights win 2x at small batches (B = 8: 68 vs 37 GFLOP/s); OpenBLAS sgemv at
  // B = 1 and sgemm from B = 64 (140 vs 85 GFLOP/s).
  std::string best_cpu_impl(int64_t batch) const override { return batch > 1 && batch < 48 ? "onednn" : "openblas"; }
  std::string plain_cpu_impl() const override { return "openblas"; }

  std::unique_ptr<Instance> make_cpu(const std::string& impl, Problem& prob) const override {
    return make_cpu_rows(impl, prob, 0, prob.batch());
  }
  std::unique_ptr<Instance> make_cpu_rows(const std::string& impl, Problem& prob, int64_t begin,
                                          int64_t end) const override {
    auto& p = static_cast<LinearProblem&>(prob);
    if (impl == "openblas") return std::make_unique<OpenblasInstance>(p, begin, end);
    if (impl == "onednn") return std::make_unique<OnednnInstance>(p, begin, end);
    throw BadInput("linear has no cpu impl '" + impl + "'");
  }
  std::unique_ptr<Instance> make_gpu(const std::string& impl, Problem& prob, Device& dev) const override {
    return make_linear_gpu(impl, static_cast<LinearProblem&>(prob), dev);
  }

 private:
  std::string name_;
  int64_t in_, out_;
};

}  // namespace

void register_linear(Registry& r) {
  r.add(std::make_unique<LinearCase>("square_1024", 1024, 1024));
  r.add(std::make_unique<LinearCase>("mobilenetv2_head", 1280, 1000));
  r.add(std::make_unique<LinearCase>("xtts_qkv", 1024, 3072));
  r.add(std::make_unique<LinearCase>("xtts_mlp_up", 1024, 4096));
  r.add(std::make_unique<LinearCase>("xtts_mlp_down", 4096, 1024));
}

}  // namespace mb
