#pragma once
// The chunked knn's compute steps on a CUDA stream: KnnStreamer's kernels interface over
// kernels/cuda/knn.hpp. A template on that interface, so that the simulated device's tests drive
// a planted copy of the streamer through this same class (tests/sim/).
#include <cuda_runtime.h>

#include "harness/device/cuda/cuda_check.hpp"
#include "kernels/cuda/knn.hpp"
#include "ops/knn/stream.hpp"

namespace mb {

template <class Base = KnnStreamKernels>
class CudaKnnStreamKernels : public Base {
 public:
  explicit CudaKnnStreamKernels(cudaStream_t stream) : st_(stream) {}
  void init(const KnnChunkView<KnnPoint>& c) override {
    check_cuda(cuda::enqueue_knn_chunk_init(c, st_), "knn_chunk_init");
  }
  void mark(const KnnChunkView<KnnPoint>& c, unsigned char* flags) override {
    check_cuda(cuda::enqueue_knn_chunk_mark(c, flags, st_), "knn_chunk_mark");
  }
  void scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count, const KnnPoint* tile) override {
    check_cuda(cuda::enqueue_knn_chunk_scan(c, list, count, tile, st_), "knn_chunk_scan");
  }
  void finish(const KnnChunkView<KnnPoint>& c, float* out) override {
    check_cuda(cuda::enqueue_knn_chunk_finish(c, out, st_), "knn_chunk_finish");
  }

 private:
  cudaStream_t st_;
};

}  // namespace mb
