// The simulated device's radix sort (kernels/cuda/radix_sort.hpp has the contract): a stable
// host sort by the key bits [begin_bit, end_bit), run on the stream like CUB's kernels.
#include "kernels/cuda/radix_sort.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "sim/sim.hpp"

namespace mb::cuda {
namespace {
// What the sort asks for: room to double-buffer keys and values, as CUB's does.
size_t needed_bytes(int n) { return static_cast<size_t>(n) * 2 * sizeof(uint32_t) + 256; }
}  // namespace

cudaError_t radix_sort_pairs(void* temp, size_t& temp_bytes, const uint32_t* keys_in, uint32_t* keys_out,
                             const uint32_t* values_in, uint32_t* values_out, int n, int begin_bit, int end_bit,
                             cudaStream_t stream) {
  if (n < 0 || begin_bit < 0 || end_bit > 32 || begin_bit >= end_bit) return cudaErrorInvalidValue;
  if (temp == nullptr) {
    temp_bytes = needed_bytes(n);
    return cudaSuccess;
  }
  if (temp_bytes < needed_bytes(n)) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const size_t bytes = static_cast<size_t>(n) * sizeof(uint32_t);
  return sim::enqueue(stream, "radix_sort_pairs", [=]() -> cudaError_t {
    for (const void* p : {static_cast<const void*>(keys_in), static_cast<const void*>(keys_out),
                          static_cast<const void*>(values_in), static_cast<const void*>(values_out)})
      if (!sim::is_device_range(p, bytes)) return cudaErrorIllegalAddress;
    if (!sim::is_device_range(temp, needed_bytes(n))) return cudaErrorIllegalAddress;
    const uint32_t mask = (end_bit - begin_bit == 32 ? ~0u : ((1u << (end_bit - begin_bit)) - 1u)) << begin_bit;
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return (keys_in[a] & mask) < (keys_in[b] & mask); });
    std::vector<uint32_t> k(static_cast<size_t>(n)), v(static_cast<size_t>(n));
    for (size_t i = 0; i < order.size(); ++i) {
      k[i] = keys_in[order[i]];
      v[i] = values_in[order[i]];
    }
    std::copy(k.begin(), k.end(), keys_out);
    std::copy(v.begin(), v.end(), values_out);
    return cudaSuccess;
  });
}

}  // namespace mb::cuda
