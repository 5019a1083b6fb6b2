// The simulated cuBLAS (sim/cublas.cpp) through the public CUDA runtime and cuBLAS APIs only,
// against a triple-loop reference: SGEMM in every transpose combination, its documented argument
// checks, the handle's life, the stream contract (work runs when its stream is synchronised),
// device-memory checks, TF32 rounding, fault injection, and the planted bugs of the call
// ops/linear/gpu.cpp makes, which the simulation must catch.
//
// Data are small multiples of 1/4 so that every product and sum is exact in fp32: results are
// compared exactly, whatever order OpenBLAS sums in (the TF32 cases' values are picked by bit).
// Cases that leave a sticky device error or need another device (MODEBENCH_SIM_DEVICE,
// MODEBENCH_SIM_FAULT) run in a child process, since neither can be undone in this one.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/sim/sim_test_support.hpp"

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// --- RAII wrappers over the public APIs ---

using DeviceFloats = mb::simtest::DeviceArray<float>;
using mb::simtest::ScopedEnv;
using mb::simtest::Stream;

class Handle {
 public:
  Handle() { EXPECT_EQ(cublasCreate(&h_), CUBLAS_STATUS_SUCCESS); }
  ~Handle() {
    if (h_ != nullptr) cublasDestroy(h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// --- the problem and its reference ---

// One column-major SGEMM's shape; leading dimensions default to the minimum plus a margin, so a
// wrong stride reads the NaN padding between columns.
struct Shape {
  cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
  int m = 7, n = 5, k = 3;
  int lda = 0, ldb = 0, ldc = 0;

  int a_rows() const { return ta == CUBLAS_OP_N ? m : k; }
  int a_cols() const { return ta == CUBLAS_OP_N ? k : m; }
  int b_rows() const { return tb == CUBLAS_OP_N ? k : n; }
  int b_cols() const { return tb == CUBLAS_OP_N ? n : k; }
  Shape& padded(int pad) {
    lda = a_rows() + pad;
    ldb = b_rows() + pad + 1;
    ldc = m + pad;
    return *this;
  }
  // Floats a column-major matrix occupies: the last column stops at its last row.
  static size_t extent(int rows, int cols, int ld) { return static_cast<size_t>((cols - 1) * ld + rows); }
  size_t a_size() const { return extent(a_rows(), a_cols(), lda); }
  size_t b_size() const { return extent(b_rows(), b_cols(), ldb); }
  size_t c_size() const { return extent(m, n, ldc); }
};

// Multiples of 1/4 in [-2, 2] in the stored elements, NaN between them (below a column's last row).
std::vector<float> stored_matrix(int rows, int cols, int ld, std::mt19937& rng) {
  std::uniform_int_distribution<int> quarter(-8, 8);
  std::vector<float> v(Shape::extent(rows, cols, ld), kNaN);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) v[static_cast<size_t>(j * ld + i)] = static_cast<float>(quarter(rng)) / 4.0f;
  return v;
}

// op(X)(i, j) of a column-major X with leading dimension ld.
double op_at(const std::vector<float>& x, cublasOperation_t op, int ld, int i, int j) {
  return op == CUBLAS_OP_N ? x[static_cast<size_t>(j * ld + i)] : x[static_cast<size_t>(i * ld + j)];
}

// C = alpha op(A) op(B) + beta C over the stored elements of C (its padding is left alone), the
// textbook loops; beta == 0 ignores what C held.
std::vector<float> reference_gemm(const Shape& s, float alpha, const std::vector<float>& a, const std::vector<float>& b,
                                  float beta, std::vector<float> c) {
  for (int j = 0; j < s.n; ++j)
    for (int i = 0; i < s.m; ++i) {
      double sum = 0;
      for (int p = 0; p < s.k; ++p) sum += op_at(a, s.ta, s.lda, i, p) * op_at(b, s.tb, s.ldb, p, j);
      float& out = c[static_cast<size_t>(j * s.ldc + i)];
      out = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * out));
    }
  return c;
}

// Element-wise equality that holds NaN equal to NaN (C's padding is NaN and must stay so).
::testing::AssertionResult same_floats(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "sizes " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i) {
    const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!both_nan && got[i] != want[i])
      return ::testing::AssertionFailure() << "element " << i << ": " << got[i] << " vs " << want[i];
  }
  return ::testing::AssertionSuccess();
}

