#pragma once
// linear (torch.nn.functional.linear): the problem of one (case, batch) and the device
// impls' factories (gpu.cpp, CUDA builds only). The cases and the impl table: case.cpp.
#include <memory>
#include <vector>

#include "cpu_ref/checked_size.hpp"
#include "cpu_ref/linear.hpp"
#include "harness/device/device.hpp"
#include "harness/op_case.hpp"

namespace mb {

struct LinearProblem : Problem {
  LinearProblem(const ref::LinearShape& s)
      : Problem(s.batch),
        shape(s),
        x(checked_product({s.batch, s.in})),
        w(checked_product({s.out, s.in})),
        b(s.out),
        y(checked_product({s.batch, s.out})) {}
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

// A linear case of a shape (in_features, out_features; docs/ops.md, "Validation shapes").
std::unique_ptr<OpCase> make_linear_case(const ShapeSpec& s);

// cuBLAS SGEMM, strict fp32 or with TF32 allowed (gpu.cpp).
std::unique_ptr<Instance> make_cublas_linear(LinearProblem& p, Device& dev, Precision precision);
std::vector<KernelRef> linear_gpu_kernels();

}  // namespace mb
