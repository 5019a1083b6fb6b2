#pragma once
// Fast host conv1d (torch.nn.functional.conv1d semantics, [N, C, L] in and [N, K, Lout] out).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mb::cpu {

// A conv1d's shape as the kernels read it: their own, so the output length and the right
// padding are not taken from the reference that judges them (cpu_ref/conv1d.hpp).
struct Conv1dShape {
  int64_t N, C, L;    // input [N, C, L]
  int64_t K, kernel;  // output channels, taps
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1;

  // Windows (kernel taps `dilation` apart) that start every `stride` in the padded input and fit.
  int64_t span() const { return (kernel - 1) * dilation + 1; }
  int64_t Lout() const { return (L + 2 * pad - span()) / stride + 1; }
  int64_t Cg() const { return C / groups; }
  int64_t Kg() const { return K / groups; }
};

// oneDNN's 1-D convolution_forward on the caller's [N, C, L] tensors, in the layout the
// primitive prefers (tag::any, as PyTorch's ideep asks for): activations reordered in and out
// on every run() where it picks a blocked one, weights reordered once. Bias fused.
class OnednnConv1d {
 public:
  OnednnConv1d(const float* w, const float* b, const Conv1dShape& s);
  ~OnednnConv1d();
  OnednnConv1d(const OnednnConv1d&) = delete;
  OnednnConv1d& operator=(const OnednnConv1d&) = delete;
  void run(const float* x, float* y);
  std::string impl_info() const;
  std::string reorders() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// im2col + OpenBLAS sgemm per image and group: Y_g[Kg, Lout] = W_g[Kg, Cg*kernel] * col_g,
// col row (c, t) = channel c read at l * stride - pad + t * dilation (zero outside). The bias
// is broadcast into Y first and the GEMM accumulates (beta = 1). kernel 1 with stride 1 and no
// padding skips im2col. OpenMP threads over images (or over output chunks of one image when
// N < threads), each with its own column buffer and a single-threaded sgemm.
class Im2colConv1d {
 public:
  explicit Im2colConv1d(const Conv1dShape& s);
  void run(const float* x, const float* w, const float* b, float* y);
  bool skips_im2col() const { return direct_; }

 private:
  Conv1dShape s_;
  bool direct_;
  int64_t chunks_, chunk_cols_;  // output chunks per image and their length
  std::vector<float> col_;
};

}  // namespace mb::cpu
