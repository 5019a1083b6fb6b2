#include "probe/binary/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace mb::binary {

const char* status_name(FileStatus status) {
  switch (status) {
    case FileStatus::ok: return "ok";
    case FileStatus::not_elf: return "not ELF";
    case FileStatus::unsupported_elf: return "unsupported ELF";
    case FileStatus::truncated: return "truncated";
    case FileStatus::corrupt_fatbin: return "corrupt fatbin";
    case FileStatus::unknown_fatbin_version: return "unknown fatbin version";
    case FileStatus::unreadable: return "unreadable";
  }
  return "unknown";
}

BinaryFile::BinaryFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw FormatError(FileStatus::unreadable, "cannot open: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw FormatError(FileStatus::unreadable, "cannot stat: " + std::string(std::strerror(err)));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  // Header reads jump across the file: read-ahead would pull in the payloads we skip.
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_RANDOM);
}

BinaryFile::~BinaryFile() {
  if (fd_ >= 0) ::close(fd_);
}

void BinaryFile::read_exact(uint64_t offset, std::span<std::byte> out, const std::string& what) const {
  if (!contains(offset, out.size()))
    throw FormatError(FileStatus::truncated, what + " (" + std::to_string(out.size()) + " bytes at " + hex(offset) +
                                                 ") is beyond the end of the file (" + std::to_string(size_) +
                                                 " bytes)");
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FormatError(FileStatus::unreadable, "cannot read " + what + ": " + std::strerror(errno));
    if (n == 0) throw FormatError(FileStatus::truncated, what + ": the file ended while reading it");
    done += static_cast<size_t>(n);
  }
  bytes_read_ += out.size();
}

uint64_t LittleEndianView::load(size_t offset, size_t width) const {
  if (offset > bytes_.size() || width > bytes_.size() - offset)
    throw std::out_of_range("header field at " + std::to_string(offset) + " outside " + std::to_string(bytes_.size()) +
                            " bytes");
  uint64_t value = 0;
  for (size_t i = width; i-- > 0;) value = (value << 8) | std::to_integer<uint64_t>(bytes_[offset + i]);
  return value;
}

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace mb::binary
