#include <cub/device/device_radix_sort.cuh>

#include "kernels/cuda/radix_sort.hpp"

namespace mb::cuda {

cudaError_t radix_sort_pairs(void* temp, size_t& temp_bytes, const uint32_t* keys_in, uint32_t* keys_out,
                             const uint32_t* values_in, uint32_t* values_out, int n, int begin_bit, int end_bit,
                             cudaStream_t stream) {
  return cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, values_in, values_out, n, begin_bit,
                                         end_bit, stream);
}

}  // namespace mb::cuda
