#pragma once
// The threads per block each of our kernels is launched with (kernels/cuda/launch_table.json).
#include <cuda_runtime.h>

#include <string>

namespace mb::sim {

// Empty when `kernel` is in the table and `block` has its threads; otherwise why not.
std::string check_launch_shape(const char* kernel, dim3 block);

}  // namespace mb::sim