// Runs one SGEMM on the handle's (default: legacy) stream and returns C after synchronising it.
std::vector<float> run_sgemm(cublasHandle_t h, const Shape& s, float alpha, const std::vector<float>& a,
                             const std::vector<float>& b, float beta, const std::vector<float>& c) {
  DeviceFloats da(a), db(b), dc(c);
  EXPECT_EQ(cublasSgemm(h, s.ta, s.tb, s.m, s.n, s.k, &alpha, da.get(), s.lda, db.get(), s.ldb, &beta, dc.get(), s.ldc),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  return dc.download();
}

std::string op_name(cublasOperation_t op) { return op == CUBLAS_OP_N ? "N" : op == CUBLAS_OP_T ? "T" : "C"; }

// --- child processes ---

// The last statement of a child: what it saw, on stderr for the parent's regex.
[[noreturn]] void report_and_exit(const std::string& seen) {
  std::fprintf(stderr, "seen: %s\n", seen.c_str());
  std::fflush(stderr);
  std::_Exit(0);
}

// Children re-execute this binary (threadsafe style), so they start with a fresh simulated
// device that reads the environment the parent set around EXPECT_EXIT.
class SimCublasDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// --- the project's call (ops/linear/gpu.cpp) ---

// Row-major Y[batch, out] = X[batch, in] W[out, in]^T + bias, at odd sizes.
struct Linear {
  int batch = 3, in = 13, out = 11;
  std::vector<float> x, w, bias;
  explicit Linear(std::mt19937& rng) {
    x = stored_matrix(in, batch, in, rng);
    w = stored_matrix(in, out, in, rng);
    bias = stored_matrix(out, 1, out, rng);
  }
  std::vector<float> y_prefilled() const {  // what fill_rows_with_bias leaves in Y
    std::vector<float> y;
    for (int r = 0; r < batch; ++r) y.insert(y.end(), bias.begin(), bias.end());
    return y;
  }
  std::vector<float> reference() const {
    std::vector<float> y(static_cast<size_t>(batch * out));
    for (int r = 0; r < batch; ++r)
      for (int o = 0; o < out; ++o) {
        double sum = bias[static_cast<size_t>(o)];
        for (int i = 0; i < in; ++i)
          sum += double{x[static_cast<size_t>(r * in + i)]} * w[static_cast<size_t>(o * in + i)];
        y[static_cast<size_t>(r * out + o)] = static_cast<float>(sum);
      }
    return y;
  }
};

// The SGEMM arguments that vary between the correct call and the planted bugs.
struct LinearCall {
  std::string name;
  cublasOperation_t ta, tb;
  int lda, ldb, ldc;
};

// Floats of other tensors after W and X when a test gives them room: enough for every planted bug.
constexpr size_t kRoom = 256;

LinearCall correct_call(const Linear& l) { return {"project's call", CUBLAS_OP_T, CUBLAS_OP_N, l.in, l.in, l.out}; }

// Runs `call` with W and X in buffers of `w_floats` and `x_floats` (their data first, then more
// quarter values, as other tensors in device memory would be). Returns the status and, when it
// launched, Y after synchronisation and the synchronisation's result.
struct LinearResult {
  cublasStatus_t status;
  cudaError_t sync = cudaSuccess;
  std::vector<float> y;
};
LinearResult run_linear(const Linear& l, const LinearCall& call, size_t w_floats, size_t x_floats) {
  std::mt19937 rng(7);
  auto filled = [&rng](const std::vector<float>& data, size_t floats) {
    std::vector<float> v = stored_matrix(static_cast<int>(floats), 1, static_cast<int>(floats), rng);
    std::copy(data.begin(), data.end(), v.begin());
    return v;
  };
  Handle h;
  DeviceFloats w(filled(l.w, w_floats)), x(filled(l.x, x_floats)), y(l.y_prefilled());
  const float one = 1.0f;
  LinearResult r;
  r.status = cublasSgemm(h.get(), call.ta, call.tb, l.out, l.batch, l.in, &one, w.get(), call.lda, x.get(), call.ldb,
                         &one, y.get(), call.ldc);
  if (r.status != CUBLAS_STATUS_SUCCESS) return r;
  r.sync = cudaStreamSynchronize(nullptr);
  if (r.sync == cudaSuccess) r.y = y.download();
  return r;
}

// The planted bugs: each valid-looking to the eye, each wrong.
std::vector<LinearCall> planted_calls(const Linear& l) {
  return {
      // (a) W's transpose flag flipped: W read as a column-major out x in matrix.
      {"(a) transa flipped to N", CUBLAS_OP_N, CUBLAS_OP_N, l.in, l.in, l.out},
      // (b) W's leading dimension taken from the output: below what transa = T needs.
      {"(b) lda = out", CUBLAS_OP_T, CUBLAS_OP_N, l.out, l.in, l.out},
      // (b') a leading dimension cuBLAS accepts but the layout does not have.
      {"(b') lda = in + 1", CUBLAS_OP_T, CUBLAS_OP_N, l.in + 1, l.in, l.out},
      // (c) X's transpose flag flipped.
      {"(c) transb flipped to T", CUBLAS_OP_T, CUBLAS_OP_T, l.in, l.in, l.out},
  };
}

// ============================================================================================

TEST(SimCublas, SgemmMatchesTheReferenceInEveryTransposeCombination) {
  std::mt19937 rng(1);
  Handle h;
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T})
      for (int pad : {0, 2}) {
        Shape s;
        s.ta = ta;
        s.tb = tb;
        s.padded(pad);
        SCOPED_TRACE(op_name(ta) + op_name(tb) + " pad " + std::to_string(pad));
        const std::vector<float> a = stored_matrix(s.a_rows(), s.a_cols(), s.lda, rng);
        const std::vector<float> b = stored_matrix(s.b_rows(), s.b_cols(), s.ldb, rng);
        // beta = 0: C's NaNs must not leak into the result.
        const std::vector<float> c_nan(s.c_size(), kNaN);
        EXPECT_TRUE(
            same_floats(run_sgemm(h.get(), s, 1.5f, a, b, 0.0f, c_nan), reference_gemm(s, 1.5f, a, b, 0.0f, c_nan)));
        // alpha and beta both in play.
        const std::vector<float> c = stored_matrix(s.m, s.n, s.ldc, rng);
        EXPECT_TRUE(same_floats(run_sgemm(h.get(), s, -0.5f, a, b, 2.0f, c), reference_gemm(s, -0.5f, a, b, 2.0f, c)));
      }
}

