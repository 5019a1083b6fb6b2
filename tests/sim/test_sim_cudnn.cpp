// The simulated cuDNN (sim/cudnn.cpp) against an independent reference: a plain loop over
// n, k, p, q, c, r, s written here, not the project's cpu_ref or kernels. Also the documented
// statuses, deferred execution on the handle's stream, and the MODEBENCH_SIM_CUDNN_ALGOS table.
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/sim_test_support.hpp"

namespace {

using mb::simtest::DeviceArray;
using mb::simtest::ScopedEnv;

// ---- RAII around the C API ---------------------------------------------------------------------

template <class H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
class Desc {
 public:
  Desc() { EXPECT_EQ(Create(&h_), CUDNN_STATUS_SUCCESS); }
  ~Desc() { Destroy(h_); }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  H get() const { return h_; }

 private:
  H h_ = nullptr;
};
using TensorDesc = Desc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Desc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Desc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

// A handle bound to a non-blocking stream, as the project's CudaDevice makes them.
class Handle {
 public:
  Handle() {
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_EQ(cudnnCreate(&h_), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetStream(h_, stream_), CUDNN_STATUS_SUCCESS);
  }
  ~Handle() {
    cudnnDestroy(h_);
    cudaStreamDestroy(stream_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cudnnHandle_t get() const { return h_; }
  cudaStream_t stream() const { return stream_; }
  cudaError_t sync() const { return cudaStreamSynchronize(stream_); }

 private:
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t h_ = nullptr;
};

// Sets an environment variable for one scope.

// ---- the independent reference -----------------------------------------------------------------

struct Shape {
  int n = 1, c = 1, h = 1, w = 1, k = 1, r = 1, s = 1;
  int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, groups = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  int p() const { return 1 + (h + 2 * pad_h - ((r - 1) * dil_h + 1)) / stride_h; }
  int q() const { return 1 + (w + 2 * pad_w - ((s - 1) * dil_w + 1)) / stride_w; }
  size_t x_size() const { return size_t(n) * c * h * w; }
  size_t w_size() const { return size_t(k) * (c / groups) * r * s; }
  size_t y_size() const { return size_t(n) * k * p() * q(); }
};

// Tensor cores' TF32 rounding: keep 10 mantissa bits, round to nearest, ties to even.
float tf32(float f) {
  const uint32_t b = std::bit_cast<uint32_t>(f);
  const uint32_t low = b & 0x1fffu, keep = b & ~0x1fffu;
  const bool up = low > 0x1000u || (low == 0x1000u && (keep & 0x2000u));
  return std::bit_cast<float>(up ? keep + 0x2000u : keep);
}

// y[n][k][p][q] = sum over the group's c, r, s of x * w, in double; CUDNN_CONVOLUTION reads the
// filter turned by 180 degrees.
std::vector<float> reference(const Shape& sh, const std::vector<float>& x, const std::vector<float>& w,
                             bool round_tf32 = false) {
  const int cg = sh.c / sh.groups, kg = sh.k / sh.groups, P = sh.p(), Q = sh.q();
  auto rd = [&](float v) { return round_tf32 ? tf32(v) : v; };
  std::vector<float> y(sh.y_size());
  for (int n = 0; n < sh.n; ++n)
    for (int k = 0; k < sh.k; ++k)
      for (int p = 0; p < P; ++p)
        for (int q = 0; q < Q; ++q) {
          double acc = 0;
          const int g = k / kg;
          for (int c = 0; c < cg; ++c)
            for (int r = 0; r < sh.r; ++r)
              for (int s = 0; s < sh.s; ++s) {
                const int ih = p * sh.stride_h - sh.pad_h + r * sh.dil_h;
                const int iw = q * sh.stride_w - sh.pad_w + s * sh.dil_w;
                if (ih < 0 || ih >= sh.h || iw < 0 || iw >= sh.w) continue;
                const int fr = sh.mode == CUDNN_CONVOLUTION ? sh.r - 1 - r : r;
                const int fs = sh.mode == CUDNN_CONVOLUTION ? sh.s - 1 - s : s;
                const float xv = x[((size_t(n) * sh.c + g * cg + c) * sh.h + ih) * sh.w + iw];
                const float wv = w[((size_t(k) * cg + c) * sh.r + fr) * sh.s + fs];
                acc += double(rd(xv)) * double(rd(wv));
              }
          y[((size_t(n) * sh.k + k) * P + p) * Q + q] = static_cast<float>(acc);
        }
  return y;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (float& f : v) {
    s = s * 1664525u + 1013904223u;
    f = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  return v;
}

// Largest |a - b|; infinity when the sizes differ or a value is not finite.
double max_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!std::isfinite(d)) return std::numeric_limits<double>::infinity();
    m = std::max(m, d);
  }
  return m;
}
constexpr double kFp32Tol = 2e-5;  // fp32 accumulation of at most ~100 products of magnitude <= 1

// ---- descriptors as the project builds them ----------------------------------------------------

struct Conv {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
};

// Sets every descriptor for `sh`; the x descriptor's H and W are given separately so that a test
// can swap them (the planted bug). y comes from cudnnGetConvolution2dForwardOutputDim, as in
// cudnn_conv.hpp. Returns the first failing status.
cudnnStatus_t set_up(Conv& d, const Shape& sh, cudnnMathType_t math, int x_h, int x_w) {
  cudnnStatus_t s = cudnnSetTensor4dDescriptor(d.x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, sh.n, sh.c, x_h, x_w);
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetFilter4dDescriptor(d.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, sh.k, sh.c / sh.groups, sh.r, sh.s);
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetConvolution2dDescriptor(d.conv.get(), sh.pad_h, sh.pad_w, sh.stride_h, sh.stride_w, sh.dil_h, sh.dil_w,
                                        sh.mode, CUDNN_DATA_FLOAT);
  if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionGroupCount(d.conv.get(), sh.groups);
  if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionMathType(d.conv.get(), math);
  int n = 0, k = 0, p = 0, q = 0;
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q);
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetTensor4dDescriptor(d.y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, p, q);
  return s;
}
cudnnStatus_t set_up(Conv& d, const Shape& sh, cudnnMathType_t math = CUDNN_FMA_MATH) {
  return set_up(d, sh, math, sh.h, sh.w);
}

