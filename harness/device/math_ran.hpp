#pragma once
// What arithmetic a vendor library's call actually ran with, for the label (`math=`) and
// the tolerance (the precision). Pure, so the rules run in host tests.
// - cuBLAS does not report it: with TF32 requested, `tf32-allowed` where the device has
//   TF32 tensor cores (CC >= 8.0), else `fp32` (sm_75 has none: the strict tolerance applies).
// - cuDNN reports the math type the chosen algorithm was measured with: FMA is fp32; tensor-op
//   math is tf32 on fp32 data; default math allows TF32 on CC >= 8.0; allowing conversion
//   may go below TF32 and is labelled so (its tolerance is still TF32's: a lower-precision
//   result fails validation, which is the finding).
#include <string>

#include "harness/precision.hpp"

namespace mb {

struct MathRan {
  std::string label;  // the value of math=
  Precision precision;
};

MathRan cublas_math(bool tf32_requested, int device_cc);

// cudnnMathType_t values of cuDNN 9 (static_asserted in harness/device/cuda/cuda_check.hpp).
inline constexpr int kCudnnDefaultMath = 0, kCudnnTensorOpMath = 1, kCudnnTensorOpAllowConversion = 2,
                     kCudnnFmaMath = 3;
MathRan cudnn_math(int cudnn_math_type, int device_cc);

}  // namespace mb
