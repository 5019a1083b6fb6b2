#include "providers/torch/torch_errors.hpp"

#include <c10/util/Exception.h>

#include "harness/device/cuda_errors.hpp"
#include "providers/torch/torch_runtime.hpp"

namespace mb {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// A cuBLAS or cuDNN status named in the message, by the classes of classify_cublas_status and
// classify_cudnn_status (their numbers differ between cuDNN 8 and 9; the names do not).
std::optional<ErrorClass> library_class(const std::string& m) {
  if (!has(m, "CUBLAS_STATUS_") && !has(m, "CUDNN_STATUS_")) return std::nullopt;
  if (has(m, "ARCH_MISMATCH")) return ErrorClass::no_kernel_image;
  if (has(m, "ALLOC_FAILED")) return ErrorClass::out_of_memory;
  if (has(m, "EXECUTION_FAILED")) return ErrorClass::launch_failure;
  if (has(m, "INCOMPATIBLE_CUDA_DRIVER")) return ErrorClass::insufficient_driver;
  return ErrorClass::library_error;
}

}  // namespace

DeviceFailure classify_torch_error(const TorchErrorFacts& e,
                                   const std::function<std::optional<int>(const std::string&)>& code_of) {
  const std::string detail = first_line(e.message);
  if (e.out_of_memory) return DeviceFailure(ErrorClass::out_of_memory, detail);
  if (const std::optional<ErrorClass> lib = library_class(e.message))
    return DeviceFailure(refine_library_failure(*lib, e.last_runtime_error), detail,
                         is_sticky_cuda_error(e.last_runtime_error));
  static constexpr std::string_view kCudaError = "CUDA error: ";
  if (const size_t at = detail.find(kCudaError); at != std::string::npos) {
    if (const std::optional<int> code = code_of(detail.substr(at + kCudaError.size())))
      return DeviceFailure(classify_cuda_error(*code), detail, is_sticky_cuda_error(*code));
  }
  return DeviceFailure(ErrorClass::other, detail);
}

void torch_guarded(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::OutOfMemoryError& e) {
    throw classify_torch_error({e.what_without_backtrace(), true, cuda_take_last_error()}, cuda_error_code);
  } catch (const c10::Error& e) {
    throw classify_torch_error({e.what_without_backtrace(), false, cuda_take_last_error()}, cuda_error_code);
  }
}

}  // namespace mb
