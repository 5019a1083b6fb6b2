#include "harness/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace mb {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("cannot write " + path + ": " + why);
}

std::string temp_path(const std::string& path) { return path + ".tmp" + std::to_string(::getpid()); }

// The target may be replaced: a regular file or nothing. A rename over a folder fails only
// after the whole run; over a device (/dev/null, as root) it would replace the device.
// Creates the target's folder when missing.
void check_target_and_make_folder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(path, "it is a folder");
    if (!S_ISREG(st.st_mode)) fail(path, "it is not a regular file");
  }
  const fs::path folder = fs::path(path).parent_path();
  std::error_code ec;
  if (!folder.empty()) fs::create_directories(folder, ec);
  if (ec) fail(path, "cannot create its folder " + folder.string() + ": " + ec.message());
}

// The temp file, created new (O_EXCL: never someone else's file); throws when it cannot be.
int create_temp(const std::string& path, const std::string& tmp) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, std::strerror(errno));
  return fd;
}

// All of `text`, or false with errno set.
bool write_all(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// Temp files of this target left by writers killed before their rename (SIGKILL, a power
// cut): `<name>.tmp<pid>` whose process is gone and which nobody touched for a minute (a
// live write lasts seconds; the age also spares a writer on another host of a shared file
// system, whose pid means nothing here). Best effort: one scan of the folder per write.
void remove_stale_temps(const std::string& path) {
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp";
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || std::time(nullptr) - st.st_mtime < 60)
      continue;
    ::unlink(it->path().c_str());
  }
}

}  // namespace

void write_atomically(const std::string& path, const std::string& text) {
  check_target_and_make_folder(path);
  const std::string tmp = temp_path(path);
  ::unlink(tmp.c_str());  // a leftover of a killed process with this pid
  const int fd = create_temp(path, tmp);
  // A full disk fails a write, or (delayed allocation, network file systems) only fsync or
  // close: each is checked before the rename.
  bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  int error = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    fail(path, std::strerror(error));
  }
  remove_stale_temps(path);
}

void check_atomic_target(const std::string& path) {
  check_target_and_make_folder(path);
  const std::string tmp = temp_path(path);
  ::unlink(tmp.c_str());
  ::close(create_temp(path, tmp));
  ::unlink(tmp.c_str());
}

}  // namespace mb
