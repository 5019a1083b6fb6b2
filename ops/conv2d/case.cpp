#include "ops/conv2d/conv2d.hpp"

#include <cmath>

#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/status.hpp"
#include "harness/validate.hpp"
#include "kernels/cpu/conv2d.hpp"

namespace mb {
namespace {

// Images [begin, end) of a problem: their shape and where their x and y start.
// Every impl computes such a range (the whole batch from make_cpu).
struct Images {
  Images(Conv2dProblem& p, int64_t begin, int64_t end)
      : s(p.shape),
        x(p.x.data() + begin * p.shape.C * p.shape.H * p.shape.W),
        y(p.y.data() + begin * p.shape.K * p.shape.P() * p.shape.Q()) {
    s.N = end - begin;
  }
  ref::Conv2dShape s;
  const float* x;
  float* y;
};

class OnednnInstance : public Instance {
 public:
  OnednnInstance(Conv2dProblem& p, Images r) : r_(r), conv_(p.w.data(), p.b.data(), r.s) {}
  void run() override { conv_.run(r_.x, r_.y); }
  std::string label() const override {
    return "math=fp32;weights=packed;onednn_impl=" + conv_.impl_info() +
           (conv_.reorders_activations() ? ";layout=nchw-reordered" : ";layout=nchw");
  }

 private:
  Images r_;
  cpu::OnednnConv2d conv_;
};

class Im2colInstance : public Instance {
 public:
  Im2colInstance(Conv2dProblem& p, Images r) : p_(p), r_(r), conv_(r.s) {}
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
  DepthwiseInstance(Conv2dProblem& p, Images r) : p_(p), r_(r) {}
  void run() override { cpu::conv2d_depthwise(r_.x, p_.w.data(), p_.b.data(), r_.y, r_.s); }
  std::string label() const override { return "math=fp32;kernel=direct"; }

 private:
  Conv2dProblem& p_;
  Images r_;
};

class Conv2dCase : public OpCase {
 public:
  // `best` is the fastest cpu impl of this case as measured on the dev box (see register_conv2d).
  Conv2dCase(std::string name, ref::Conv2dShape s, std::string best)
      : name_(std::move(name)), s_(s), best_(std::move(best)) {}
  std::string op() const override { return "conv2d"; }
  std::string name() const override { return name_; }

  std::vector<int64_t> batches(Profile p) const override {
    if (p == Profile::quick) return {1, 8, 32};
    std::vector<int64_t> b;
    for (int64_t v = 1; v <= 256; v *= 2) b.push_back(v);
    return b;
  }
  double flops(int64_t batch) const override {
    const auto s = at(batch);
    return 2.0 * static_cast<double>(s.N * s.K * s.P() * s.Q()) * static_cast<double>(s.Cg() * s.R * s.S);
  }
  double bytes(int64_t batch) const override {
    const auto s = at(batch);
    return 4.0 * static_cast<double>(s.input_size() + s.weight_size() + s.K + s.output_size());
  }

  std::unique_ptr<Problem> make_problem(int64_t batch, uint64_t seed) const override {
    auto p = std::make_unique<Conv2dProblem>(at(batch));
    fill_layer_inputs(seed, p->x, p->w, p->b, s_.Cg() * s_.R * s_.S);
    return p;
  }

  Validation validate(Problem& prob, bool reduced_precision) const override {
    auto& p = static_cast<Conv2dProblem&>(prob);
    const auto& s = p.shape;
    const int64_t P = s.P(), Q = s.Q();
    return validate_against(p.y, reduced_precision, [&](size_t idx) {
      const auto i = static_cast<int64_t>(idx);
      const int64_t q = i % Q, pp = (i / Q) % P, k = (i / (P * Q)) % s.K, n = i / (P * Q * s.K);
      return ref::conv2d_at(p.x.data(), p.w.data(), p.b.data(), s, n, k, pp, q);
    });
  }

  // The depthwise kernel is listed only where it applies.
  std::vector<std::string> cpu_impls() const override {
    if (cpu::is_depthwise(s_)) return {"onednn", "im2col", "depthwise"};
    return {"onednn", "im2col"};
  }
  std::vector<std::string> gpu_impls() const override { return {"cudnn", "cudnn_tf32"}; }
  std::string best_cpu_impl(int64_t) const override { return best_; }
  std::string plain_cpu_impl() const override { return "im2col"; }

  std::unique_ptr<Instance> make_cpu(const std::string& impl, Problem& prob) const override {
    return make_cpu_rows(impl, prob, 0, prob.batch());
  }
  std::unique_ptr<Instance> make_cpu_rows(const std::string& impl, Problem& prob, int64_t begin,
                                          int64_t end) const override {
    auto& p = static_cast<Conv2dProblem&>(prob);
    const Images r(p, begin, end);
    if (impl == "onednn") return std::make_unique<OnednnInstance>(p, r);
    if (impl == "im2col") return std::make_unique<Im2colInstance>(p, r);
    if (impl == "depthwise") {
      if (!cpu::is_depthwise(p.shape)) throw Unavailable("depthwise applies only to groups == channels");
      return std::make_unique<DepthwiseInstance>(p, r);
    }
    throw BadInput("conv2d has no cpu impl '" + impl + "'");
  }
  std::unique_ptr<Instance> make_gpu(const std::string& impl, Problem& prob, Device& dev) const override {
    return make_conv2d_gpu(impl, static_cast<Conv2dProblem&>(prob), dev);
  }

 private:
  ref::Conv2dShape at(int64_t batch) const {
    ref::Conv2dShape s = s_;
    s.N = batch;
    return s;
  }

  std::string name_;
  ref::Conv2dShape s_;
  std::string best_;
};

}  // namespace

void register_conv2d(Registry& r) {
  // Shapes of ops.md: {N, C, H, W, K, R, S, stride, pad, groups}; N is the batch axis.
  // The last argument is the fastest cpu impl measured here with 2 threads on an idle
  // machine (quick profile): oneDNN 1.6-2.2x im2col on pointwise, stem and resnet;
  // the direct depthwise kernel 1.5-2.2x oneDNN and ~20x im2col.
  r.add(std::make_unique<Conv2dCase>("resnet_3x3", ref::Conv2dShape{1, 64, 56, 56, 64, 3, 3, 1, 1, 1}, "onednn"));
  r.add(std::make_unique<Conv2dCase>("mbv2_depthwise", ref::Conv2dShape{1, 144, 56, 56, 144, 3, 3, 1, 1, 144},
                                     "depthwise"));
  r.add(std::make_unique<Conv2dCase>("mbv2_pointwise", ref::Conv2dShape{1, 96, 56, 56, 24, 1, 1, 1, 0, 1}, "onednn"));
  r.add(std::make_unique<Conv2dCase>("mbv2_stem", ref::Conv2dShape{1, 3, 224, 224, 32, 3, 3, 2, 1, 1}, "onednn"));
}

}  // namespace mb
