#pragma once
// The CUDA runtime torch loaded (the wheel's own libcudart, through libtorch_cuda), asked by
// symbol lookup: the child is built without CUDA headers or the toolkit, and with a CPU-only
// wheel none of it is there. Only C entry points whose signatures are stable across CUDA
// releases are used.
#include <optional>
#include <string>

namespace mb {

struct TorchCudaRuntime {
  bool present = false;     // the process has a CUDA runtime (a CUDA wheel)
  int runtime_version = 0;  // cudaRuntimeGetVersion
  int driver_version = 0;   // cudaDriverGetVersion, 0 = no driver
  int device_count_error = 0;
  int device_count = 0;
  std::string device_name;  // device 0
  int device_cc = 0;        // major*10+minor of device 0
};

// Asked once per process.
const TorchCudaRuntime& torch_cuda_runtime();

// cudaGetErrorString of `code`; "" when there is no runtime.
std::string cuda_error_string(int code);
// The code whose cudaGetErrorString is `text` (torch's messages carry the string, not the code).
std::optional<int> cuda_error_code(const std::string& text);
// cudaGetLastError (reads and clears the slot); 0 when there is no runtime.
int cuda_take_last_error();

}  // namespace mb