struct Outcome {
  cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
  cudaError_t sync = cudaSuccess;
  std::vector<float> y;
};

// One cudnnConvolutionForward on fresh device buffers, then the stream's synchronisation.
Outcome forward(const Shape& sh, const std::vector<float>& x, const std::vector<float>& w,
                cudnnMathType_t math = CUDNN_FMA_MATH, float alpha = 1, float beta = 0,
                const std::vector<float>* y0 = nullptr, bool swap_hw = false) {
  Outcome out;
  Handle h;
  Conv d;
  out.status = set_up(d, sh, math, swap_hw ? sh.w : sh.h, swap_hw ? sh.h : sh.w);
  if (out.status != CUDNN_STATUS_SUCCESS) return out;
  DeviceArray<float> dx(x.size()), dw(w.size()), dy(sh.y_size());
  dx.upload(x);
  dw.upload(w);
  if (y0) dy.upload(*y0);
  out.status =
      cudnnConvolutionForward(h.get(), &alpha, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                              CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &beta, d.y.get(), dy.get());
  if (out.status != CUDNN_STATUS_SUCCESS) return out;
  out.sync = h.sync();
  out.y = dy.download();
  return out;
}

// The sim (FMA math: strict fp32) against the reference for one shape, on random data.
void expect_matches_reference(const Shape& sh, uint32_t seed) {
  const auto x = random_values(sh.x_size(), seed), w = random_values(sh.w_size(), seed + 1);
  const Outcome r = forward(sh, x, w);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(r.sync, cudaSuccess);
  EXPECT_LE(max_error(r.y, reference(sh, x, w)), kFp32Tol);
}

// Values inside each enum's range (the smallest bit-field holding its enumerants) that are no
// enumerant: C++ cannot pass anything further out without undefined behaviour.
const auto kNoFormat = static_cast<cudnnTensorFormat_t>(3);       // enumerants 0..2
const auto kNoDataType = static_cast<cudnnDataType_t>(31);        // enumerants 0..21
const auto kNoAlgo = static_cast<cudnnConvolutionFwdAlgo_t>(15);  // enumerants 0..8 (8 is COUNT)

// ---- version and names -------------------------------------------------------------------------

TEST(SimCudnn, VersionsComeFromTheHeaders) {
  EXPECT_EQ(cudnnGetVersion(), static_cast<size_t>(CUDNN_VERSION));
  EXPECT_EQ(cudnnGetVersion() / 10000, 9u);
  EXPECT_EQ(cudnnGetMaxDeviceVersion(), static_cast<size_t>(CUDNN_MAX_DEVICE_VERSION));
  // What cuda_facts.cpp prints from it: major.minor.
  const size_t v = cudnnGetMaxDeviceVersion();
  EXPECT_EQ(std::to_string(v / 100) + "." + std::to_string(v % 100 / 10),
            std::to_string(CUDNN_MAX_SM_MAJOR_NUMBER) + "." + std::to_string(CUDNN_MAX_SM_MINOR_NUMBER));
}

TEST(SimCudnn, ErrorStringIsTheEnumName) {
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_SUCCESS), "CUDNN_STATUS_SUCCESS");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), "CUDNN_STATUS_BAD_PARAM");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED), "CUDNN_STATUS_NOT_SUPPORTED");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_EXECUTION_FAILED), "CUDNN_STATUS_EXECUTION_FAILED");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH),
               "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED),
               "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED");
}

// ---- shapes ------------------------------------------------------------------------------------

TEST(SimCudnn, OutputDimFollowsTheDocumentedFormula) {
  Conv d;
  ASSERT_EQ(cudnnSetTensor4dDescriptor(d.x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 6, 7, 12),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, 3, 5),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 1, 2, 2, 3, 2, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv.get(), 2), CUDNN_STATUS_SUCCESS);
  int n = 0, k = 0, p = 0, q = 0;
  ASSERT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(k, 4);
  EXPECT_EQ(p, 1 + (7 + 2 * 1 - ((3 - 1) * 2 + 1)) / 2);   // 3
  EXPECT_EQ(q, 1 + (12 + 2 * 2 - ((5 - 1) * 1 + 1)) / 3);  // 4
  EXPECT_EQ(p, 3);
  EXPECT_EQ(q, 4);
}

TEST(SimCudnn, OutputDimRefusesMismatchedChannelsAndOversizedFilters) {
  Conv d;
  int n, k, p, q;
  // Never set: unusable.
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(cudnnSetTensor4dDescriptor(d.x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 4, 5, 5),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2, 3, 3, 3),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_SUCCESS);
  // Filter C (3) times groups (1) is not the input's C (4).
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_BAD_PARAM);
  // 2 x 2 groups = 4 fits.
  ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2, 2, 3, 3),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv.get(), 2), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_SUCCESS);
  // A dilated 3x3 (span 7) is larger than the unpadded 5x5 input.
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 0, 0, 1, 1, 3, 3, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_BAD_PARAM);
  // Padding 1 makes it fit exactly: one output row and column.
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 1, 1, 1, 1, 3, 3, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), &n, &k, &p, &q),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(p, 1);
  EXPECT_EQ(q, 1);
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), nullptr, &k, &p, &q),
            CUDNN_STATUS_BAD_PARAM);
}

// ---- results against the reference -------------------------------------------------------------

// Non-square input, stride 2, padding 1: the last output row reads the bottom padding and the last
// output column the right padding.
Shape non_square() {
  Shape sh;
  sh.n = 2, sh.c = 3, sh.h = 7, sh.w = 11, sh.k = 4, sh.r = 3, sh.s = 3;
  sh.pad_h = sh.pad_w = 1, sh.stride_h = sh.stride_w = 2;
  return sh;
}

TEST(SimCudnn, NonSquareStride2ReadsBottomAndRightPadding) {
  const Shape sh = non_square();
  ASSERT_EQ(sh.p(), 4);
  ASSERT_EQ(sh.q(), 6);
  ASSERT_GT((sh.p() - 1) * sh.stride_h - sh.pad_h + sh.r, sh.h);  // bottom padding read
  ASSERT_GT((sh.q() - 1) * sh.stride_w - sh.pad_w + sh.s, sh.w);  // right padding read
  expect_matches_reference(sh, 1);
}

