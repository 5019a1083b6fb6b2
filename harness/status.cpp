#include "harness/status.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <new>

namespace mb {
namespace {

constexpr std::array<std::pair<StatusKind, std::string_view>, 6> kKinds = {{
    {StatusKind::ok, "ok"},
    {StatusKind::unavailable, "unavailable"},
    {StatusKind::busy, "busy"},
    {StatusKind::not_run, "not_run"},
    {StatusKind::failed, "failed"},
    {StatusKind::wrong, "wrong"},
}};

constexpr std::array<std::pair<ErrorClass, std::string_view>, 8> kClasses = {{
    {ErrorClass::no_kernel_image, "no_kernel_image"},
    {ErrorClass::unsupported_ptx, "unsupported_ptx"},
    {ErrorClass::insufficient_driver, "insufficient_driver"},
    {ErrorClass::out_of_memory, "out_of_memory"},
    {ErrorClass::launch_failure, "launch_failure"},
    {ErrorClass::library_error, "library_error"},
    {ErrorClass::timeout, "timeout"},
    {ErrorClass::other, "other"},
}};

constexpr std::string_view kSeparator = ": ";

}  // namespace

std::string_view to_string(StatusKind k) {
  for (const auto& [kind, name] : kKinds)
    if (kind == k) return name;
  return "failed";
}

std::string_view to_string(ErrorClass c) {
  for (const auto& [cls, name] : kClasses)
    if (cls == c) return name;
  return "other";
}

std::optional<ErrorClass> parse_error_class(std::string_view s) {
  for (const auto& [cls, name] : kClasses)
    if (name == s) return cls;
  return std::nullopt;
}

Status Status::wrong_result(double max_err, double tolerance, bool finite) {
  char buf[160];
  if (finite)
    std::snprintf(buf, sizeof buf, "max_err=%.3g tolerance=%.3g", max_err, tolerance);
  else
    std::snprintf(buf, sizeof buf, "max_err=nan tolerance=%.3g (NaN or Inf in the output)", tolerance);
  return wrong(buf);
}

std::string Status::text() const {
  std::string out(to_string(kind_));
  if (kind_ == StatusKind::ok) return out;
  out += kSeparator;
  if (kind_ == StatusKind::failed) (out += to_string(error_class_)) += kSeparator;
  return out + detail_;
}

std::optional<Status> Status::parse(std::string_view text) {
  if (text == "ok") return Status::ok();
  for (const auto& [kind, name] : kKinds) {
    if (kind == StatusKind::ok || text.substr(0, name.size()) != name) continue;
    std::string_view rest = text.substr(name.size());
    if (rest.substr(0, kSeparator.size()) != kSeparator) return std::nullopt;
    rest.remove_prefix(kSeparator.size());
    ErrorClass cls = ErrorClass::other;
    if (kind == StatusKind::failed) {
      const size_t end = rest.find(kSeparator);
      if (end == std::string_view::npos) return std::nullopt;
      const std::optional<ErrorClass> parsed = parse_error_class(rest.substr(0, end));
      if (!parsed) return std::nullopt;
      cls = *parsed;
      rest.remove_prefix(end + kSeparator.size());
    }
    if (rest.empty()) return std::nullopt;
    return Status(kind, cls, std::string(rest));
  }
  return std::nullopt;
}

Status status_of_current_exception() {
  try {
    throw;
  } catch (const BadInput&) {
    throw;
  } catch (const Unavailable& u) {
    return Status::unavailable(u.what());
  } catch (const DeviceBusy& b) {
    return Status::busy(b.what());
  } catch (const NotRun& n) {
    return Status::not_run(n.what());
  } catch (const DeviceFailure& f) {
    return Status::failed(f.error_class, f.what());
  } catch (const std::bad_alloc&) {
    return Status::failed(ErrorClass::out_of_memory, "host allocation failed");
  } catch (const std::exception& ex) {
    return Status::failed(ErrorClass::other, ex.what());
  } catch (...) {
    return Status::failed(ErrorClass::other, "unknown exception");
  }
}

bool current_exception_is_sticky() {
  try {
    throw;
  } catch (const DeviceFailure& f) {
    return f.sticky;
  } catch (...) {
    return false;
  }
}

}  // namespace mb
