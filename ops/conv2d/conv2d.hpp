#pragma once
// conv2d (torch.nn.functional.conv2d): the problem of one (case, batch) and the device
// impls' factories (gpu.cpp, CUDA builds only). The cases and the impl table: case.cpp.
#include <memory>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "harness/device/device.hpp"
#include "harness/op_case.hpp"
#include "kernels/cpu/conv2d.hpp"

namespace mb {

// The host kernels' view of a case's shape: the same numbers, their own output sizes.
inline cpu::Conv2dShape kernel_shape(const ref::Conv2dShape& s) {
  return {s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.groups};
}

struct Conv2dProblem : Problem {
  explicit Conv2dProblem(const ref::Conv2dShape& s)
      : Problem(s.N),
        shape(s),
        x(static_cast<size_t>(s.input_size())),
        w(static_cast<size_t>(s.weight_size())),
        b(static_cast<size_t>(s.K)),
        y(static_cast<size_t>(s.output_size())) {}
  std::vector<TensorRef> tensors() override {
    return {{"x", Role::input, x.data(), x.size()},
            {"w", Role::weight, w.data(), w.size()},
            {"b", Role::weight, b.data(), b.size()},
            {"y", Role::output, y.data(), y.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<Conv2dProblem>(*this); }

  ref::Conv2dShape shape;
  std::vector<float> x, w, b, y;
};

// A conv2d case of a shape (the policy's dimension names; docs/ops.md, "Validation shapes").
std::unique_ptr<OpCase> make_conv2d_case(const ShapeSpec& s);

// cuDNN with the math type set explicitly: FMA only, or TF32 allowed (gpu.cpp).
std::unique_ptr<Instance> make_cudnn_conv2d(Conv2dProblem& p, Device& dev, Precision precision);
std::vector<KernelRef> conv2d_gpu_kernels();

}  // namespace mb