TEST(SimCudnn, AsymmetricStridesAndPadding) {
  Shape sh;
  sh.n = 1, sh.c = 2, sh.h = 10, sh.w = 6, sh.k = 3, sh.r = 3, sh.s = 2;
  sh.pad_h = 2, sh.pad_w = 0, sh.stride_h = 3, sh.stride_w = 1;
  expect_matches_reference(sh, 2);
}

TEST(SimCudnn, GroupedConvolution) {
  Shape sh;
  sh.n = 2, sh.c = 4, sh.h = 6, sh.w = 5, sh.k = 6, sh.r = 3, sh.s = 3, sh.pad_h = sh.pad_w = 1, sh.groups = 2;
  expect_matches_reference(sh, 3);
}

// The SSIM window convolution: one 'same' filter per channel.
TEST(SimCudnn, DepthwiseConvolution) {
  Shape sh;
  sh.n = 2, sh.c = 3, sh.h = 6, sh.w = 9, sh.k = 3, sh.r = 5, sh.s = 5, sh.pad_h = sh.pad_w = 2, sh.groups = 3;
  ASSERT_EQ(sh.p(), sh.h);
  ASSERT_EQ(sh.q(), sh.w);
  expect_matches_reference(sh, 4);
}

TEST(SimCudnn, Dilation2) {
  Shape sh;
  sh.n = 1, sh.c = 2, sh.h = 9, sh.w = 10, sh.k = 2, sh.r = 3, sh.s = 3;
  sh.pad_h = sh.pad_w = 2, sh.dil_h = sh.dil_w = 2;
  expect_matches_reference(sh, 5);
  // Not the undilated convolution.
  const auto x = random_values(sh.x_size(), 5), w = random_values(sh.w_size(), 6);
  Shape plain = sh;
  plain.dil_h = plain.dil_w = 1;
  plain.pad_h = plain.pad_w = 1;
  EXPECT_GT(max_error(reference(sh, x, w), reference(plain, x, w)), 1e-2);
  // Dilation in one direction only: the two must not be mixed up.
  sh.dil_w = 1;
  sh.pad_w = 1;
  expect_matches_reference(sh, 5);
}

// conv1d as ops/conv1d/gpu.cpp describes it: height 1, a 1 x kernel filter, stride, padding and
// dilation along the width only (XTTS's dilation 3, the last window reading the right padding).
TEST(SimCudnn, Conv1dAsHeightOneWithDilationAlongTheWidth) {
  Shape sh;
  sh.n = 2, sh.c = 4, sh.h = 1, sh.w = 21, sh.k = 3, sh.r = 1, sh.s = 3;
  sh.pad_w = 3, sh.stride_w = 2, sh.dil_w = 3;
  ASSERT_EQ(sh.p(), 1);
  ASSERT_EQ(sh.q(), 11);
  ASSERT_GT((sh.q() - 1) * sh.stride_w - sh.pad_w + (sh.s - 1) * sh.dil_w, sh.w - 1);  // right padding read
  expect_matches_reference(sh, 7);
  // The dilation put on the height (where a 1-row filter ignores it) is another convolution.
  const auto x = random_values(sh.x_size(), 7), w = random_values(sh.w_size(), 8);
  Shape misplaced = sh;
  misplaced.dil_h = 3, misplaced.dil_w = 1, misplaced.pad_w = 1;
  ASSERT_EQ(misplaced.q(), sh.q());
  EXPECT_GT(max_error(reference(sh, x, w), reference(misplaced, x, w)), 1e-2);
}

TEST(SimCudnn, ConvolutionFlipsTheFilterCrossCorrelationDoesNot) {
  Shape sh;
  sh.n = 1, sh.c = 2, sh.h = 5, sh.w = 6, sh.k = 2, sh.r = 3, sh.s = 2, sh.pad_h = sh.pad_w = 1;
  const auto x = random_values(sh.x_size(), 7), w = random_values(sh.w_size(), 8);  // asymmetric filter
  Shape conv = sh;
  conv.mode = CUDNN_CONVOLUTION;
  const Outcome cross = forward(sh, x, w), flipped = forward(conv, x, w);
  ASSERT_EQ(cross.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(flipped.status, CUDNN_STATUS_SUCCESS);
  EXPECT_LE(max_error(cross.y, reference(sh, x, w)), kFp32Tol);
  EXPECT_LE(max_error(flipped.y, reference(conv, x, w)), kFp32Tol);
  EXPECT_GT(max_error(cross.y, flipped.y), 1e-2);
}

TEST(SimCudnn, AlphaScalesAndBetaBlends) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 9), w = random_values(sh.w_size(), 10);
  const auto y0 = random_values(sh.y_size(), 11);
  const Outcome r = forward(sh, x, w, CUDNN_FMA_MATH, 2.0f, 0.5f, &y0);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  auto expected = reference(sh, x, w);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = 2.0f * expected[i] + 0.5f * y0[i];
  EXPECT_LE(max_error(r.y, expected), 2 * kFp32Tol);
}

TEST(SimCudnn, BetaZeroDoesNotReadY) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 12), w = random_values(sh.w_size(), 13);
  const std::vector<float> nan(sh.y_size(), std::numeric_limits<float>::quiet_NaN());
  const Outcome r = forward(sh, x, w, CUDNN_FMA_MATH, 1.0f, 0.0f, &nan);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  EXPECT_LE(max_error(r.y, reference(sh, x, w)), kFp32Tol);  // finite everywhere
}

// ---- the planted bug ---------------------------------------------------------------------------

