// The simulated device's configuration from the environment: which device it is
// (MODEBENCH_SIM_DEVICE) and which calls fail (MODEBENCH_SIM_FAULT). A malformed value is one
// line on stderr and exit 2: a test that meant to inject a fault must not pass without it.
#include <cublas_v2.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sim/sim.hpp"

namespace mb::sim {
namespace {

[[noreturn]] void bad_config(const std::string& what) {
  std::fprintf(stderr, "modebench sim: %s\n", what.c_str());
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

long long parse_int(const std::string& v, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0') bad_config(what + ": '" + v + "' is not an integer");
  return x;
}

// "16G", "512M", "1048576": bytes.
size_t parse_bytes(const std::string& v, const std::string& what) {
  if (v.empty()) bad_config(what + ": empty size");
  size_t scale = 1;
  std::string digits = v;
  const char unit = v.back();
  if (unit == 'K' || unit == 'M' || unit == 'G') {
    scale = unit == 'K' ? size_t{1} << 10 : unit == 'M' ? size_t{1} << 20 : size_t{1} << 30;
    digits.pop_back();
  }
  const long long n = parse_int(digits, what);
  if (n <= 0 || static_cast<unsigned long long>(n) > (~size_t{0}) / scale)
    bad_config(what + ": '" + v + "' out of range");
  return static_cast<size_t>(n) * scale;
}

DeviceSpec parse_spec() {
  DeviceSpec s;
  const char* env = std::getenv("MODEBENCH_SIM_DEVICE");
  if (!env || !*env) return s;
  for (const std::string& item : split(env, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) bad_config("MODEBENCH_SIM_DEVICE: '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const std::string what = "MODEBENCH_SIM_DEVICE " + key;
    if (key == "name") {
      s.name = value;
    } else if (key == "cc") {
      const std::vector<std::string> parts = split(value, '.');
      if (parts.size() != 2) bad_config(what + ": '" + value + "' is not major.minor");
      s.cc_major = static_cast<int>(parse_int(parts[0], what));
      s.cc_minor = static_cast<int>(parse_int(parts[1], what));
      if (s.cc_major < 1 || s.cc_major > 99 || s.cc_minor < 0 || s.cc_minor > 9) bad_config(what + ": out of range");
    } else if (key == "memory") {
      s.memory_bytes = parse_bytes(value, what);
    } else if (key == "count") {
      s.count = static_cast<int>(parse_int(value, what));
      if (s.count < 0 || s.count > 16) bad_config(what + ": out of range");
    } else if (key == "busy") {
      s.busy = parse_int(value, what) != 0;
    } else if (key == "max_threads_per_block") {
      s.max_threads_per_block = static_cast<int>(parse_int(value, what));
    } else if (key == "shared_per_block") {
      s.shared_per_block = parse_bytes(value, what);
    } else if (key == "multiprocessors") {
      s.multiprocessors = static_cast<int>(parse_int(value, what));
    } else {
      bad_config("MODEBENCH_SIM_DEVICE: unknown key '" + key +
                 "' (name, cc, memory, count, busy, max_threads_per_block, shared_per_block, multiprocessors)");
    }
  }
  return s;
}

// A status by name in any of the three libraries, or a number.
int parse_status(const std::string& v) {
  if (!v.empty() && (std::isdigit(static_cast<unsigned char>(v[0])) != 0))
    return static_cast<int>(parse_int(v, "MODEBENCH_SIM_FAULT code"));
  for (int code = 1; code < 1000; ++code)
    if (v == cudaGetErrorName(static_cast<cudaError_t>(code))) return code;
  for (int code = 1; code < 20; ++code)
    if (v == cublasGetStatusName(static_cast<cublasStatus_t>(code))) return code;
  for (int code = 1; code < 10000; ++code)
    if (v == cudnnGetErrorString(static_cast<cudnnStatus_t>(code))) return code;
  bad_config("MODEBENCH_SIM_FAULT: unknown status '" + v + "'");
}

struct FaultRule {
  std::string call;
  long long first = 1;   // the occurrence it starts at (1-based)
  bool onwards = false;  // "3+": that occurrence and every later one
  int status = 0;
};

struct Faults {
  std::vector<FaultRule> rules;
  std::map<std::string, long long> seen;
  std::mutex mutex;
};

Faults& faults() {
  static Faults* f = [] {
    auto* out = new Faults;
    const char* env = std::getenv("MODEBENCH_SIM_FAULT");
    if (!env || !*env) return out;
    for (const std::string& item : split(env, ';')) {
      const std::vector<std::string> parts = split(item, ':');
      // launch:<kernel>:<nth>:<status> names a kernel; every other rule is <call>:<nth>:<status>.
      const bool launch = !parts.empty() && parts[0] == "launch";
      if (parts.size() != (launch ? 4u : 3u))
        bad_config("MODEBENCH_SIM_FAULT: '" + item + "' is not call:nth:status (or launch:kernel:nth:status)");
      FaultRule r;
      r.call = launch ? "launch:" + parts[1] : parts[0];
      std::string nth = parts[launch ? 2 : 1];
      if (!nth.empty() && nth.back() == '+') {
        r.onwards = true;
        nth.pop_back();
      }
      r.first = parse_int(nth, "MODEBENCH_SIM_FAULT occurrence");
      if (r.first < 1) bad_config("MODEBENCH_SIM_FAULT: occurrences count from 1");
      r.status = parse_status(parts[launch ? 3 : 2]);
      if (r.status == 0) bad_config("MODEBENCH_SIM_FAULT: status 0 is success, not a fault");
      out->rules.push_back(r);
    }
    return out;
  }();
  return *f;
}

}  // namespace

const DeviceSpec& device_spec() {
  static const DeviceSpec s = parse_spec();
  return s;
}

int injected_fault(const char* call) {
  Faults& f = faults();
  if (f.rules.empty()) return 0;
  std::lock_guard<std::mutex> lock(f.mutex);
  const long long n = ++f.seen[call];
  for (const FaultRule& r : f.rules)
    if (r.call == call && (n == r.first || (r.onwards && n > r.first))) return r.status;
  return 0;
}

}  // namespace mb::sim
