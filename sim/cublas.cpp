// The simulated cuBLAS: the calls the project makes (harness/device/cuda/cuda_device.cpp,
// ops/linear/gpu.cpp) with the argument checks and statuses of NVIDIA's cuBLAS documentation.
// SGEMM checks its arguments at call time and enqueues the product on the handle's stream
// (sim.hpp says the contract); the product itself is OpenBLAS's, an engine that is not ours.
#include <cblas.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sim/sim.hpp"

// The header leaves the context incomplete: this is what a handle points to.
struct cublasContext {
  static constexpr uint32_t kAlive = 0xC0B1A5ED, kDead = 0xDEADC0B1;
  uint32_t magic = kAlive;
  cudaStream_t stream = nullptr;  // cuBLAS's default: the legacy NULL stream
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

// Every context ever created. A destroyed one stays here, dead, so that a stale handle answers
// CUBLAS_STATUS_NOT_INITIALIZED instead of reading freed memory or aliasing a newer handle.
// Never destroyed: a device closed from a static destructor may still call cublasDestroy.
struct Registry {
  std::mutex mutex;
  std::unordered_map<const cublasContext*, std::unique_ptr<cublasContext>> contexts;
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

// The live context `h` names, or nullptr; call with the registry's mutex held.
cublasContext* live_locked(cublasHandle_t h) {
  if (h == nullptr) return nullptr;
  auto it = registry().contexts.find(h);
  if (it == registry().contexts.end() || it->second->magic != cublasContext::kAlive) return nullptr;
  return it->second.get();
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// For real data the conjugate transpose is the transpose.
CBLAS_TRANSPOSE to_cblas(cublasOperation_t op) { return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

// A column-major matrix as stored: `rows` x `cols` elements, columns `ld` apart.
struct Stored {
  const float* p;
  int64_t rows, cols, ld;
};

// True when every element of `m` lies in one live device allocation.
bool on_device(const Stored& m) {
  if (m.rows == 0 || m.cols == 0) return true;
  // rows <= ld and both fit in int: the extent fits in int64 without overflow.
  const int64_t extent = (m.cols - 1) * m.ld + m.rows;
  if (static_cast<uint64_t>(extent) > SIZE_MAX / sizeof(float)) return false;
  return m.p != nullptr && mb::sim::is_device_range(m.p, static_cast<size_t>(extent) * sizeof(float));
}

// fp32 -> TF32 (10 explicit mantissa bits), round to nearest even as cuBLAS documents for its
// input conversions; NaN and Inf are kept.
float round_to_tf32(float x) {
  if (!std::isfinite(x)) return x;
  constexpr uint32_t kDropped = 23 - 10;  // fp32 mantissa bits TF32 does not keep
  constexpr uint32_t kHalf = (1u << (kDropped - 1)) - 1;
  uint32_t u = std::bit_cast<uint32_t>(x);
  u += kHalf + ((u >> kDropped) & 1u);  // ties go to the even kept mantissa
  u &= ~((1u << kDropped) - 1);
  return std::bit_cast<float>(u);
}

// `m` rounded to TF32, packed with ld = rows.
std::vector<float> tf32_copy(const Stored& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  for (int64_t j = 0; j < m.cols; ++j)
    for (int64_t i = 0; i < m.rows; ++i) out[static_cast<size_t>(j * m.rows + i)] = round_to_tf32(m.p[j * m.ld + i]);
  return out;
}

// Whether an SGEMM called now runs on TF32 tensor cores: asked for by the math mode, present on
// the device (CC >= 8.0), and not vetoed by NVIDIA_TF32_OVERRIDE=0 (documented to override any
// programmatic configuration of NVIDIA libraries).
bool tf32_now(cublasMath_t math) {
  constexpr int kPrecisionBits = 0x7;  // the mode without CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION
  if ((static_cast<int>(math) & kPrecisionBits) != CUBLAS_TF32_TENSOR_OP_MATH) return false;
  if (mb::sim::device_spec().cc_major < 8) return false;
  const char* override_env = std::getenv("NVIDIA_TF32_OVERRIDE");
  return !(override_env != nullptr && std::strcmp(override_env, "0") == 0);
}

// The values cublasSetMathMode accepts: one precision mode (CUBLAS_DEFAULT_MATH ..
// CUBLAS_FP32_EMULATED_BF16X9_MATH), optionally with the fp64 emulation bit and the
// disallow-reduced-precision flag.
bool valid_math(cublasMath_t mode) {
  const int v = static_cast<int>(mode);
  const int known = 0x7 | CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  return (v & ~known) == 0 && (v & 0x7) <= CUBLAS_FP32_EMULATED_BF16X9_MATH;
}

}  // namespace

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) {
  if (int f = mb::sim::injected_fault("cublasCreate")) return static_cast<cublasStatus_t>(f);
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  // No device, every device held elsewhere, or a lost context: the CUDA runtime initialisation
  // cuBLAS needs fails.
  const mb::sim::DeviceSpec& spec = mb::sim::device_spec();
  if (spec.count == 0 || spec.busy || mb::sim::sticky_error() != cudaSuccess) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto ctx = std::make_unique<cublasContext>();
  cublasContext* h = ctx.get();
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().contexts.emplace(h, std::move(ctx));
  }
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle) {
  if (int f = mb::sim::injected_fault("cublasDestroy")) return static_cast<cublasStatus_t>(f);
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    cublasContext* ctx = live_locked(handle);
    if (ctx == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    ctx->magic = cublasContext::kDead;
  }
  // Documented: releasing the handle's resources implicitly calls cudaDeviceSynchronize(). Its
  // error, if any, stays with the runtime for the caller's next runtime call to see.
  static_cast<void>(cudaDeviceSynchronize());
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  if (int f = mb::sim::injected_fault("cublasSetStream")) return static_cast<cublasStatus_t>(f);
  std::lock_guard<std::mutex> lock(registry().mutex);
  cublasContext* ctx = live_locked(handle);
  if (ctx == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  // The documented statuses are success and not-initialised only: the stream is not checked
  // here; a launch on a stream that does not exist fails (cublasSgemm answers it).
  ctx->stream = streamId;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (int f = mb::sim::injected_fault("cublasSetMathMode")) return static_cast<cublasStatus_t>(f);
  std::lock_guard<std::mutex> lock(registry().mutex);
  cublasContext* ctx = live_locked(handle);
  if (ctx == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_math(mode)) return CUBLAS_STATUS_INVALID_VALUE;
  ctx->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasGetProperty(libraryPropertyType type, int* value) {
  if (int f = mb::sim::injected_fault("cublasGetProperty")) return static_cast<cublasStatus_t>(f);
  if (value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the cuBLAS library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "resource allocation failed inside the cuBLAS library";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the function requires a feature absent from the device architecture";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal cuBLAS operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the functionality requested requires a license that could not be checked";
  }
  return "unknown cuBLAS status";
}

cublasStatus_t CUBLASWINAPI cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                           int m, int n, int k, const float* alpha, const float* A, int lda,
                                           const float* B, int ldb, const float* beta, float* C, int ldc) {
  if (int f = mb::sim::injected_fault("cublasSgemm")) return static_cast<cublasStatus_t>(f);
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    const cublasContext* ctx = live_locked(handle);
    if (ctx == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    stream = ctx->stream;
    math = ctx->math;
  }
  // The documented CUBLAS_STATUS_INVALID_VALUE cases, in the documented order.
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!valid_op(transa) || !valid_op(transb)) return CUBLAS_STATUS_INVALID_VALUE;
  const Stored a{A, transa == CUBLAS_OP_N ? m : k, transa == CUBLAS_OP_N ? k : m, lda};
  const Stored b{B, transb == CUBLAS_OP_N ? k : n, transb == CUBLAS_OP_N ? n : k, ldb};
  const Stored c{C, m, n, ldc};
  if (lda < std::max<int64_t>(1, a.rows)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldb < std::max<int64_t>(1, b.rows)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  // CUBLAS_POINTER_MODE_HOST (the default, and all this simulation has): the scalars are read
  // now, so the caller's variables may go out of scope before the stream runs.
  const float alpha_v = *alpha, beta_v = *beta;
  if (C == nullptr && beta_v != 0.0f) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;  // nothing to launch
  // A lost context fails every launch; the runtime keeps the error for cudaGetLastError.
  if (mb::sim::sticky_error() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  const bool tf32 = tf32_now(math);  // the mode at call time, as the kernel choice is made then

  const cudaError_t launched = mb::sim::enqueue(stream, "cublasSgemm", [=]() -> cudaError_t {
    // As a kernel would, touch only what the product reads: A and B not at all when k == 0 or
    // alpha == 0 (BLAS's contract), C always.
    const bool reads_ab = k > 0 && alpha_v != 0.0f;
    if ((reads_ab && (!on_device(a) || !on_device(b))) || !on_device(c)) return cudaErrorIllegalAddress;
    if (!reads_ab) {
      // C = beta * C; beta == 0 writes zeros whatever C held (it need not be a valid input).
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
          float& x = C[static_cast<int64_t>(j) * ldc + i];
          x = beta_v == 0.0f ? 0.0f : beta_v * x;
        }
      return cudaSuccess;
    }
    if (!tf32) {
      cblas_sgemm(CblasColMajor, to_cblas(transa), to_cblas(transb), m, n, k, alpha_v, A, lda, B, ldb, beta_v, C, ldc);
      return cudaSuccess;
    }
    // TF32 tensor cores: inputs rounded to TF32, products and sums in fp32. A product of two
    // TF32 values is exact in fp32, so an fp32 GEMM of the rounded copies is the same arithmetic.
    const std::vector<float> a32 = tf32_copy(a), b32 = tf32_copy(b);
    cblas_sgemm(CblasColMajor, to_cblas(transa), to_cblas(transb), m, n, k, alpha_v, a32.data(),
                static_cast<int>(a.rows), b32.data(), static_cast<int>(b.rows), beta_v, C, ldc);
    return cudaSuccess;
  });
  // A stream that does not exist (or a context lost meanwhile): the kernel fails to launch.
  return launched == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // extern "C"