// Descriptors built as CudnnConv builds them match the reference; the same with the input's H and W
// swapped must not pass unnoticed (refused, or a result that does not validate).
TEST(SimCudnn, PlantedBugSwappedHeightAndWidthIsCaught) {
  Shape sh;
  sh.n = 2, sh.c = 3, sh.h = 7, sh.w = 12, sh.k = 4, sh.r = 3, sh.s = 3, sh.pad_h = sh.pad_w = 1;
  sh.stride_h = sh.stride_w = 2;
  const auto x = random_values(sh.x_size(), 14), w = random_values(sh.w_size(), 15);
  const auto expected = reference(sh, x, w);

  const Outcome right = forward(sh, x, w, CUDNN_FMA_MATH, 1, 0, nullptr, /*swap_hw=*/false);
  ASSERT_EQ(right.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(right.sync, cudaSuccess);
  EXPECT_LE(max_error(right.y, expected), kFp32Tol);

  const Outcome swapped = forward(sh, x, w, CUDNN_FMA_MATH, 1, 0, nullptr, /*swap_hw=*/true);
  const bool refused = swapped.status != CUDNN_STATUS_SUCCESS || swapped.sync != cudaSuccess;
  EXPECT_TRUE(refused || max_error(swapped.y, expected) > 1e-3)
      << "the simulated cuDNN computed the same result from an input descriptor with H and W swapped";
}

// ---- streams -----------------------------------------------------------------------------------

TEST(SimCudnn, WorkRunsOnlyWhenTheStreamIsSynchronised) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 16), w = random_values(sh.w_size(), 17);
  const std::vector<float> sentinel(sh.y_size(), 42.0f);
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(x.size()), dw(w.size()), dy(sh.y_size());
  dx.upload(x);
  dw.upload(w);
  dy.upload(sentinel);
  const float one = 1, zero = 0;
  ASSERT_EQ(cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_SUCCESS);
  // A synchronous copy does not wait for a non-blocking stream: y is still what it was.
  EXPECT_EQ(dy.download(), sentinel);
  ASSERT_EQ(h.sync(), cudaSuccess);
  EXPECT_LE(max_error(dy.download(), reference(sh, x, w)), kFp32Tol);
}

// cudnnDestroy synchronises the device (documented), so queued work has run once it returns.
TEST(SimCudnn, DestroyRunsTheQueuedWork) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 38), w = random_values(sh.w_size(), 39);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  cudnnHandle_t h = nullptr;
  ASSERT_EQ(cudnnCreate(&h), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetStream(h, stream), CUDNN_STATUS_SUCCESS);
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(x.size()), dw(w.size()), dy(sh.y_size());
  dx.upload(x);
  dw.upload(w);
  const float one = 1, zero = 0;
  ASSERT_EQ(cudnnConvolutionForward(h, &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnDestroy(h), CUDNN_STATUS_SUCCESS);
  EXPECT_LE(max_error(dy.download(), reference(sh, x, w)), kFp32Tol);  // no stream synchronisation
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// Descriptors are read at call time: changing or destroying them before the stream runs does not
// change the enqueued convolution.
TEST(SimCudnn, EnqueuedWorkKeepsTheDescriptorsOfTheCall) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 18), w = random_values(sh.w_size(), 19);
  Handle h;
  DeviceArray<float> dx(x.size()), dw(w.size()), dy(sh.y_size());
  dx.upload(x);
  dw.upload(w);
  {
    Conv d;
    ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
    float alpha = 1, beta = 0;
    ASSERT_EQ(cudnnConvolutionForward(h.get(), &alpha, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &beta, d.y.get(), dy.get()),
              CUDNN_STATUS_SUCCESS);
    alpha = 5;  // host scalars are read at the call, too
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 0, 0, 1, 1, 1, 1, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
  }
  ASSERT_EQ(h.sync(), cudaSuccess);
  EXPECT_LE(max_error(dy.download(), reference(sh, x, w)), kFp32Tol);
}

// An extent past the allocation faults at synchronisation, as a kernel's illegal address does; the
// context is then lost for good, so this runs in a child process.
TEST(SimCudnnDeathTest, ExtentOutsideTheAllocationIsAnIllegalAddressAtSync) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto body = [] {
    const Shape sh = non_square();
    Handle h;
    Conv d;
    if (set_up(d, sh) != CUDNN_STATUS_SUCCESS) return 10;
    DeviceArray<float> dx(sh.x_size() - 1), dw(sh.w_size()), dy(sh.y_size());  // x one element short
    const float one = 1, zero = 0;
    if (cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(),
                                dy.get()) != CUDNN_STATUS_SUCCESS)
      return 11;  // the call itself cannot know: it only enqueues
    if (h.sync() != cudaErrorIllegalAddress) return 12;
    // The context is lost: launching more work fails.
    if (cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(),
                                dy.get()) != CUDNN_STATUS_EXECUTION_FAILED)
      return 13;
    return 0;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

TEST(SimCudnnDeathTest, WorkspaceShorterThanDeclaredIsAnIllegalAddressAtSync) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto body = [] {
    const Shape sh = non_square();
    Handle h;
    Conv d;
    if (set_up(d, sh) != CUDNN_STATUS_SUCCESS) return 10;
    DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
    DeviceArray<unsigned char> ws(16);  // implicit_precomp_gemm needs 4096 by default
    const float one = 1, zero = 0;
    if (cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.get(), 4096, &zero, d.y.get(),
                                dy.get()) != CUDNN_STATUS_SUCCESS)
      return 11;
    return h.sync() == cudaErrorIllegalAddress ? 0 : 12;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

// ---- math --------------------------------------------------------------------------------------

// The simulated device is cc 12.0 unless told otherwise: default math rounds operands to TF32,
// FMA math does not.
TEST(SimCudnn, DefaultMathRoundsToTf32FmaMathIsStrictFp32) {
  Shape one;                           // a 1x1 convolution of one value: y = x * w
  const float x = 1.0f + 1.0f / 4096;  // 2^-12 is below TF32's last mantissa bit (2^-10)
  const Outcome fma = forward(one, {x}, {1.0f}, CUDNN_FMA_MATH);
  const Outcome dflt = forward(one, {x}, {1.0f}, CUDNN_DEFAULT_MATH);
  const Outcome tensor = forward(one, {x}, {1.0f}, CUDNN_TENSOR_OP_MATH);
  ASSERT_EQ(fma.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(dflt.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(tensor.status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fma.y, std::vector<float>{x});
  EXPECT_EQ(dflt.y, std::vector<float>{1.0f});
  EXPECT_EQ(tensor.y, std::vector<float>{1.0f});
  // Round to nearest, ties to even: 1 + 3 * 2^-11 is a tie between 1 + 2^-10 and 1 + 2^-9; even wins.
  const float tie = 1.0f + 3.0f / 2048;
  EXPECT_EQ(forward(one, {tie}, {1.0f}, CUDNN_DEFAULT_MATH).y, std::vector<float>{1.0f + 2.0f / 1024});
}

TEST(SimCudnn, Tf32ResultMatchesTheTf32ReferenceNotTheFp32One) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 20), w = random_values(sh.w_size(), 21);
  const Outcome r = forward(sh, x, w, CUDNN_DEFAULT_MATH);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  EXPECT_LE(max_error(r.y, reference(sh, x, w, /*round_tf32=*/true)), kFp32Tol);
  EXPECT_GT(max_error(r.y, reference(sh, x, w)), 1e-4);
}

