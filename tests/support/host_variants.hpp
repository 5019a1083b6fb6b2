#pragma once
// Host variants of linear, conv2d and SSIM: correct fp32 computations other than
// ours (summation orders, Winograd, FFT, the plain separable SSIM), the TF32 and
// fast-convolution arithmetic GPUs use, and the same with one planted bug. The
// tolerances of ops/*/case.cpp are set from the errors the correct ones make
// (tests/test_tolerances.cpp); validation must reject the planted ones
// (tests/test_planted_bugs.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "cpu_ref/linear.hpp"
#include "cpu_ref/ssim.hpp"
#include "ops/conv2d/conv2d.hpp"
#include "ops/ssim/ssim.hpp"

namespace mb {

// MODEBENCH_MEASURE_ERRORS=1: the tolerance and planted-bug tests run the cases' own
// quick-profile sizes (minutes) instead of reduced ones; how README's tables were measured.
bool measuring_errors();

// A registered case's problem cut down, keeping its structure: the first `batch` images
// and the top-left height x width of every plane of the input; weights, channels,
// groups, kernel, stride and padding unchanged.
Conv2dProblem cropped(const Conv2dProblem& p, int64_t batch, int64_t height, int64_t width);
SsimProblem cropped(const SsimProblem& p, int64_t batch, int64_t height, int64_t width);

}  // namespace mb

namespace mb::emu {

// fp32 -> TF32 (10 explicit mantissa bits). Tensor cores read only the top 10 bits
// (truncation); a conversion instruction may round to nearest instead.
enum class Tf32 { round_nearest, truncate };
float to_tf32(float v, Tf32 mode);
std::vector<float> to_tf32(const std::vector<float>& v, Tf32 mode);

// Orders in which a correct fp32 dot product may be summed: one accumulator with
// separate multiply and add or with FMA, 8 FMA lanes (AVX), GEMM-style blocks of 256
// terms added into the output, 4-way split-K (cuBLAS), and pairwise.
enum class Order { sequential, sequential_fma, lanes8, blocked256, split_k4, pairwise };
const std::vector<Order>& all_orders();
std::string to_string(Order o);

// sum_k x[k] * w[k] + bias, in fp32, in `order` (bias added last, as a GEMM epilogue does).
float dot(const float* x, const float* w, int64_t n, float bias, Order order);

// y[B,out] = x w^T + b with every output summed in `order`.
void linear(const float* x, const float* w, const float* b, const ref::LinearShape& s, Order order, float* y);

// conv2d bugs, each confined to what its name says.
enum class ConvFault {
  none,
  left_padding_replicated_in_last_channel,  // the last output channel reads column 0 left of the image
  kernel_flipped,                           // convolution instead of cross-correlation
  column_stride_off_by_one,                 // the window moves stride + 1 columns per output column
  bias_missing_in_last_group,
};

// conv2d as im2col + GEMM: output (n, k, p, q) is the dot product of its zero-padded
// window (terms in c, r, s order) with its filter, summed in `order`.
float conv2d_output(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, int64_t n, int64_t k,
                    int64_t p, int64_t q, Order order, ConvFault fault = ConvFault::none);
// Every output so.
void conv2d_direct(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, Order order, float* y,
                   ConvFault fault = ConvFault::none);

// Winograd F(m x m, 3 x 3) (m = 2 or 4, Lavin & Gray's matrices) in fp32 throughout:
// filter and input transforms, the per-channel products accumulated in the transform
// domain, the output transform, then the bias. 3x3 kernels, stride 1.
void conv2d_winograd(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, int m, float* y);

// FFT convolution in fp32: zero-padded planes of the next power of two, radix-2 FFTs
// (twiddles rounded from double), products accumulated over channels in the frequency
// domain, one inverse FFT per output plane, then the bias. Stride 1.
void conv2d_fft(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, float* y);

// SSIM the plain way (the cuDNN path's arithmetic): five separable fp32 blurs of x, y,
// x^2, y^2, xy, unshifted, then common::ssim_value per pixel; the mean summed in double.
// `fault` plants one bug (tests/test_planted_bugs.cpp); none computes it right.
enum class SsimFault {
  none,
  outer_taps_missing_in_horizontal_pass,  // taps -5 and +5 skipped in one of the two passes
  replicate_padding_on_left_edge,         // outside the left edge reads column 0 instead of 0
  constants_for_range_255,                // C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2
  mean_over_first_channel,                // the mean of channel 0's map only
  moments_not_centred,                    // sigma^2 = E[x^2], sigma_xy = E[xy]: the means not subtracted
};
double ssim_separable(const float* x, const float* y, const ref::SsimShape& s, float* map,
                      SsimFault fault = SsimFault::none);

// SSIM the 3DGS framework's way (the cuDNN path: ops/ssim/gpu.cpp): five 11x11 2-D fp32
// convolutions with the outer product of the taps as the window (121-term sums, row by row),
// unshifted, then common::ssim_value per pixel; the mean summed in double.
double ssim_window_2d(const float* x, const float* y, const ref::SsimShape& s, float* map);

}  // namespace mb::emu
