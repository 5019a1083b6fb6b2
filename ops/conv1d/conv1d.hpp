#pragma once
// conv1d (torch.nn.functional.conv1d): the problem of one (case, batch) and the device
// impls' factories (gpu.cpp, CUDA builds only). The cases and the impl table: case.cpp.
#include <memory>
#include <vector>

#include "cpu_ref/conv1d.hpp"
#include "harness/device/device.hpp"
#include "harness/op_case.hpp"
#include "kernels/cpu/conv1d.hpp"

namespace mb {

// The host kernels' view of a case's shape: the same numbers, their own output length.
inline cpu::Conv1dShape kernel_shape(const ref::Conv1dShape& s) {
  return {s.N, s.C, s.L, s.K, s.kernel, s.stride, s.pad, s.dilation, s.groups};
}

struct Conv1dProblem : Problem {
  explicit Conv1dProblem(const ref::Conv1dShape& s)
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
  std::unique_ptr<Problem> clone() const override { return std::make_unique<Conv1dProblem>(*this); }

  ref::Conv1dShape shape;
  std::vector<float> x, w, b, y;
};

// A conv1d case of a shape (the policy's dimension names; docs/ops.md, "Validation shapes").
std::unique_ptr<OpCase> make_conv1d_case(const ShapeSpec& s);

// cuDNN as a 2-D convolution of height 1, math type set explicitly (gpu.cpp).
std::unique_ptr<Instance> make_cudnn_conv1d(Conv1dProblem& p, Device& dev, Precision precision);
std::vector<KernelRef> conv1d_gpu_kernels();

}  // namespace mb