TEST(SimCudnn, Tf32OverrideZeroTurnsTf32Off) {
  ScopedEnv off("NVIDIA_TF32_OVERRIDE", "0");
  Shape one;
  const float x = 1.0f + 1.0f / 4096;
  EXPECT_EQ(forward(one, {x}, {1.0f}, CUDNN_DEFAULT_MATH).y, std::vector<float>{x});
}

// The device and the faults are read once per process (MODEBENCH_SIM_DEVICE, MODEBENCH_SIM_FAULT),
// so the tests that set them run in a child process.

TEST(SimCudnnDeathTest, PreAmpereDeviceHasNoTf32) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedEnv dev("MODEBENCH_SIM_DEVICE", "cc=7.5");
  auto body = [] {
    Shape one;
    const float x = 1.0f + 1.0f / 4096;
    const Outcome r = forward(one, {x}, {1.0f}, CUDNN_TENSOR_OP_MATH);
    return r.status == CUDNN_STATUS_SUCCESS && r.y == std::vector<float>{x} ? 0 : 1;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

TEST(SimCudnnDeathTest, NoDeviceMeansCreateIsNotInitialized) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedEnv dev("MODEBENCH_SIM_DEVICE", "count=0");
  auto body = [] {
    cudnnHandle_t h = nullptr;
    return cudnnCreate(&h) == CUDNN_STATUS_NOT_INITIALIZED ? 0 : 1;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

TEST(SimCudnnDeathTest, DeviceOlderThanCudnnSupportsIsArchMismatch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // cuDNN 9 for CUDA 13 starts at Turing (7.5), for CUDA 12 at Maxwell (5.0).
  ScopedEnv dev("MODEBENCH_SIM_DEVICE", CUDART_VERSION >= 13000 ? "cc=7.0" : "cc=3.7");
  auto body = [] {
    cudnnHandle_t h = nullptr;
    return cudnnCreate(&h) == CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH ? 0 : 1;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

TEST(SimCudnnDeathTest, InjectedFaultsAnswerTheirStatus) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedEnv faults("MODEBENCH_SIM_FAULT",
                   "cudnnConvolutionForward:2:CUDNN_STATUS_EXECUTION_FAILED;"
                   "cudnnSetConvolutionMathType:1:3000;cudnnCreate:2:CUDNN_STATUS_NOT_INITIALIZED");
  auto body = [] {
    const Shape sh = non_square();
    const auto x = random_values(sh.x_size(), 36), w = random_values(sh.w_size(), 37);
    Conv d;
    if (set_up(d, sh) != CUDNN_STATUS_NOT_SUPPORTED) return 10;       // the first math-type call
    if (forward(sh, x, w).status != CUDNN_STATUS_SUCCESS) return 11;  // cudnnCreate #1, Forward #1
    cudnnHandle_t h = nullptr;
    if (cudnnCreate(&h) != CUDNN_STATUS_NOT_INITIALIZED) return 12;  // cudnnCreate #2
    Handle handle;                                                   // cudnnCreate #3
    Conv d2;
    if (set_up(d2, sh) != CUDNN_STATUS_SUCCESS) return 13;
    DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
    const float one = 1, zero = 0;
    if (cudnnConvolutionForward(handle.get(), &one, d2.x.get(), dx.get(), d2.w.get(), dw.get(), d2.conv.get(),
                                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d2.y.get(),
                                dy.get()) != CUDNN_STATUS_EXECUTION_FAILED)
      return 14;  // Forward #2
    return 0;
  };
  EXPECT_EXIT(std::exit(body()), testing::ExitedWithCode(0), "");
}

// ---- documented argument checks ----------------------------------------------------------------

TEST(SimCudnn, HandleChecks) {
  EXPECT_EQ(cudnnCreate(nullptr), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnDestroy(nullptr), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetStream(nullptr, nullptr), CUDNN_STATUS_BAD_PARAM);
  cudnnHandle_t h = nullptr;
  ASSERT_EQ(cudnnCreate(&h), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnSetStream(h, nullptr), CUDNN_STATUS_SUCCESS);  // the legacy default stream
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudnnSetStream(h, s), CUDNN_STATUS_BAD_PARAM);  // a destroyed stream
  EXPECT_EQ(cudnnDestroy(h), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnDestroy(h), CUDNN_STATUS_BAD_PARAM);  // twice
}

TEST(SimCudnn, TensorDescriptorChecks) {
  TensorDesc t;
  auto set = [&](cudnnTensorFormat_t f, cudnnDataType_t dt, int n, int c, int h, int w) {
    return cudnnSetTensor4dDescriptor(t.get(), f, dt, n, c, h, w);
  };
  EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, 3, 4), CUDNN_STATUS_SUCCESS);
  for (int bad : {0, -1}) {
    EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, bad, 2, 3, 4), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, bad, 3, 4), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, bad, 4), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, 3, bad), CUDNN_STATUS_BAD_PARAM);
  }
  // Not an enumerant (but inside the enum's range: anything else is undefined in C++ already).
  EXPECT_EQ(set(kNoFormat, CUDNN_DATA_FLOAT, 1, 2, 3, 4), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(CUDNN_TENSOR_NCHW, kNoDataType, 1, 2, 3, 4), CUDNN_STATUS_BAD_PARAM);
  // Valid but outside what the simulation (and the project) uses.
  EXPECT_EQ(set(CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 2, 3, 4), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, 1, 2, 3, 4), CUDNN_STATUS_NOT_SUPPORTED);
  // More than 2 Giga-elements.
  EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1024, 1024, 64, 64), CUDNN_STATUS_NOT_SUPPORTED);
  const int big = std::numeric_limits<int>::max();
  EXPECT_EQ(set(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, big, big, big, big), CUDNN_STATUS_NOT_SUPPORTED);
  // A destroyed descriptor.
  cudnnTensorDescriptor_t gone = nullptr;
  ASSERT_EQ(cudnnCreateTensorDescriptor(&gone), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnDestroyTensorDescriptor(gone), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnSetTensor4dDescriptor(gone, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnDestroyTensorDescriptor(gone), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnCreateTensorDescriptor(nullptr), CUDNN_STATUS_BAD_PARAM);
}