TEST(SimCublas, BetaOneAccumulatesOntoWhatCHeld) {
  std::mt19937 rng(2);
  Handle h;
  Shape s;
  s.ta = CUBLAS_OP_T;
  s.padded(1);
  const std::vector<float> a = stored_matrix(s.a_rows(), s.a_cols(), s.lda, rng);
  const std::vector<float> b = stored_matrix(s.b_rows(), s.b_cols(), s.ldb, rng);
  const std::vector<float> c = stored_matrix(s.m, s.n, s.ldc, rng);
  const std::vector<float> got = run_sgemm(h.get(), s, 1.0f, a, b, 1.0f, c);
  EXPECT_TRUE(same_floats(got, reference_gemm(s, 1.0f, a, b, 1.0f, c)));
  // Not the product alone: what C held is in the result.
  EXPECT_FALSE(same_floats(got, reference_gemm(s, 1.0f, a, b, 0.0f, c)));
}

TEST(SimCublas, ConjugateTransposeOfRealDataIsTheTranspose) {
  std::mt19937 rng(3);
  Handle h;
  Shape t;
  t.ta = CUBLAS_OP_T;
  t.tb = CUBLAS_OP_T;
  t.padded(1);
  Shape c_op = t;
  c_op.ta = CUBLAS_OP_C;
  c_op.tb = CUBLAS_OP_C;
  const std::vector<float> a = stored_matrix(t.a_rows(), t.a_cols(), t.lda, rng);
  const std::vector<float> b = stored_matrix(t.b_rows(), t.b_cols(), t.ldb, rng);
  const std::vector<float> c(t.c_size(), 0.0f);
  EXPECT_TRUE(same_floats(run_sgemm(h.get(), c_op, 1.0f, a, b, 0.0f, c), reference_gemm(t, 1.0f, a, b, 0.0f, c)));
}

