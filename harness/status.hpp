#pragma once
// The outcome vocabulary of docs/contract.md and the one value type that formats and parses
// it. No status text is built or read by hand anywhere else in C++; the report's parser
// reads the same committed vectors (tests/vectors/status_text.json) as this type's tests.
//
//   ok
//   unavailable: <why>           the mode cannot run here (no driver, built without CUDA)
//   busy: <why>                  the device is held by another process (exclusive compute mode)
//   not_run: <why>               never ran: the device was lost after a named earlier entry
//   failed: <class>: <detail>    it ran and a device, driver or library call failed
//   wrong: <detail>              it ran and the result is wrong (max_err=… tolerance=…)
//
// unavailable, busy and not_run are no evidence against an impl; failed and wrong are.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mb {

// In order of severity: a series' status over several processes is the most severe seen.
enum class StatusKind { ok, unavailable, busy, not_run, failed, wrong };

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

std::string_view to_string(StatusKind k);
std::string_view to_string(ErrorClass c);
std::optional<ErrorClass> parse_error_class(std::string_view s);

class Status {
 public:
  Status() = default;  // ok
  static Status ok() { return {}; }
  static Status unavailable(std::string why) { return {StatusKind::unavailable, ErrorClass::other, std::move(why)}; }
  static Status busy(std::string why) { return {StatusKind::busy, ErrorClass::other, std::move(why)}; }
  static Status not_run(std::string why) { return {StatusKind::not_run, ErrorClass::other, std::move(why)}; }
  static Status failed(ErrorClass c, std::string detail) { return {StatusKind::failed, c, std::move(detail)}; }
  static Status wrong(std::string detail) { return {StatusKind::wrong, ErrorClass::other, std::move(detail)}; }
  // "wrong: max_err=<x> tolerance=<t>", with max_err=nan and a note when the output was not finite.
  static Status wrong_result(double max_err, double tolerance, bool finite);

  StatusKind kind() const { return kind_; }
  bool is_ok() const { return kind_ == StatusKind::ok; }
  // Meaningful for failed only.
  ErrorClass error_class() const { return error_class_; }
  const std::string& detail() const { return detail_; }

  // docs/contract.md's text, e.g. "failed: out_of_memory: cudaMalloc: …".
  std::string text() const;
  // The inverse of text(); nullopt for a text that is not one of ours.
  static std::optional<Status> parse(std::string_view text);

  bool operator==(const Status&) const = default;
  friend bool operator==(const Status& s, StatusKind k) { return s.kind_ == k; }

 private:
  Status(StatusKind k, ErrorClass c, std::string d) : kind_(k), error_class_(c), detail_(std::move(d)) {}
  StatusKind kind_ = StatusKind::ok;
  ErrorClass error_class_ = ErrorClass::other;
  std::string detail_;
};

// The mode cannot run here (no driver, no device, built without CUDA). Expected, not a failure.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A device, driver or library call failed; the class says why in docs/contract.md's words.
// Sticky: the context is unusable afterwards (every later call returns the same error),
// so the device counts as lost for the rest of the process.
struct DeviceFailure : std::runtime_error {
  DeviceFailure(ErrorClass c, const std::string& detail, bool is_sticky = false)
      : std::runtime_error(detail), error_class(c), sticky(is_sticky) {}
  ErrorClass error_class;
  bool sticky;
};

// The device is held by another process (EXCLUSIVE_PROCESS compute mode) or refuses new
// work: no evidence against the impl, the status says busy.
struct DeviceBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The entry was not run: the device was lost to a sticky error of an earlier entry.
struct NotRun : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The user asked for something impossible (unknown name, batch <= 0, ...): exit 2 before any work.
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The status of the exception being handled (call inside a catch block). BadInput is
// rethrown: it is never a status, the caller reports it before any work.
Status status_of_current_exception();
// Whether the exception being handled is a sticky device failure (the device is lost).
bool current_exception_is_sticky();

}  // namespace mb
