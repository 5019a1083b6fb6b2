#pragma once
// What CUDA code each file carries, for a file, a directory (walked recursively for ELF files) or a
// Python environment / site-packages (the same walk). Bad input is a status of that file; the walk goes on.
#include <cstdint>
#include <string>
#include <vector>

#include "probe/binary/fatbin.hpp"

namespace mb::binary {

// Sections the CUDA toolchain puts fatbins in.
inline constexpr const char* kFatbinSection = ".nv_fatbin";                 // what the runtime loads
inline constexpr const char* kRelocatableFatbinSection = "__nv_relfatbin";  // -rdc inputs of the device link
inline constexpr const char* kFatbinWrapperSection = ".nvFatBinSegment";    // the runtime's pointers to them

struct BinaryReport {
  std::string path;
  FileStatus status = FileStatus::ok;
  std::string message;              // why the status is not ok
  bool elf = false;                 // has the ELF magic
  std::vector<Fatbin> modules;      // loadable fatbins: `.nv_fatbin`, and any a wrapper points to elsewhere
  std::vector<Fatbin> relocatable;  // `__nv_relfatbin`: linked at build time, not loaded as they are
  uint64_t bytes_read = 0;          // of the file, to read all of the above
  // Offsets looked up while merging the fatbins found by sections, wrappers and the data search:
  // the proof that merging is linear in them (issue 23: it was quadratic).
  uint64_t merge_lookups = 0;

  bool has_cuda() const { return !modules.empty() || !relocatable.empty(); }
  // Distinct targets of the loadable modules, SASS then PTX, each by architecture.
  std::vector<ArchTarget> sass() const;
  std::vector<ArchTarget> ptx() const;
  int highest_ptx_isa(const ArchTarget& ptx) const;  // over the loadable modules
  size_t linked_modules() const;
  size_t embedded_modules() const;
  std::vector<ArchTarget> lto_ir() const;  // architectures of LTO-IR entries (linked by the library, not loaded)
  size_t entries() const;
  size_t compressed_entries() const;
};

// Reads one file's ELF section table and fatbin headers. Never throws for a property of the file.
BinaryReport read_binary(const std::string& path);

enum class PathKind { file, directory, python_environment };
const char* path_kind_name(PathKind kind);  // "file", "directory", "python environment"

struct WalkCounts {
  uint64_t files = 0;          // regular files looked at (each inode once)
  uint64_t elf = 0;            // of them ELF
  uint64_t with_cuda = 0;      // ELF with fatbins
  uint64_t without_cuda = 0;   // ELF without: counted, not listed
  uint64_t not_elf = 0;        // counted, not listed (when walked; a named file that is not ELF is listed)
  uint64_t bad = 0;            // listed with their status
  uint64_t skipped_links = 0;  // links to a file or folder already walked (symlink loops included)
  uint64_t unreadable_dirs = 0;
  uint64_t bytes_read = 0;
};

struct PathScan {
  std::string path;  // as given
  PathKind kind = PathKind::file;
  std::vector<BinaryReport> files;    // with CUDA code or with a bad status, in walk order (sorted by name)
  std::vector<std::string> relative;  // each file's path relative to `path` (its name for a file PATH)
  WalkCounts counts;
};

// Whether `path` exists (a file or a directory, through symlinks).
bool path_exists(const std::string& path);
// Walks one PATH argument.
PathScan scan_path(const std::string& path);

}  // namespace mb::binary
