#pragma once
// Fast host conv2d (torch.nn.functional.conv2d semantics, NCHW in and out).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu_ref/conv2d.hpp"

namespace mb::cpu {

// oneDNN convolution_forward the way PyTorch's CPU path uses it: the caller's
// NCHW tensors are reordered into the primitive's preferred layout and back on
// every run() (that cost is part of what a user gets); weights are reordered
// once here. Bias is fused into the primitive.
class OnednnConv2d {
 public:
  OnednnConv2d(const float* w, const float* b, const ref::Conv2dShape& s);
  ~OnednnConv2d();
  OnednnConv2d(const OnednnConv2d&) = delete;
  OnednnConv2d& operator=(const OnednnConv2d&) = delete;
  void run(const float* x, float* y);
  // The kernel oneDNN picked (e.g. "jit:avx2") and the activation layout it runs in.
  std::string impl_info() const;
  bool reorders_activations() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// im2col + OpenBLAS sgemm per image and group: Y_g[Kg, PQ] = W_g[Kg, Cg*R*S] * col_g.
// The bias is broadcast into Y first and the GEMM accumulates (beta = 1).
// 1x1 convolutions with stride 1 and no padding skip im2col (the input is the column matrix).
// OpenMP threads over images (or over column chunks of one image when N < threads), each
// with its own column buffer and a single-threaded sgemm. No state besides the buffers.
class Im2colConv2d {
 public:
  explicit Im2colConv2d(const ref::Conv2dShape& s);
  void run(const float* x, const float* w, const float* b, float* y);
  bool skips_im2col() const { return direct_; }

 private:
  ref::Conv2dShape s_;
  bool direct_;
  int64_t chunks_, chunk_cols_;  // column chunks per image and their width
  std::vector<float> col_;
};

// Whether conv2d_depthwise applies: one filter per input channel (groups == C == K).
inline bool is_depthwise(const ref::Conv2dShape& s) { return s.groups == s.C && s.K == s.C; }

// Direct depthwise kernel on NCHW planes, multi-threaded over (n, c).
// Throws std::invalid_argument unless is_depthwise(s).
void conv2d_depthwise(const float* x, const float* w, const float* b, float* y, const ref::Conv2dShape& s);

}  // namespace mb::cpu
