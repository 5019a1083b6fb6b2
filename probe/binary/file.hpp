#pragma once
// Reading a binary file by explicit offsets (pread): `probe --binary` reads ELF section headers and
// fatbin headers only, never whole multi-GB files. Every read is checked against the file size.
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

namespace mb::binary {

// Why a file could not be read as a CUDA binary; `ok` when it could.
enum class FileStatus { ok, not_elf, unsupported_elf, truncated, corrupt_fatbin, unknown_fatbin_version, unreadable };
const char* status_name(FileStatus status);  // "ok", "not ELF", "truncated", ...

// A format problem in one file: the walk records it for that file and goes on.
class FormatError : public std::runtime_error {
 public:
  FormatError(FileStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}
  FileStatus status() const { return status_; }

 private:
  FileStatus status_;
};

// An open file descriptor (closed by the destructor) and the file's size at open time.
class BinaryFile {
 public:
  // Throws FormatError(unreadable) when the file cannot be opened or stat'ed.
  explicit BinaryFile(const std::string& path);
  ~BinaryFile();
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Whether [offset, offset + length) lies inside the file (overflow-safe).
  bool contains(uint64_t offset, uint64_t length) const { return offset <= size_ && length <= size_ - offset; }
  // Reads exactly out.size() bytes at `offset`. Throws FormatError(truncated) naming `what` when the
  // range is beyond the end of the file, FormatError(unreadable) on an I/O error.
  void read_exact(uint64_t offset, std::span<std::byte> out, const std::string& what) const;
  // Bytes read so far: the walk's proof that it read headers, not payloads.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  mutable uint64_t bytes_read_ = 0;
};

// Little-endian fields of a header read into memory; an offset outside the bytes throws
// std::out_of_range (a bug in the caller, never a property of the file: readers size their buffers).
class LittleEndianView {
 public:
  explicit LittleEndianView(std::span<const std::byte> bytes) : bytes_(bytes) {}
  uint8_t u8(size_t offset) const { return static_cast<uint8_t>(load(offset, 1)); }
  uint16_t u16(size_t offset) const { return static_cast<uint16_t>(load(offset, 2)); }
  uint32_t u32(size_t offset) const { return static_cast<uint32_t>(load(offset, 4)); }
  uint64_t u64(size_t offset) const { return load(offset, 8); }

 private:
  uint64_t load(size_t offset, size_t width) const;
  std::span<const std::byte> bytes_;
};

// "0x1f40": offsets in messages.
std::string hex(uint64_t value);

}  // namespace mb::binary
