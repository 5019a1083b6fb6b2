#pragma once
// The simulated device's internals, shared by its runtime (runtime.cpp), cuBLAS (cublas.cpp),
// cuDNN (cudnn.cpp) and the SIMT emulation of our kernels (simt.cpp). Nothing outside sim/
// includes this: the rest of the project sees only the vendors' headers.
//
// The contract a simulated library follows:
//  - argument checks answer at call time with the vendor's documented status;
//  - the computation is enqueued on the stream the handle is bound to (enqueue) and runs only
//    when that stream is synchronised, so a missing synchronisation reads stale or poisoned data;
//  - device memory can be touched only inside enqueued work: outside it every device page is
//    PROT_NONE, so a host dereference of a device pointer faults;
//  - work checks every range it reads or writes with is_device_range and answers
//    cudaErrorIllegalAddress (sticky, as on a GPU) for one outside a live allocation.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mb::sim {

// Work a stream runs when it is synchronised: cudaSuccess, or the error the device raises.
using Work = std::function<cudaError_t()>;

// Enqueues `work` on `stream` (nullptr: the legacy default stream). Returns the sticky error if
// the context is lost, cudaErrorInvalidResourceHandle for a stream that does not exist.
cudaError_t enqueue(cudaStream_t stream, const char* what, Work work);

// True when [p, p + bytes) lies inside one live device allocation.
bool is_device_range(const void* p, size_t bytes);

// True for a stream created by cudaStreamCreate* and not destroyed, or nullptr (legacy default).
bool is_stream(cudaStream_t stream);

// MODEBENCH_SIM_FAULT: the status this occurrence of `call` is made to return, or 0 (none).
// The value is the vendor's code for the call's library (cudaError_t, cublasStatus_t, cudnnStatus_t).
int injected_fault(const char* call);

// The simulated device (MODEBENCH_SIM_DEVICE; sim/device_spec.cpp says the defaults).
struct DeviceSpec {
  int count = 1;  // 0: no device (cudaGetDeviceCount answers cudaErrorNoDevice)
  std::string name = "modebench simulated device";
  int cc_major = 12, cc_minor = 0;
  size_t memory_bytes = size_t{2} << 30;
  int max_threads_per_block = 1024;
  int max_block_dim[3] = {1024, 1024, 64};
  int max_grid_dim[3] = {0x7fffffff, 65535, 65535};
  size_t shared_per_block = 48 * 1024;
  int registers_per_block = 65536;
  int multiprocessors = 4;
  int warp_size = 32;
  bool busy = false;  // every device held by another process (cudaErrorDevicesUnavailable)
};
const DeviceSpec& device_spec();

// The context's sticky error (cudaSuccess while the context is usable). Once set, every runtime
// call returns it, as a real context does after an illegal address or a device-side assert.
cudaError_t sticky_error();

}  // namespace mb::sim
