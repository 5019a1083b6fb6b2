#pragma once
// Outcome vocabulary of contract.md: ok / unavailable / failed:<class> / wrong.
#include <stdexcept>
#include <string>
#include <string_view>

namespace mb {

enum class ErrorClass {
  no_kernel_image,
  unsupported_ptx,
  insufficient_driver,
  out_of_memory,
  launch_failure,
  library_error,
  timeout,
  other,
};

std::string_view to_string(ErrorClass c);

// The mode cannot run here (no driver, no device, built without CUDA). Expected, not a failure.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A device, driver or library call failed; the class says why in contract.md's words.
struct DeviceFailure : std::runtime_error {
  DeviceFailure(ErrorClass c, const std::string& detail) : std::runtime_error(detail), error_class(c) {}
  ErrorClass error_class;
};

// The user asked for something impossible (unknown name, batch <= 0, ...): exit 2 before any work.
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mb
