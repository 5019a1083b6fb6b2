#pragma once
// RAII cuDNN descriptors and the once-per-shape forward-algorithm choice shared
// by conv2d and the cuDNN SSIM (CUDA builds only; header-only, used by harness/cuda).
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "harness/device/cuda/cuda_check.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "harness/status.hpp"

namespace mb {

template <class H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { check_cudnn(Create(&h_), "cudnnCreate*Descriptor"); }
  ~CudnnDescriptor() {
    if (h_) Destroy(h_);
  }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  H get() const { return h_; }

 private:
  H h_ = nullptr;
};

using TensorDesc = CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

// cuDNN takes int dimensions.
inline int cudnn_dim(int64_t v, const char* what, int64_t min = 1) {
  if (v < min || v > std::numeric_limits<int>::max())
    throw BadInput(std::string("cuDNN cannot take ") + what + " = " + std::to_string(v));
  return static_cast<int>(v);
}

// One cross-correlation in NCHW fp32: descriptors plus the chosen algorithm. Stride, padding
// and dilation per axis: conv1d is a 2-D convolution of height 1 (stride 1, no padding and
// dilation 1 along h).
struct ConvSetup {
  int64_t n, c, h, w, k, r, s;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
};

struct ConvChoice {
  cudnnConvolutionFwdAlgo_t algo{};
  cudnnMathType_t math{};
  size_t workspace = 0;
};

inline const char* conv_algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "implicit_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "implicit_precomp_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "direct";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "fft";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "fft_tiling";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "winograd";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "winograd_nonfused";
    default: return "unknown";
  }
}

