// linear on the GPU: cuBLAS SGEMM into an output pre-filled with the bias
// (beta = 1, the way PyTorch's addmm does it), strict fp32 or TF32.
#include <cublas_v2.h>

#include <limits>

#include "harness/device/cuda/cuda_check.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "harness/status.hpp"
#include "kernels/cuda/bias.hpp"
#include "ops/linear/linear.hpp"

namespace mb {
namespace {

int blas_dim(int64_t v, const char* what) {
  if (v <= 0 || v > std::numeric_limits<int>::max())
    throw BadInput(std::string("cuBLAS cannot take ") + what + " = " + std::to_string(v));
  return static_cast<int>(v);
}

class CublasLinear : public Instance {
 public:
  CublasLinear(LinearProblem& p, CudaDevice& dev, bool tf32)
      : p_(p),
        dev_(dev),
        tf32_(tf32),
        math_(cublas_math(tf32, dev.compute_capability())),
        batch_(blas_dim(p.shape.batch, "batch")),
        in_(blas_dim(p.shape.in, "in")),
        out_(blas_dim(p.shape.out, "out")),
        x_(dev, p.x.size()),
        w_(dev, p.w.size()),
        b_(dev, p.b.size()),
        y_(dev, p.y.size()) {
    x_.upload(p.x.data());
    w_.upload(p.w.data());
    b_.upload(p.b.data());
    // NaN bytes: a result that was never written cannot validate.
    check_cuda(cudaMemsetAsync(y_.data(), 0xFF, y_.bytes(), dev.stream()), "cudaMemsetAsync(y)");
    dev.synchronize();
  }

  void run() override {
    cublasHandle_t h = dev_.cublas();
    // The handle is shared by every instance: set its math mode on each call.
    check_cublas(cublasSetMathMode(h, tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    check_cuda(cuda::fill_rows_with_bias(y_.data(), b_.data(), batch_, out_, dev_.stream()), "fill_rows_with_bias");
    // Row-major Y[B,out] = X[B,in] W[out,in]^T is column-major Y^T = W^T X^T.
    const float one = 1.0f;
    check_cublas(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out_, batch_, in_, &one, w_.data(), in_, x_.data(), in_, &one,
                             y_.data(), out_),
                 "cublasSgemm");
  }
  double timed_run_ms() override {
    return time_on_stream_ms(dev_, [this] { run(); });
  }
  void fetch_outputs() override { y_.download(p_.y.data()); }
  std::string label() const override {
    return "math=" + math_.label + ";blas=cublas_sgemm;" + kernel_image_label(cuda::fill_rows_with_bias_kernel());
  }
  Precision precision() const override { return math_.precision; }

 private:
  LinearProblem& p_;
  CudaDevice& dev_;
  bool tf32_;  // asked for; math_ says what the device makes of it
  MathRan math_;
  int batch_, in_, out_;
  DeviceArray<float> x_, w_, b_, y_;
};

}  // namespace

std::unique_ptr<Instance> make_cublas_linear(LinearProblem& p, Device& dev, Precision precision) {
  return std::make_unique<CublasLinear>(p, as_cuda(dev), precision == Precision::tf32);
}

std::vector<KernelRef> linear_gpu_kernels() {
  return {{"fill_rows_with_bias", cuda::fill_rows_with_bias_kernel(), "bias.cu"}};
}

}  // namespace mb