TEST(SimCudnn, FilterDescriptorChecks) {
  FilterDesc f;
  auto set = [&](cudnnDataType_t dt, cudnnTensorFormat_t fmt, int k, int c, int h, int w) {
    return cudnnSetFilter4dDescriptor(f.get(), dt, fmt, k, c, h, w);
  };
  EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, 3, 3), CUDNN_STATUS_SUCCESS);
  for (int bad : {0, -2}) {
    EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, bad, 3, 3, 3), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, bad, 3, 3), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, bad, 3), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, 3, bad), CUDNN_STATUS_BAD_PARAM);
  }
  EXPECT_EQ(set(kNoDataType, CUDNN_TENSOR_NCHW, 4, 3, 3, 3), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(CUDNN_DATA_FLOAT, kNoFormat, 4, 3, 3, 3), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 4, 3, 3, 3), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(set(CUDNN_DATA_DOUBLE, CUDNN_TENSOR_NCHW, 4, 3, 3, 3), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cudnnSetFilter4dDescriptor(nullptr, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 1, 1, 1, 1),
            CUDNN_STATUS_BAD_PARAM);
}

TEST(SimCudnn, ConvolutionDescriptorChecks) {
  ConvDesc c;
  auto set = [&](int ph, int pw, int u, int v, int dh, int dw, cudnnConvolutionMode_t m, cudnnDataType_t t) {
    return cudnnSetConvolution2dDescriptor(c.get(), ph, pw, u, v, dh, dw, m, t);
  };
  const auto cc = CUDNN_CROSS_CORRELATION;
  const auto f = CUDNN_DATA_FLOAT;
  EXPECT_EQ(set(0, 0, 1, 1, 1, 1, cc, f), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(set(-1, 0, 1, 1, 1, 1, cc, f), CUDNN_STATUS_BAD_PARAM);  // pad < 0
  EXPECT_EQ(set(0, -1, 1, 1, 1, 1, cc, f), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(0, 0, 0, 1, 1, 1, cc, f), CUDNN_STATUS_BAD_PARAM);  // stride <= 0
  EXPECT_EQ(set(0, 0, 1, -1, 1, 1, cc, f), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(0, 0, 1, 1, 0, 1, cc, f), CUDNN_STATUS_BAD_PARAM);  // dilation <= 0
  EXPECT_EQ(set(0, 0, 1, 1, 1, -3, cc, f), CUDNN_STATUS_BAD_PARAM);
  // (Every value in cudnnConvolutionMode_t's range is an enumerant: no invalid mode can be passed.)
  EXPECT_EQ(set(0, 0, 1, 1, 1, 1, cc, kNoDataType), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(set(0, 0, 1, 1, 1, 1, cc, CUDNN_DATA_HALF), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cudnnSetConvolutionGroupCount(c.get(), 0), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolutionGroupCount(c.get(), -2), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolutionGroupCount(nullptr, 1), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolutionMathType(c.get(), CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnSetConvolutionMathType(nullptr, CUDNN_FMA_MATH), CUDNN_STATUS_BAD_PARAM);
}

// cudnnConvolutionForward's documented BAD_PARAM and NOT_SUPPORTED cases, and the workspace rule.
TEST(SimCudnn, ForwardChecks) {
  const Shape sh = non_square();
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  DeviceArray<unsigned char> ws(4096);
  DeviceArray<float> dev_scalar(1);
  const float one = 1, zero = 0;
  auto fwd = [&](cudnnHandle_t hh, const void* a, const void* xp, const void* wp, void* yp, const void* b,
                 cudnnTensorDescriptor_t yd, cudnnConvolutionFwdAlgo_t al = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                 void* wsp = nullptr, size_t wsb = 0) {
    return cudnnConvolutionForward(hh, a, d.x.get(), xp, d.w.get(), wp, d.conv.get(), al, wsp, wsb, b, yd, yp);
  };
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get()), CUDNN_STATUS_SUCCESS);
  // NULL arguments.
  EXPECT_EQ(fwd(nullptr, &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), nullptr, dx.get(), dw.get(), dy.get(), &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), nullptr, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, nullptr, dw.get(), dy.get(), &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), nullptr, dy.get(), &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), nullptr, &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, nullptr), CUDNN_STATUS_BAD_PARAM);
  // alpha in device memory: cuDNN reads it on the host.
  EXPECT_EQ(fwd(h.get(), dev_scalar.get(), dx.get(), dw.get(), dy.get(), &zero, d.y.get()), CUDNN_STATUS_BAD_PARAM);
  // An algorithm that is no enumerant.
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), kNoAlgo), CUDNN_STATUS_BAD_PARAM);
  // y's N or K not the convolution's.
  TensorDesc bad_y;
  ASSERT_EQ(
      cudnnSetTensor4dDescriptor(bad_y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, sh.n + 1, sh.k, sh.p(), sh.q()),
      CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, bad_y.get()), CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(
      cudnnSetTensor4dDescriptor(bad_y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, sh.n, sh.k + 1, sh.p(), sh.q()),
      CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, bad_y.get()), CUDNN_STATUS_BAD_PARAM);
  // y's spatial size not OutputDim's: documented as NOT_SUPPORTED.
  ASSERT_EQ(cudnnSetTensor4dDescriptor(bad_y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, sh.n, sh.k, sh.q(), sh.p()),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, bad_y.get()), CUDNN_STATUS_NOT_SUPPORTED);
  // Workspace: less than the algorithm needs (implicit_precomp_gemm: 4096 by default).
  const auto precomp = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), precomp, ws.get(), 4095),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), precomp, nullptr, 4096),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), precomp, ws.get(), 4096),
            CUDNN_STATUS_SUCCESS);
  // Algorithms the table does not offer: listed unsupported (fft) or not listed (gemm).
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), CUDNN_CONVOLUTION_FWD_ALGO_FFT),
            CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(fwd(h.get(), &one, dx.get(), dw.get(), dy.get(), &zero, d.y.get(), CUDNN_CONVOLUTION_FWD_ALGO_GEMM),
            CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(h.sync(), cudaSuccess);
}

