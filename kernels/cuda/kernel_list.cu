#include "kernels/cuda/bias.hpp"
#include "kernels/cuda/kernel_list.hpp"
#include "kernels/cuda/knn.hpp"
#include "kernels/cuda/ssim.hpp"

namespace mb::cuda {

std::vector<KernelRef> our_kernels() {
  const KnnKernelRefs knn = knn_kernels();
  return {
      {"fill_rows_with_bias", fill_rows_with_bias_kernel()},
      {"add_bias_nchw", add_bias_nchw_kernel()},
      {"ssim_fused", ssim_fused_kernel()},
      {"multiply", multiply_kernel()},
      {"ssim_map", ssim_map_kernel()},
      {"ssim_mean", ssim_mean_kernel()},
      {"knn_bounds", knn.bounds},
      {"knn_bounds_total", knn.bounds_total},
      {"knn_morton", knn.morton},
      {"knn_gather", knn.gather},
      {"knn_boxes", knn.boxes},
      {"knn_query", knn.query},
      {"knn_chunk_init", knn.chunk_init},
      {"knn_chunk_mark", knn.chunk_mark},
      {"knn_chunk_scan", knn.chunk_scan},
      {"knn_chunk_finish", knn.chunk_finish},
  };
}

}  // namespace mb::cuda
