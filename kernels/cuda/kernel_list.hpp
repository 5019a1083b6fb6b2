#pragma once
// Every __global__ kernel of ours, for the probe: it asks the driver which
// image (SASS or PTX JIT) each one loads on each device.
#include <vector>

namespace mb::cuda {

struct KernelRef {
  const char* name;
  const void* fn;  // host stub address, as cudaFuncGetAttributes takes it
};

std::vector<KernelRef> our_kernels();

}  // namespace mb::cuda
