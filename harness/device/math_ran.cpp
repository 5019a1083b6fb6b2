#include "harness/device/math_ran.hpp"

namespace mb {
namespace {
constexpr int kFirstTf32Cc = 80;  // Ampere
}

MathRan cublas_math(bool tf32_requested, int device_cc) {
  if (tf32_requested && device_cc >= kFirstTf32Cc) return {"tf32-allowed", Precision::tf32};
  return {"fp32", Precision::fp32};
}

MathRan cudnn_math(int cudnn_math_type, int device_cc) {
  switch (cudnn_math_type) {
    case kCudnnFmaMath: return {"fp32", Precision::fp32};
    case kCudnnTensorOpMath: return {"tf32", Precision::tf32};
    case kCudnnTensorOpAllowConversion: return {"tf32-or-lower", Precision::tf32};
    default:
      return device_cc >= kFirstTf32Cc ? MathRan{"tf32-allowed", Precision::tf32} : MathRan{"fp32", Precision::fp32};
  }
}

}  // namespace mb