// Descriptors of one convolution; tf32=false restricts cuDNN to FMA kernels (strict fp32).
class CudnnConv {
 public:
  CudnnConv(const ConvSetup& s, bool tf32) : s_(s), tf32_(tf32) {
    check_cudnn(cudnnSetTensor4dDescriptor(x_.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cudnn_dim(s.n, "N"),
                                           cudnn_dim(s.c, "C"), cudnn_dim(s.h, "H"), cudnn_dim(s.w, "W")),
                "cudnnSetTensor4dDescriptor(x)");
    check_cudnn(
        cudnnSetFilter4dDescriptor(w_.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cudnn_dim(s.k, "K"),
                                   cudnn_dim(s.c / s.groups, "C/groups"), cudnn_dim(s.r, "R"), cudnn_dim(s.s, "S")),
        "cudnnSetFilter4dDescriptor");
    check_cudnn(
        cudnnSetConvolution2dDescriptor(conv_.get(), cudnn_dim(s.pad_h, "pad_h", 0), cudnn_dim(s.pad_w, "pad_w", 0),
                                        cudnn_dim(s.stride_h, "stride_h"), cudnn_dim(s.stride_w, "stride_w"),
                                        cudnn_dim(s.dilation_h, "dilation_h"), cudnn_dim(s.dilation_w, "dilation_w"),
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
    check_cudnn(cudnnSetConvolutionGroupCount(conv_.get(), cudnn_dim(s.groups, "groups")),
                "cudnnSetConvolutionGroupCount");
    check_cudnn(cudnnSetConvolutionMathType(conv_.get(), tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
                "cudnnSetConvolutionMathType");
    int n = 0, k = 0, p = 0, q = 0;
    check_cudnn(cudnnGetConvolution2dForwardOutputDim(conv_.get(), x_.get(), w_.get(), &n, &k, &p, &q),
                "cudnnGetConvolution2dForwardOutputDim");
    p_ = p;
    q_ = q;
    check_cudnn(cudnnSetTensor4dDescriptor(y_.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, p, q),
                "cudnnSetTensor4dDescriptor(y)");
  }

  int64_t P() const { return p_; }
  int64_t Q() const { return q_; }

  // Picks the fastest algorithm by measurement (cudnnFindConvolutionForwardAlgorithmEx on
  // the real buffers; y is overwritten) once per shape and math per process, then fixes
  // the descriptor's math type to the one that algorithm was measured with.
  // MODEBENCH_CUDNN_ALGO=<name> (the GPU check's knob: implicit_gemm, fft, winograd, ...) takes
  // that algorithm instead, so each one's accuracy is validated; unavailable where cuDNN has none.
  ConvChoice choose(CudaDevice& dev, const float* x, const float* w, float* y) {
    const std::string key = key_string() + "," + forced_algorithm();
    {
      std::lock_guard<std::mutex> lock(cache_mutex());
      auto it = cache().find(key);
      if (it != cache().end()) return apply(it->second);
    }
    ConvChoice c = find(dev, x, w, y);
    std::lock_guard<std::mutex> lock(cache_mutex());
    cache()[key] = c;
    return apply(c);
  }

  void forward(cudnnHandle_t h, const ConvChoice& c, const float* x, const float* w, float* y, void* workspace) const {
    const float one = 1.0f, zero = 0.0f;
    check_cudnn(cudnnConvolutionForward(h, &one, x_.get(), x, w_.get(), w, conv_.get(), c.algo, workspace, c.workspace,
                                        &zero, y_.get(), y),
                "cudnnConvolutionForward");
  }

 private:
  static std::string forced_algorithm() {
    const char* v = std::getenv("MODEBENCH_CUDNN_ALGO");
    return v ? v : "";
  }

  std::string key_string() const {
    const auto& s = s_;
    std::string key;
    for (int64_t v : {s.n, s.c, s.h, s.w, s.k, s.r, s.s, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h,
                      s.dilation_w, s.groups})
      key += std::to_string(v) + ",";
    return key + (tf32_ ? "tf32" : "fp32");
  }
  static std::map<std::string, ConvChoice>& cache() {
    static std::map<std::string, ConvChoice> m;
    return m;
  }
  static std::mutex& cache_mutex() {
    static std::mutex m;
    return m;
  }

  ConvChoice apply(const ConvChoice& c) {
    check_cudnn(cudnnSetConvolutionMathType(conv_.get(), c.math), "cudnnSetConvolutionMathType");
    return c;
  }

  ConvChoice find(CudaDevice& dev, const float* x, const float* w, float* y) {
    cudnnHandle_t h = dev.cudnn();
    // Workspace for the search: the largest any algorithm asks for, within half the free memory.
    size_t free_b = 0, total_b = 0;
    check_cuda(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    size_t ws_bytes = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
      size_t need = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(h, x_.get(), w_.get(), conv_.get(), y_.get(),
                                                  static_cast<cudnnConvolutionFwdAlgo_t>(a),
                                                  &need) == CUDNN_STATUS_SUCCESS &&
          need <= free_b / 2)
        ws_bytes = std::max(ws_bytes, need);
    }
    DeviceArray<unsigned char> ws(dev, std::max<size_t>(ws_bytes, 1));
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    check_cudnn(
        cudnnFindConvolutionForwardAlgorithmEx(h, x_.get(), x, w_.get(), w, conv_.get(), y_.get(), y,
                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf, ws.data(), ws_bytes),
        "cudnnFindConvolutionForwardAlgorithmEx");
    // Sorted fastest first; strict fp32 accepts only algorithms measured with FMA math.
    std::vector<int> statuses;
    bool rejected_for_math = false;
    const std::string forced = forced_algorithm();
    for (int i = 0; i < returned; ++i) {
      statuses.push_back(static_cast<int>(perf[i].status));
      if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
      if (!tf32_ && perf[i].mathType != CUDNN_FMA_MATH) {
        rejected_for_math = true;
        continue;
      }
      if (!forced.empty() && forced != conv_algo_name(perf[i].algo)) continue;
      return ConvChoice{perf[i].algo, perf[i].mathType, perf[i].memory};
    }
    if (!forced.empty())
      throw Unavailable("cuDNN has no usable " + forced + " algorithm for this shape and math (MODEBENCH_CUDNN_ALGO)");
    // "Unable to find a valid cuDNN algorithm": the per-algorithm statuses say why.
    if (rejected_for_math)
      throw DeviceFailure(ErrorClass::library_error, "cuDNN found no FMA-math forward algorithm (only tensor-op ones)");
    const NoAlgorithm why = classify_no_algorithm(statuses);
    throw DeviceFailure(why.error_class, "cuDNN found no usable forward algorithm: " + why.statuses);
  }

  ConvSetup s_;
  bool tf32_;
  TensorDesc x_, y_;
  FilterDesc w_;
  ConvDesc conv_;
  int64_t p_ = 0, q_ = 0;
};

}  // namespace mb
