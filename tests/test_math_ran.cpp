// Labels say what ran, not what was asked for (harness/device/math_ran.hpp).
#include <gtest/gtest.h>

#include "harness/device/math_ran.hpp"

namespace mb {
namespace {

TEST(MathRan, CublasTf32IsOnlyAllowedWhereTheDeviceHasIt) {
  EXPECT_EQ(cublas_math(true, 75).label, "fp32");  // Turing: no TF32, the strict tolerance applies
  EXPECT_EQ(cublas_math(true, 75).precision, Precision::fp32);
  EXPECT_EQ(cublas_math(true, 80).label, "tf32-allowed");
  EXPECT_EQ(cublas_math(true, 120).precision, Precision::tf32);
  EXPECT_EQ(cublas_math(false, 90).label, "fp32");
}

TEST(MathRan, CudnnSaysWhatTheChosenAlgorithmsMathTypeIs) {
  EXPECT_EQ(cudnn_math(kCudnnFmaMath, 90).label, "fp32");
  EXPECT_EQ(cudnn_math(kCudnnTensorOpMath, 90).label, "tf32");
  EXPECT_EQ(cudnn_math(kCudnnTensorOpAllowConversion, 90).label, "tf32-or-lower");
  EXPECT_EQ(cudnn_math(kCudnnDefaultMath, 86).label, "tf32-allowed");
  EXPECT_EQ(cudnn_math(kCudnnDefaultMath, 75).label, "fp32");
  EXPECT_EQ(cudnn_math(kCudnnDefaultMath, 75).precision, Precision::fp32);
  EXPECT_EQ(cudnn_math(kCudnnTensorOpMath, 80).precision, Precision::tf32);
}

}  // namespace
}  // namespace mb
