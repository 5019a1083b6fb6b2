#pragma once
// Torch's exceptions (c10::Error: a message, the CUDA runtime's error string in it, and a
// backtrace) as the harness's statuses, by the rules of harness/device/cuda_errors.hpp.
#include <functional>
#include <optional>
#include <string>

#include "harness/status.hpp"

namespace mb {

struct TorchErrorFacts {
  std::string message;         // without the backtrace
  bool out_of_memory = false;  // c10::OutOfMemoryError
  int last_runtime_error = 0;  // cudaGetLastError after the failure (0: none)
};

// The failure a torch error is: "CUDA error: <runtime string>" by its code (`code_of` maps the
// string back; sticky codes lose the device), CUBLAS_STATUS_* / CUDNN_STATUS_* by name and refined
// by the runtime's last error (a library kernel without an image is no_kernel_image), torch's
// out-of-memory error; anything else is `other`. The detail is the message's first line.
DeviceFailure classify_torch_error(const TorchErrorFacts& e,
                                   const std::function<std::optional<int>(const std::string&)>& code_of);

// Calls `f`; a torch error leaves as the DeviceFailure it is (classified against the process's
// CUDA runtime). Everything torch is called through this.
void torch_guarded(const std::function<void()>& f);

}  // namespace mb