TEST(SimCudnn, ForwardRefusesOutputChannelsThatDoNotSplitIntoGroups) {
  Conv d;
  ASSERT_EQ(cudnnSetTensor4dDescriptor(d.x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 4, 5, 5),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 3, 2, 3, 3),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv.get(), 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv.get(), 2), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 3, 5, 5),
            CUDNN_STATUS_SUCCESS);
  Handle h;
  DeviceArray<float> dx(100), dw(54), dy(75);
  const float one = 1, zero = 0;
  EXPECT_EQ(cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_BAD_PARAM);
  size_t bytes = 0;
  EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &bytes),
            CUDNN_STATUS_BAD_PARAM);
}

TEST(SimCudnn, DestroyedDescriptorIsRefused) {
  const Shape sh = non_square();
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  cudnnFilterDescriptor_t gone = nullptr;
  ASSERT_EQ(cudnnCreateFilterDescriptor(&gone), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetFilter4dDescriptor(gone, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, sh.k, sh.c, sh.r, sh.s),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnDestroyFilterDescriptor(gone), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  const float one = 1, zero = 0;
  EXPECT_EQ(cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), gone, dw.get(), d.conv.get(),
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_BAD_PARAM);
}

// ---- workspace sizes and Find ------------------------------------------------------------------

TEST(SimCudnn, WorkspaceSizesFromTheDefaultTable) {
  const Shape sh = non_square();
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  auto size = [&](int algo, size_t* out) {
    return cudnnGetConvolutionForwardWorkspaceSize(h.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(algo), out);
  };
  size_t b = 99;
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &b), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &b), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(b, 4096u);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, &b), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(b, size_t{1} << 20);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_FFT, &b), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &b), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &b), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr), CUDNN_STATUS_BAD_PARAM);
}

struct FindResult {
  cudnnStatus_t status;
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf;
  std::vector<float> y;
};

FindResult find(const Shape& sh, const std::vector<float>& x, const std::vector<float>& w, size_t ws_bytes,
                int requested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT, cudnnMathType_t math = CUDNN_FMA_MATH) {
  FindResult out{};
  Handle h;
  Conv d;
  EXPECT_EQ(set_up(d, sh, math), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  DeviceArray<unsigned char> ws(std::max<size_t>(ws_bytes, 1));
  dx.upload(x);
  dw.upload(w);
  dy.upload(std::vector<float>(sh.y_size(), std::numeric_limits<float>::quiet_NaN()));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(requested, 1));
  int returned = -1;
  out.status =
      cudnnFindConvolutionForwardAlgorithmEx(h.get(), d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(), d.y.get(),
                                             dy.get(), requested, &returned, perf.data(), ws.get(), ws_bytes);
  if (out.status == CUDNN_STATUS_SUCCESS) {
    perf.resize(returned);
    out.perf = perf;
  }
  out.y = dy.download();  // no synchronisation: Find is host-blocking
  return out;
}

