#pragma once
// The one radix sort our kernels use, behind a small interface: CUB's DeviceRadixSort::SortPairs
// under nvcc (radix_sort.cu), a host sort with the same contract on the simulated device
// (sim/radix_sort.cpp), since CUB's kernels (ballots, atomics, inline PTX) cannot be emulated as
// written. The contract: with temp == nullptr only temp_bytes is set (the storage the sort needs);
// otherwise the n (key, value) pairs are sorted by the key bits [begin_bit, end_bit), stably,
// into keys_out/values_out, enqueued on `stream`.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace mb::cuda {

cudaError_t radix_sort_pairs(void* temp, size_t& temp_bytes, const uint32_t* keys_in, uint32_t* keys_out,
                             const uint32_t* values_in, uint32_t* values_out, int n, int begin_bit, int end_bit,
                             cudaStream_t stream);

}  // namespace mb::cuda
