#pragma once
// Fast host conv2d (torch.nn.functional.conv2d semantics, NCHW in and out).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mb::cpu {

// A conv2d's shape as the kernels read it: their own, so output sizes and the right and
// bottom padding are not taken from the reference that judges them (cpu_ref/conv2d.hpp).
// ops/conv2d makes it from the case's shape; tests/test_conv2d.cpp checks P() and Q()
// against the reference's and a count of window positions.
struct Conv2dShape {
  int64_t N, C, H, W;  // input, NCHW
  int64_t K, R, S;     // output channels, kernel height and width
  int64_t stride = 1, pad = 0, groups = 1;

  // Output rows and columns: windows that start every `stride` in the padded input and fit.
  int64_t P() const { return (H + 2 * pad - R) / stride + 1; }
  int64_t Q() const { return (W + 2 * pad - S) / stride + 1; }
  int64_t Cg() const { return C / groups; }
  int64_t Kg() const { return K / groups; }
};

// Where the activations of an OnednnConv2d live while the primitive runs.
enum class ActivationLayout {
  // Input and output in the layout the primitive prefers (tag::any, as ideep does for
  // PyTorch's NCHW tensors): usually blocked (nChw16c), reordered in and out on every run().
  primitive_choice,
  // The input read where the caller has it (NCHW), the output layout left to the primitive.
  // Measured here (2 threads, AVX-512, oneDNN 2.6): 2.3-4.1x faster on mbv2_pointwise (oneDNN
  // then runs its GEMM path with no reorder at all) and 1.4-1.9x on mbv2_stem (3 input
  // channels: reordering them costs more than the blocked kernel saves); 1.2-1.3x slower on
  // resnet_3x3, ~2x on depthwise.
  caller_nchw,
};

// oneDNN convolution_forward on the caller's NCHW tensors. Activations are reordered per
// `layout` on every run() (that cost is part of what a user gets); weights are reordered
// once here. Bias is fused into the primitive.
class OnednnConv2d {
 public:
  OnednnConv2d(const float* w, const float* b, const Conv2dShape& s,
               ActivationLayout layout = ActivationLayout::primitive_choice);
  ~OnednnConv2d();
  OnednnConv2d(const OnednnConv2d&) = delete;
  OnednnConv2d& operator=(const OnednnConv2d&) = delete;
  void run(const float* x, float* y);
  // The kernel oneDNN picked (e.g. "jit:avx2").
  std::string impl_info() const;
  // Which activations run() reorders: "none", "src", "dst" or "src+dst".
  std::string reorders() const;

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
  explicit Im2colConv2d(const Conv2dShape& s);
  void run(const float* x, const float* w, const float* b, float* y);
  bool skips_im2col() const { return direct_; }

 private:
  Conv2dShape s_;
  bool direct_;
  int64_t chunks_, chunk_cols_;  // column chunks per image and their width
  std::vector<float> col_;
};

// Whether conv2d_depthwise applies: one filter per input channel (groups == C == K).
inline bool is_depthwise(const Conv2dShape& s) { return s.groups == s.C && s.K == s.C; }

// Direct depthwise kernel on NCHW planes, multi-threaded over (n, c).
// Throws std::invalid_argument unless is_depthwise(s).
void conv2d_depthwise(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
// The SIMD target conv2d_depthwise runs now (kernels/cpu/simd.hpp): the label's isa=.
std::string conv2d_depthwise_isa();

}  // namespace mb::cpu
