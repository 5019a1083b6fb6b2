#pragma once
// The chunked knn's compute steps on the simulated device, for the real KnnStreamer's interface
// and a planted copy's (the same as ops/knn/gpu.cpp's CudaKnnStreamKernels, which is private).
#include <cuda_runtime.h>

#include "harness/device/cuda/cuda_check.hpp"
#include "kernels/cuda/knn.hpp"

namespace mb::simtest {

template <class Base>
class SimKnnKernels : public Base {
 public:
  explicit SimKnnKernels(cudaStream_t stream) : s_(stream) {}
  void init(const KnnChunkView<KnnPoint>& c) override {
    check_cuda(cuda::enqueue_knn_chunk_init(c, s_), "knn_chunk_init");
  }
  void mark(const KnnChunkView<KnnPoint>& c, unsigned char* flags) override {
    check_cuda(cuda::enqueue_knn_chunk_mark(c, flags, s_), "knn_chunk_mark");
  }
  void scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count, const KnnPoint* tile) override {
    check_cuda(cuda::enqueue_knn_chunk_scan(c, list, count, tile, s_), "knn_chunk_scan");
  }
  void finish(const KnnChunkView<KnnPoint>& c, float* out) override {
    check_cuda(cuda::enqueue_knn_chunk_finish(c, out, s_), "knn_chunk_finish");
  }

 private:
  cudaStream_t s_;
};

}  // namespace mb::simtest
