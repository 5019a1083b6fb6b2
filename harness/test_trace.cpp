#include "harness/test_trace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

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

}  // namespace mb
