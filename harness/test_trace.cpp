#include "harness/test_trace.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace mb {

void test_trace(const std::string& event) {
  const char* path = std::getenv("MODEBENCH_TEST_TRACE");
  if (path == nullptr || *path == '\0') return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string line = std::to_string(::getpid()) + " " + event + "\n";
  [[maybe_unused]] const ssize_t written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

std::string test_fault_for(const std::string& entry_name) {
  const char* faults = std::getenv("MODEBENCH_TEST_CRASH_AT");
  if (faults == nullptr || *faults == '\0') return "";
  std::stringstream in(faults);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t eq = item.find('=');
    if (::fnmatch(item.substr(0, eq).c_str(), entry_name.c_str(), 0) == 0)
      return eq == std::string::npos ? "segv" : item.substr(eq + 1);
  }
  return "";
}

void test_fault(const std::string& entry_name) {
  const std::string fault = test_fault_for(entry_name);
  if (fault.empty() || fault == "nan") return;  // nan: the timed loop's business (gbench.cpp)
  if (fault == "segv") std::raise(SIGSEGV);
  if (fault == "abort") std::abort();
  if (fault == "hang")
    for (;;) ::pause();
  std::fprintf(stderr, "MODEBENCH_TEST_CRASH_AT: unknown fault '%s' (segv, abort, hang or nan)\n", fault.c_str());
}

}  // namespace mb
