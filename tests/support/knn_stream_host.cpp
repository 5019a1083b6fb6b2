#include "tests/support/knn_stream_host.hpp"

#include <algorithm>

namespace mb {

void HostKnnStreamKernels::init(const KnnChunkView<KnnPoint>& c) {
  dev_.synchronize();
  for (int64_t i = c.q_begin; i < c.q_end; ++i) knn_chunk_init(c, i);
}

void HostKnnStreamKernels::mark(const KnnChunkView<KnnPoint>& c, unsigned char* flags) {
  dev_.synchronize();
  std::fill(flags, flags + knn_box_count(c.n), 0);
  for (int64_t i = c.q_begin; i < c.q_end; ++i) knn_chunk_mark(c, i, flags);
}

void HostKnnStreamKernels::scan(const KnnChunkView<KnnPoint>& c, const int32_t* list, int64_t count,
                                const KnnPoint* tile) {
  dev_.synchronize();
  for (int64_t i = c.q_begin; i < c.q_end; ++i) knn_chunk_scan(c, i, list, count, tile);
}

void HostKnnStreamKernels::finish(const KnnChunkView<KnnPoint>& c, float* out) {
  dev_.synchronize();
  for (int64_t i = c.q_begin; i < c.q_end; ++i) out[i - c.q_begin] = c.state[i - c.q_begin].mean();
}

}  // namespace mb
