#pragma once
// Fast host linear: Y[B,out] = X[B,in] * W[out,in]^T + b.
#include <cstdint>
#include <memory>

namespace mb::cpu {

// OpenBLAS as a hand-written fallback would call it: bias broadcast into Y,
// then sgemm with beta = 1 (sgemv at B = 1). No state kept between calls.
void linear_openblas(const float* x, const float* w, const float* b, float* y, int64_t batch, int64_t in, int64_t out);

// oneDNN matmul with the weights reordered once into the layout the primitive
// prefers and the bias fused; run() only binds X and Y.
class OnednnLinear {
 public:
  OnednnLinear(const float* w, const float* b, int64_t batch, int64_t in, int64_t out);
  ~OnednnLinear();
  OnednnLinear(const OnednnLinear&) = delete;
  OnednnLinear& operator=(const OnednnLinear&) = delete;
  void run(const float* x, float* y);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mb::cpu