TEST(SimCudnn, FindReportsTheDefaultTableAndWritesY) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 22), w = random_values(sh.w_size(), 23);
  const FindResult r = find(sh, x, w, size_t{1} << 20);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(r.perf.size(), 4u);
  const cudnnConvolutionFwdAlgo_t algos[] = {
      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
      CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_CONVOLUTION_FWD_ALGO_FFT};
  const size_t memory[] = {0, 4096, size_t{1} << 20, 0};
  const cudnnMathType_t math[] = {CUDNN_FMA_MATH, CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH, CUDNN_FMA_MATH};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r.perf[i].algo, algos[i]);
    EXPECT_EQ(r.perf[i].memory, memory[i]);
    EXPECT_EQ(r.perf[i].mathType, math[i]);
    EXPECT_EQ(r.perf[i].determinism, CUDNN_DETERMINISTIC);
  }
  EXPECT_EQ(r.perf[0].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(r.perf[1].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(r.perf[2].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(r.perf[3].status, CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_FLOAT_EQ(r.perf[0].time, 1.0f);  // fastest first
  EXPECT_LT(r.perf[0].time, r.perf[1].time);
  EXPECT_LT(r.perf[1].time, r.perf[2].time);
  // y holds the first usable algorithm's (FMA) result.
  EXPECT_LE(max_error(r.y, reference(sh, x, w)), kFp32Tol);
}

TEST(SimCudnn, FindMarksAlgorithmsNeedingMoreWorkspaceAllocFailed) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 24), w = random_values(sh.w_size(), 25);
  const FindResult r = find(sh, x, w, 4096);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(r.perf.size(), 4u);
  EXPECT_EQ(r.perf[1].status, CUDNN_STATUS_SUCCESS);                                // needs 4096: fits
  EXPECT_EQ(r.perf[2].status, CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED);  // ALLOC_FAILED
  const FindResult none = find(sh, x, w, 0);
  ASSERT_EQ(none.status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(none.perf[0].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(none.perf[1].status, CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED);
}

TEST(SimCudnn, FindReturnsAtMostTheRequestedCount) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 26), w = random_values(sh.w_size(), 27);
  const FindResult two = find(sh, x, w, size_t{1} << 20, 2);
  ASSERT_EQ(two.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(two.perf.size(), 2u);
  EXPECT_EQ(two.perf[1].algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
  EXPECT_EQ(find(sh, x, w, 0, 0).status, CUDNN_STATUS_BAD_PARAM);
}

TEST(SimCudnn, FindArgumentChecks) {
  const Shape sh = non_square();
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  int returned = 0;
  auto find_ex = [&](cudnnHandle_t hh, int requested, int* ret, cudnnConvolutionFwdAlgoPerf_t* p) {
    return cudnnFindConvolutionForwardAlgorithmEx(hh, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(), d.y.get(),
                                                  dy.get(), requested, ret, p, nullptr, 0);
  };
  EXPECT_EQ(find_ex(h.get(), 8, &returned, perf), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(find_ex(nullptr, 8, &returned, perf), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(find_ex(h.get(), 0, &returned, perf), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(find_ex(h.get(), 8, nullptr, perf), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(find_ex(h.get(), 8, &returned, nullptr), CUDNN_STATUS_BAD_PARAM);
}

TEST(SimCudnn, FindFollowsACustomTable) {
  ScopedEnv algos("MODEBENCH_SIM_CUDNN_ALGOS",
                  "fft:CUDNN_STATUS_NOT_SUPPORTED, winograd:3007 , gemm:SUCCESS:64:tensor_op,"
                  "direct::128,implicit_gemm:EXECUTION_FAILED::default");
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 28), w = random_values(sh.w_size(), 29);
  const FindResult r = find(sh, x, w, 100);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(r.perf.size(), 5u);
  EXPECT_EQ(r.perf[0].algo, CUDNN_CONVOLUTION_FWD_ALGO_FFT);
  EXPECT_EQ(r.perf[0].status, CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(r.perf[1].algo, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD);
  EXPECT_EQ(r.perf[1].status, CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH);
  EXPECT_EQ(r.perf[2].algo, CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
  EXPECT_EQ(r.perf[2].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(r.perf[2].memory, 64u);
  EXPECT_EQ(r.perf[2].mathType, CUDNN_TENSOR_OP_MATH);
  EXPECT_EQ(r.perf[3].algo, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT);
  EXPECT_EQ(r.perf[3].status, CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED);  // 128 > 100
  EXPECT_EQ(r.perf[3].mathType, CUDNN_FMA_MATH);
  EXPECT_EQ(r.perf[4].algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
  EXPECT_EQ(r.perf[4].status, CUDNN_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(r.perf[4].mathType, CUDNN_DEFAULT_MATH);
  // The first usable one (gemm, tensor-op math) wrote y: TF32 on the cc 12.0 device.
  EXPECT_LE(max_error(r.y, reference(sh, x, w, /*round_tf32=*/true)), kFp32Tol);

  // The workspace query and Forward follow the same table.
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  size_t bytes = 0;
  auto size = [&](cudnnConvolutionFwdAlgo_t a) {
    return cudnnGetConvolutionForwardWorkspaceSize(h.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(), a, &bytes);
  };
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_GEMM), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(bytes, 64u);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD), CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH);
  EXPECT_EQ(size(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM), CUDNN_STATUS_NOT_SUPPORTED);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  const float one = 1, zero = 0;
  EXPECT_EQ(cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_EXECUTION_FAILED);  // fails as Find said it does
  EXPECT_EQ(h.sync(), cudaSuccess);
}

TEST(SimCudnn, EmptyTableMeansNoAlgorithm) {
  ScopedEnv algos("MODEBENCH_SIM_CUDNN_ALGOS", "");
  const Shape sh = non_square();
  const FindResult r = find(sh, random_values(sh.x_size(), 30), random_values(sh.w_size(), 31), 0);
  ASSERT_EQ(r.status, CUDNN_STATUS_SUCCESS);
  EXPECT_TRUE(r.perf.empty());
}

TEST(SimCudnn, MalformedTableIsBadParamWithOneLineOnStderr) {
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 32), w = random_values(sh.w_size(), 33);
  for (const char* bad : {"implicit_gemm:bogus", "nope", "gemm:0:12x", "gemm:0:0:fast", "gemm:0:0:fma:extra",
                          "gemm,,direct", "gemm:99999"}) {
    // Each value is reported once per process: a suffix (still malformed) keeps --gtest_repeat honest.
    static int run = 0;
    const std::string value = bad + std::to_string(run++);
    SCOPED_TRACE(value);
    ScopedEnv algos("MODEBENCH_SIM_CUDNN_ALGOS", value.c_str());
    testing::internal::CaptureStderr();
    const FindResult r = find(sh, x, w, 0);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.status, CUDNN_STATUS_BAD_PARAM);
    EXPECT_NE(err.find("MODEBENCH_SIM_CUDNN_ALGOS"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    Handle h;
    Conv d;
    ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
    size_t bytes = 0;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &bytes),
              CUDNN_STATUS_BAD_PARAM);
  }
}

// The loop of cudnn_conv.hpp's find(): the largest workspace any algorithm asks for, then Find with
// it, then the first successful FMA algorithm (strict fp32), which Forward then accepts.
TEST(SimCudnn, TheProjectsSelectionLoopRuns) {
  ScopedEnv algos("MODEBENCH_SIM_CUDNN_ALGOS",
                  "winograd_nonfused:0:2048:default,implicit_precomp_gemm:0:1024:fma,implicit_gemm");
  const Shape sh = non_square();
  const auto x = random_values(sh.x_size(), 34), w = random_values(sh.w_size(), 35);
  Handle h;
  Conv d;
  ASSERT_EQ(set_up(d, sh), CUDNN_STATUS_SUCCESS);
  size_t ws_bytes = 0;
  for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
    size_t need = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(h.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                static_cast<cudnnConvolutionFwdAlgo_t>(a),
                                                &need) == CUDNN_STATUS_SUCCESS)
      ws_bytes = std::max(ws_bytes, need);
  }
  ASSERT_EQ(ws_bytes, 2048u);
  DeviceArray<float> dx(sh.x_size()), dw(sh.w_size()), dy(sh.y_size());
  DeviceArray<unsigned char> ws(ws_bytes);
  dx.upload(x);
  dw.upload(w);
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  ASSERT_EQ(cudnnFindConvolutionForwardAlgorithmEx(h.get(), d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(),
                                                   d.y.get(), dy.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                   perf, ws.get(), ws_bytes),
            CUDNN_STATUS_SUCCESS);
  const cudnnConvolutionFwdAlgoPerf_t* chosen = nullptr;
  for (int i = 0; i < returned && !chosen; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType == CUDNN_FMA_MATH) chosen = &perf[i];
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
  ASSERT_EQ(cudnnSetConvolutionMathType(d.conv.get(), chosen->mathType), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudaMemcpy(dy.get(), std::vector<float>(sh.y_size(), -1.0f).data(), dy.bytes(), cudaMemcpyHostToDevice),
            cudaSuccess);
  const float one = 1, zero = 0;
  ASSERT_EQ(cudnnConvolutionForward(h.get(), &one, d.x.get(), dx.get(), d.w.get(), dw.get(), d.conv.get(), chosen->algo,
                                    ws.get(), chosen->memory, &zero, d.y.get(), dy.get()),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(h.sync(), cudaSuccess);
  EXPECT_LE(max_error(dy.download(), reference(sh, x, w)), kFp32Tol);
}

}  // namespace
