#pragma once
// linear (torch.nn.functional.linear): one case struct per shape of ops.md.
#include <vector>

#include "cpu_ref/linear.hpp"
#include "harness/op_case.hpp"

namespace mb {

struct LinearProblem : Problem {
  LinearProblem(const ref::LinearShape& s)
      : Problem(s.batch), shape(s), x(s.batch * s.in), w(s.out * s.in), b(s.out), y(s.batch * s.out) {}
  std::vector<TensorRef> tensors() override {
    return {{"x", Role::input, x.data(), x.size()},
            {"w", Role::weight, w.data(), w.size()},
            {"b", Role::weight, b.data(), b.size()},
            {"y", Role::output, y.data(), y.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<LinearProblem>(*this); }

  ref::LinearShape shape;
  std::vector<float> x, w, b, y;
};

// GPU impls of linear (harness/cuda/linear_gpu.cpp, CUDA builds only).
std::unique_ptr<Instance> make_linear_gpu(const std::string& impl, LinearProblem& p, Device& dev);

}  // namespace mb
