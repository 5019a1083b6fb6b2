#pragma once
// knn chunked's compute steps as host loops, for driving its real chunk loop
// (ops/knn/stream.hpp) on the test device: the same per-query steps the CUDA
// kernels run (kernels/common/knn_search.hpp). A kernel runs after the copies
// queued before it, as on a stream, so each step drains them first.
#include "ops/knn/stream.hpp"
#include "tests/support/test_device.hpp"

namespace mb {

class HostKnnStreamKernels : public KnnStreamKernels {
 public:
  explicit HostKnnStreamKernels(TestDevice& dev) : dev_(dev) {}
  void init(const KnnChunkView<KnnPoint>& c) override;
  void mark(const KnnChunkView<KnnPoint>& c, unsigned char* flags) override;
  void scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count, const KnnPoint* tile) override;
  void finish(const KnnChunkView<KnnPoint>& c, float* out) override;

 protected:
  TestDevice& dev_;
};

}  // namespace mb