TEST(SimCublas, WithoutAProductCIsOnlyScaled) {
  // BLAS: with k == 0 or alpha == 0, A and B are not read; beta == 0 clears C whatever it held.
  std::mt19937 rng(4);
  Handle h;
  Shape s;
  s.padded(1);
  const std::vector<float> a_nan(s.a_size(), kNaN), b_nan(s.b_size(), kNaN);
  const std::vector<float> c = stored_matrix(s.m, s.n, s.ldc, rng);
  std::vector<float> halved = c, zeroed = c;
  for (int j = 0; j < s.n; ++j)
    for (int i = 0; i < s.m; ++i) {
      halved[static_cast<size_t>(j * s.ldc + i)] *= 0.5f;
      zeroed[static_cast<size_t>(j * s.ldc + i)] = 0.0f;
    }
  EXPECT_TRUE(same_floats(run_sgemm(h.get(), s, 0.0f, a_nan, b_nan, 0.5f, c), halved));
  std::vector<float> c_nan = c;
  for (int j = 0; j < s.n; ++j) c_nan[static_cast<size_t>(j * s.ldc)] = kNaN;
  EXPECT_TRUE(same_floats(run_sgemm(h.get(), s, 0.0f, a_nan, b_nan, 0.0f, c_nan), zeroed));

  Shape k0 = s;
  k0.k = 0;
  k0.lda = k0.m;  // A is m x 0: no columns, any lda >= m
  k0.ldb = 1;     // B is 0 x n: ldb >= max(1, 0)
  DeviceFloats one_float(std::vector<float>{kNaN});
  DeviceFloats dc(c);
  const float alpha = 1.0f, beta = 0.5f;
  EXPECT_EQ(cublasSgemm(h.get(), k0.ta, k0.tb, k0.m, k0.n, 0, &alpha, one_float.get(), k0.lda, one_float.get(), k0.ldb,
                        &beta, dc.get(), k0.ldc),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_TRUE(same_floats(dc.download(), halved));
}

TEST(SimCublas, AnEmptyOutputSucceedsWithoutTouchingMemory) {
  Handle h;
  const float alpha = 1.0f, beta = 0.0f;
  // Null matrices: nothing is launched, so nothing faults.
  EXPECT_EQ(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, 0, 5, 3, &alpha, nullptr, 1, nullptr, 3, &beta, nullptr, 1),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, 7, 0, 3, &alpha, nullptr, 7, nullptr, 3, &beta, nullptr, 7),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(SimCublas, EveryDocumentedInvalidValueIsRefusedAtCallTime) {
  Handle h;
  // Room for any of the shapes below; C's content shows that no refused call launched work.
  std::vector<float> c_before(64);
  for (size_t i = 0; i < c_before.size(); ++i) c_before[i] = static_cast<float>(i);
  DeviceFloats a(std::vector<float>(64, 1.0f)), b(std::vector<float>(64, 1.0f)), c(c_before);
  const float alpha = 1.0f, beta = 1.0f;

  struct Call {
    cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
    int m = 7, n = 5, k = 3;
    const float* alpha;
    int lda = 7, ldb = 3;
    const float* beta;
    float* c;
    int ldc = 7;
  };
  const Call ok{.alpha = &alpha, .beta = &beta, .c = c.get()};
  auto status = [&](const Call& x) {
    return cublasSgemm(h.get(), x.ta, x.tb, x.m, x.n, x.k, x.alpha, a.get(), x.lda, b.get(), x.ldb, x.beta, x.c, x.ldc);
  };
  struct Case {
    const char* what;
    std::function<void(Call&)> change;
  };
  const std::vector<Case> invalid = {
      {"m < 0", [](Call& x) { x.m = -1; }},
      {"n < 0", [](Call& x) { x.n = -1; }},
      {"k < 0", [](Call& x) { x.k = -1; }},
      {"transa CONJG", [](Call& x) { x.ta = CUBLAS_OP_CONJG; }},
      {"transb CONJG", [](Call& x) { x.tb = CUBLAS_OP_CONJG; }},
      {"lda < m, transa N", [](Call& x) { x.lda = 6; }},
      {"lda < k, transa T", [](Call& x) { x.ta = CUBLAS_OP_T, x.lda = 2; }},
      {"lda < k, transa C", [](Call& x) { x.ta = CUBLAS_OP_C, x.lda = 2; }},
      {"lda < 1 with m = 0", [](Call& x) { x.m = 0, x.lda = 0, x.ldc = 1; }},
      {"ldb < k, transb N", [](Call& x) { x.ldb = 2; }},
      {"ldb < n, transb T", [](Call& x) { x.tb = CUBLAS_OP_T, x.ldb = 4; }},
      {"ldb < 1 with k = 0", [](Call& x) { x.k = 0, x.ldb = 0; }},
      {"ldc < m", [](Call& x) { x.ldc = 6; }},
      {"ldc < 1 with m = 0", [](Call& x) { x.m = 0, x.ldc = 0; }},
      {"alpha NULL", [](Call& x) { x.alpha = nullptr; }},
      {"beta NULL", [](Call& x) { x.beta = nullptr; }},
      {"C NULL with beta != 0", [](Call& x) { x.c = nullptr; }},
  };
  for (const Case& bad : invalid) {
    Call x = ok;
    bad.change(x);
    EXPECT_EQ(status(x), CUBLAS_STATUS_INVALID_VALUE) << bad.what;
  }
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_TRUE(same_floats(c.download(), c_before));

  // Each bound itself is accepted.
  const std::vector<Case> at_the_bound = {
      {"lda = m, transa N", [](Call&) {}},
      {"lda = k, transa T", [](Call& x) { x.ta = CUBLAS_OP_T, x.lda = 3; }},
      {"ldb = n, transb T", [](Call& x) { x.tb = CUBLAS_OP_T, x.ldb = 5; }},
  };
  for (const Case& edge : at_the_bound) {
    Call x = ok;
    edge.change(x);
    EXPECT_EQ(status(x), CUBLAS_STATUS_SUCCESS) << edge.what;
  }
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
}

TEST(SimCublas, ANullOrDestroyedHandleIsNotInitialized) {
  const float one = 1.0f;
  DeviceFloats a(std::vector<float>(21, 1.0f)), b(std::vector<float>(15, 1.0f)), c(std::vector<float>(35, 0.0f));
  auto sgemm = [&](cublasHandle_t h) {
    return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 3, &one, a.get(), 7, b.get(), 3, &one, c.get(), 7);
  };
  cublasHandle_t destroyed = nullptr;
  ASSERT_EQ(cublasCreate(&destroyed), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasDestroy(destroyed), CUBLAS_STATUS_SUCCESS);
  for (cublasHandle_t h : {static_cast<cublasHandle_t>(nullptr), destroyed}) {
    SCOPED_TRACE(h == nullptr ? "null handle" : "destroyed handle");
    EXPECT_EQ(sgemm(h), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasSetStream(h, nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasDestroy(h), CUBLAS_STATUS_NOT_INITIALIZED);
  }
  // A handle created afterwards works, and the destroyed one stays dead beside it.
  Handle fresh;
  EXPECT_EQ(sgemm(fresh.get()), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(sgemm(destroyed), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(SimCublas, CreateNeedsSomewhereToPutTheHandle) { EXPECT_EQ(cublasCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE); }

TEST(SimCublas, SetMathModeTakesTheDocumentedModes) {
  Handle h;
  for (cublasMath_t mode :
       {CUBLAS_DEFAULT_MATH, CUBLAS_PEDANTIC_MATH, CUBLAS_TF32_TENSOR_OP_MATH,
        static_cast<cublasMath_t>(CUBLAS_TF32_TENSOR_OP_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)})
    EXPECT_EQ(cublasSetMathMode(h.get(), mode), CUBLAS_STATUS_SUCCESS) << mode;
  for (int mode : {5, 6, 7, 8 | 5, 16 | 7})
    EXPECT_EQ(cublasSetMathMode(h.get(), static_cast<cublasMath_t>(mode)), CUBLAS_STATUS_INVALID_VALUE) << mode;
}

TEST(SimCublas, PropertiesAreTheHeadersVersion) {
  int major = -1, minor = -1, patch = -1;
  EXPECT_EQ(cublasGetProperty(MAJOR_VERSION, &major), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasGetProperty(MINOR_VERSION, &minor), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasGetProperty(PATCH_LEVEL, &patch), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(major, CUBLAS_VER_MAJOR);
  EXPECT_EQ(minor, CUBLAS_VER_MINOR);
  EXPECT_EQ(patch, CUBLAS_VER_PATCH);
  EXPECT_EQ(cublasGetProperty(MAJOR_VERSION, nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasGetProperty(static_cast<libraryPropertyType>(3), &major), CUBLAS_STATUS_INVALID_VALUE);
}

TEST(SimCublas, EveryStatusHasItsNameAndADescription) {
#define MB_STATUS(s) std::pair<cublasStatus_t, std::string>(s, #s)
  const std::vector<std::pair<cublasStatus_t, std::string>> statuses = {
      MB_STATUS(CUBLAS_STATUS_SUCCESS),          MB_STATUS(CUBLAS_STATUS_NOT_INITIALIZED),
      MB_STATUS(CUBLAS_STATUS_ALLOC_FAILED),     MB_STATUS(CUBLAS_STATUS_INVALID_VALUE),
      MB_STATUS(CUBLAS_STATUS_ARCH_MISMATCH),    MB_STATUS(CUBLAS_STATUS_MAPPING_ERROR),
      MB_STATUS(CUBLAS_STATUS_EXECUTION_FAILED), MB_STATUS(CUBLAS_STATUS_INTERNAL_ERROR),
      MB_STATUS(CUBLAS_STATUS_NOT_SUPPORTED),    MB_STATUS(CUBLAS_STATUS_LICENSE_ERROR),
  };
#undef MB_STATUS
  std::vector<std::string> descriptions;
  for (const auto& [status, name] : statuses) {
    EXPECT_EQ(cublasGetStatusName(status), name);
    const std::string description = cublasGetStatusString(status);
    EXPECT_FALSE(description.empty()) << name;
    EXPECT_NE(description, name);
    for (const std::string& other : descriptions) EXPECT_NE(description, other) << name;
    descriptions.push_back(description);
  }
  // Not a status: still a string (MODEBENCH_SIM_FAULT's parser asks every code), and no status's.
  const auto not_a_status = static_cast<cublasStatus_t>(2);
  ASSERT_NE(cublasGetStatusName(not_a_status), nullptr);
  ASSERT_NE(cublasGetStatusString(not_a_status), nullptr);
  for (const auto& [status, name] : statuses) EXPECT_NE(cublasGetStatusName(not_a_status), name);
}

TEST(SimCublas, WorkRunsWhenItsStreamIsSynchronised) {
  std::mt19937 rng(5);
  Handle h;
  Stream work, reader;
  Shape s;
  s.padded(1);
  const std::vector<float> a = stored_matrix(s.a_rows(), s.a_cols(), s.lda, rng);
  const std::vector<float> b = stored_matrix(s.b_rows(), s.b_cols(), s.ldb, rng);
  const std::vector<float> c = stored_matrix(s.m, s.n, s.ldc, rng);
  DeviceFloats da(a), db(b), dc(c);
  ASSERT_EQ(cublasSetStream(h.get(), work.get()), CUBLAS_STATUS_SUCCESS);
  float alpha = 2.0f;
  const float beta = 1.0f;
  ASSERT_EQ(
      cublasSgemm(h.get(), s.ta, s.tb, s.m, s.n, s.k, &alpha, da.get(), s.lda, db.get(), s.ldb, &beta, dc.get(), s.ldc),
      CUBLAS_STATUS_SUCCESS);
  alpha = 100.0f;  // host pointer mode: the value at the call counts, not the one at the run

  // Read C on another stream before `work` is synchronised: the old contents.
  std::vector<float> early(dc.size());
  ASSERT_EQ(cudaMemcpyAsync(early.data(), dc.get(), dc.bytes(), cudaMemcpyDeviceToHost, reader.get()), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(reader.get()), cudaSuccess);
  EXPECT_TRUE(same_floats(early, c));

  ASSERT_EQ(cudaStreamSynchronize(work.get()), cudaSuccess);
  EXPECT_TRUE(same_floats(dc.download(), reference_gemm(s, 2.0f, a, b, 1.0f, c)));
}

TEST(SimCublas, ALaunchOnAStreamThatNoLongerExistsFails) {
  Handle h;
  cudaStream_t gone = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&gone, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(gone), cudaSuccess);
  // cublasSetStream documents no check of the stream; the kernel launch is what fails.
  EXPECT_EQ(cublasSetStream(h.get(), gone), CUBLAS_STATUS_SUCCESS);
  const float one = 1.0f;
  DeviceFloats a(std::vector<float>(21, 1.0f)), b(std::vector<float>(15, 1.0f)), c(std::vector<float>(35, 0.0f));
  EXPECT_EQ(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 3, &one, a.get(), 7, b.get(), 3, &one, c.get(), 7),
            CUBLAS_STATUS_EXECUTION_FAILED);
  static_cast<void>(cudaGetLastError());  // whatever the failed launch left there is not this test's business
  EXPECT_EQ(cublasSetStream(h.get(), nullptr), CUBLAS_STATUS_SUCCESS);
  EXPECT_TRUE(same_floats(c.download(), std::vector<float>(35, 0.0f)));
}

// --- TF32 ---

// 1 + 2^-e: mantissa bits only fp32 has, and ties for TF32's rounding.
float one_plus(int e) { return 1.0f + std::ldexp(1.0f, -e); }

// Values and what rounding to TF32 (10 mantissa bits, nearest even) makes of them.
struct Tf32Case {
  float in, out;
};
std::vector<Tf32Case> tf32_cases() {
  return {
      {one_plus(23), 1.0f},                                      // below half an ulp: down
      {one_plus(11), 1.0f},                                      // a tie, kept lsb 0: down to even
      {one_plus(10) + std::ldexp(1.0f, -11), one_plus(9)},       // a tie, kept lsb 1: up to even
      {-(one_plus(11) + std::ldexp(1.0f, -23)), -one_plus(10)},  // above half an ulp: away
      {one_plus(10), one_plus(10)},                              // already TF32
      {3.0f * std::ldexp(1.0f, -20) + std::ldexp(1.0f, -31), 3.0f * std::ldexp(1.0f, -20)},  // small exponent
      {kInf, kInf},
      {-kInf, -kInf},
  };
}

// x * 1 for each value x, through SGEMM with the values in A (values_in_a) or in B.
std::vector<float> times_one(cublasHandle_t h, const std::vector<float>& values, bool values_in_a) {
  const int count = static_cast<int>(values.size());
  Shape s;
  s.k = 1;
  if (values_in_a) {
    s.m = count, s.n = 1, s.lda = count, s.ldb = 1, s.ldc = count;
    return run_sgemm(h, s, 1.0f, values, {1.0f}, 0.0f, std::vector<float>(values.size(), kNaN));
  }
  s.m = 1, s.n = count, s.lda = 1, s.ldb = 1, s.ldc = 1;
  return run_sgemm(h, s, 1.0f, {1.0f}, values, 0.0f, std::vector<float>(values.size(), kNaN));
}

TEST(SimCublas, Tf32MathRoundsBothInputsToNearestEven) {
  if (std::getenv("MODEBENCH_SIM_DEVICE") != nullptr) GTEST_SKIP() << "assumes the default device (CC 12.0)";
  std::vector<float> in, want;
  for (const Tf32Case& t : tf32_cases()) in.push_back(t.in), want.push_back(t.out);
  in.push_back(kNaN);
  want.push_back(kNaN);
  Handle h;
  for (bool values_in_a : {true, false}) {
    SCOPED_TRACE(values_in_a ? "values in A" : "values in B");
    // Strict fp32 by default: x * 1 is x.
    EXPECT_TRUE(same_floats(times_one(h.get(), in, values_in_a), in));
    ASSERT_EQ(cublasSetMathMode(h.get(), CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
    EXPECT_TRUE(same_floats(times_one(h.get(), in, values_in_a), want));
    // The reduction flag leaves the inputs' conversion alone.
    ASSERT_EQ(cublasSetMathMode(h.get(), static_cast<cublasMath_t>(CUBLAS_TF32_TENSOR_OP_MATH |
                                                                   CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
              CUBLAS_STATUS_SUCCESS);
    EXPECT_TRUE(same_floats(times_one(h.get(), in, values_in_a), want));
    {
      // Documented to override any programmatic configuration of NVIDIA libraries.
      ScopedEnv no_tf32("NVIDIA_TF32_OVERRIDE", "0");
      EXPECT_TRUE(same_floats(times_one(h.get(), in, values_in_a), in));
    }
    ASSERT_EQ(cublasSetMathMode(h.get(), CUBLAS_DEFAULT_MATH), CUBLAS_STATUS_SUCCESS);
    EXPECT_TRUE(same_floats(times_one(h.get(), in, values_in_a), in));
  }
}

TEST(SimCublas, Tf32ChangesAProductThatFp32KeepsExact) {
  if (std::getenv("MODEBENCH_SIM_DEVICE") != nullptr) GTEST_SKIP() << "assumes the default device (CC 12.0)";
  // (1 + 2^-12)(1 + 2^-12) = 1 + 2^-11 + 2^-24: fp32 keeps 1 + 2^-11 (its tie rounds to even);
  // TF32 rounds each input to 1 first.
  Handle h;
  Shape s;
  s.m = s.n = s.k = s.lda = s.ldb = s.ldc = 1;
  const std::vector<float> x{one_plus(12)}, c{0.0f};
  EXPECT_TRUE(same_floats(run_sgemm(h.get(), s, 1.0f, x, x, 0.0f, c), {one_plus(11)}));
  ASSERT_EQ(cublasSetMathMode(h.get(), CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
  EXPECT_TRUE(same_floats(run_sgemm(h.get(), s, 1.0f, x, x, 0.0f, c), {1.0f}));
}

// --- the project's call and its planted bugs ---

TEST(SimCublas, TheProjectsLinearCallMatchesTheReference) {
  std::mt19937 rng(6);
  const Linear l(rng);
  const LinearResult r = run_linear(l, correct_call(l), l.w.size(), l.x.size());
  ASSERT_EQ(r.status, CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(r.sync, cudaSuccess);
  EXPECT_TRUE(same_floats(r.y, l.reference()));
}

TEST(SimCublas, PlantedBugsInTheLinearCallAreCaught) {
  // With room around W and X (other tensors), a wrong call reads real numbers: it must be
  // refused or give a result that does not match.
  std::mt19937 rng(6);
  const Linear l(rng);
  const std::vector<float> want = l.reference();
  for (const LinearCall& bug : planted_calls(l)) {
    SCOPED_TRACE(bug.name);
    const LinearResult r = run_linear(l, bug, l.w.size() + kRoom, l.x.size() + kRoom);
    if (r.status == CUBLAS_STATUS_INVALID_VALUE) continue;
    ASSERT_EQ(r.status, CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(r.sync, cudaSuccess);
    EXPECT_FALSE(same_floats(r.y, want));
  }
  // (b) in particular is below the documented bound for transa = T.
  EXPECT_EQ(run_linear(l, planted_calls(l)[1], l.w.size() + kRoom, l.x.size() + kRoom).status,
            CUBLAS_STATUS_INVALID_VALUE);
}

// Child: `bug` with W and X in buffers of exactly their size.
std::string planted_on_exact_buffers(const Linear& l, const LinearCall& bug) {
  const LinearResult r = run_linear(l, bug, l.w.size(), l.x.size());
  if (r.status == CUBLAS_STATUS_INVALID_VALUE) return "caught (refused)";
  if (r.status == CUBLAS_STATUS_SUCCESS && r.sync == cudaErrorIllegalAddress) return "caught (illegal address)";
  return "missed: status " + std::to_string(r.status) + " sync " + std::to_string(r.sync);
}

TEST_F(SimCublasDeathTest, PlantedBugsOnTheProjectsExactBuffersAreCaught) {
  // Buffers exactly the project's sizes: every wrong call the sim accepts reads past W or X, an
  // illegal address when the stream is synchronised (sticky: each in its own child).
  std::mt19937 rng(6);
  const Linear l(rng);
  for (const LinearCall& bug : planted_calls(l)) {
    SCOPED_TRACE(bug.name);
    EXPECT_EXIT(report_and_exit(planted_on_exact_buffers(l, bug)), ::testing::ExitedWithCode(0), "seen: caught");
  }
}

// --- device-memory checks, lost context, device spec, fault injection (children) ---

// Child: an SGEMM with `operand` ("A", "B" or "C") one float short of its extent, then what the
// lost context answers.
std::string operand_one_float_short(const std::string& operand) {
  Handle h;
  Shape s;
  s.ta = CUBLAS_OP_T;
  s.padded(2);
  DeviceFloats a(s.a_size() - (operand == "A" ? 1 : 0));
  DeviceFloats b(s.b_size() - (operand == "B" ? 1 : 0));
  DeviceFloats c(s.c_size() - (operand == "C" ? 1 : 0));
  const float one = 1.0f;
  auto sgemm = [&] {
    return cublasSgemm(h.get(), s.ta, s.tb, s.m, s.n, s.k, &one, a.get(), s.lda, b.get(), s.ldb, &one, c.get(), s.ldc);
  };
  const cublasStatus_t call = sgemm();
  const cudaError_t sync = cudaStreamSynchronize(nullptr);
  // The context is lost: the next launch fails, and so does a new handle.
  const cublasStatus_t next = sgemm();
  cublasHandle_t another = nullptr;
  const cublasStatus_t create = cublasCreate(&another);
  return "call=" + std::to_string(call) + " sync=" + std::to_string(sync) + " next=" + std::to_string(next) +
         " create=" + std::to_string(create);
}

TEST_F(SimCublasDeathTest, AnOperandPastItsAllocationIsAnIllegalAddressAtSynchronisation) {
  // Each operand one float short of its extent in turn (leading dimensions above the minimum, so
  // the extent is not rows * cols). The call itself succeeds: the fault is the kernel's.
  for (const char* operand : {"A", "B", "C"}) {
    SCOPED_TRACE(operand);
    EXPECT_EXIT(report_and_exit(operand_one_float_short(operand)), ::testing::ExitedWithCode(0),
                "seen: call=0 sync=" + std::to_string(cudaErrorIllegalAddress) +
                    " next=" + std::to_string(CUBLAS_STATUS_EXECUTION_FAILED) +
                    " create=" + std::to_string(CUBLAS_STATUS_NOT_INITIALIZED));
  }
}

// Child: whether x * 1 keeps every TF32 case's input exactly with TF32 math mode set.
std::string tf32_mode_on_this_device() {
  std::vector<float> in;
  for (const Tf32Case& t : tf32_cases()) in.push_back(t.in);
  Handle h;
  const cublasStatus_t set = cublasSetMathMode(h.get(), CUBLAS_TF32_TENSOR_OP_MATH);
  const bool a_exact = same_floats(times_one(h.get(), in, true), in);
  const bool b_exact = same_floats(times_one(h.get(), in, false), in);
  return "set=" + std::to_string(set) + " exact=" + std::to_string(a_exact) + std::to_string(b_exact);
}

TEST_F(SimCublasDeathTest, Tf32IsStrictFp32BelowAmpere) {
  // CC 7.5 has no TF32 tensor cores: TF32 math mode is accepted and computes in fp32.
  ScopedEnv turing("MODEBENCH_SIM_DEVICE", "cc=7.5");
  EXPECT_EXIT(report_and_exit(tf32_mode_on_this_device()), ::testing::ExitedWithCode(0), "seen: set=0 exact=11");
}

// Child: cublasCreate's status and cublasGetProperty's, which needs no device.
std::string create_and_version() {
  cublasHandle_t h = nullptr;
  const cublasStatus_t create = cublasCreate(&h);
  int major = 0;
  const cublasStatus_t property = cublasGetProperty(MAJOR_VERSION, &major);
  return "create=" + std::to_string(create) + " property=" + std::to_string(property);
}

TEST_F(SimCublasDeathTest, NoUsableDeviceMeansCreateIsNotInitialized) {
  for (const char* device : {"count=0", "busy=1"}) {
    SCOPED_TRACE(device);
    ScopedEnv env("MODEBENCH_SIM_DEVICE", device);
    EXPECT_EXIT(report_and_exit(create_and_version()), ::testing::ExitedWithCode(0),
                "seen: create=" + std::to_string(CUBLAS_STATUS_NOT_INITIALIZED) + " property=0");
  }
}

// Child: the statuses of successive calls of each kind.
std::string calls_in_turn() {
  std::string seen;
  cublasHandle_t h = nullptr;
  seen += "create=" + std::to_string(cublasCreate(&h));
  seen += "," + std::to_string(cublasCreate(&h));
  const float one = 1.0f;
  DeviceFloats a(std::vector<float>(21, 1.0f));
  DeviceFloats b(std::vector<float>(15, 1.0f));
  DeviceFloats c(std::vector<float>(35, 0.0f));
  seen += " sgemm=";
  for (int i = 0; i < 3; ++i)
    seen += std::to_string(
                cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 3, &one, a.get(), 7, b.get(), 3, &one, c.get(), 7)) +
            (i < 2 ? "," : "");
  seen += " math=";
  for (int i = 0; i < 3; ++i) seen += std::to_string(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)) + (i < 2 ? "," : "");
  int major = 0;
  seen += " property=" + std::to_string(cublasGetProperty(MAJOR_VERSION, &major));
  seen += "," + std::to_string(cublasGetProperty(MAJOR_VERSION, &major));
  seen += " sync=" + std::to_string(cudaStreamSynchronize(nullptr));
  return seen;
}

TEST_F(SimCublasDeathTest, InjectedFaultsAnswerTheChosenOccurrences) {
  ScopedEnv faults("MODEBENCH_SIM_FAULT",
                   "cublasCreate:1:CUBLAS_STATUS_ALLOC_FAILED;cublasSgemm:2:CUBLAS_STATUS_EXECUTION_FAILED;"
                   "cublasSetMathMode:2+:CUBLAS_STATUS_INTERNAL_ERROR;cublasGetProperty:1:CUBLAS_STATUS_NOT_SUPPORTED");
  EXPECT_EXIT(report_and_exit(calls_in_turn()), ::testing::ExitedWithCode(0),
              "seen: create=" + std::to_string(CUBLAS_STATUS_ALLOC_FAILED) + ",0 sgemm=0," +
                  std::to_string(CUBLAS_STATUS_EXECUTION_FAILED) + ",0 math=0," +
                  std::to_string(CUBLAS_STATUS_INTERNAL_ERROR) + "," + std::to_string(CUBLAS_STATUS_INTERNAL_ERROR) +
                  " property=" + std::to_string(CUBLAS_STATUS_NOT_SUPPORTED) + ",0 sync=0");
}

}  // namespace
