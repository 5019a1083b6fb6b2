#include "harness/status.hpp"

namespace mb {

std::string_view to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::no_kernel_image: return "no_kernel_image";
    case ErrorClass::unsupported_ptx: return "unsupported_ptx";
    case ErrorClass::insufficient_driver: return "insufficient_driver";
    case ErrorClass::out_of_memory: return "out_of_memory";
    case ErrorClass::launch_failure: return "launch_failure";
    case ErrorClass::library_error: return "library_error";
    case ErrorClass::timeout: return "timeout";
    case ErrorClass::other: return "other";
  }
  return "other";
}

}  // namespace mb
