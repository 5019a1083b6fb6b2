#pragma once
// Fatbin containers (what nvcc embeds in `.nv_fatbin`) and their entry headers: kind, architecture,
// PTX ISA, flags. Payloads are skipped, never read: a compressed entry is listed from its header.
//
// Layout (little-endian), as cuobjdump and the CUDA runtime read it:
//   container header, 16 bytes: u32 magic 0xBA55ED50, u16 version (1), u16 header size,
//                               u64 size of the entries that follow the header
//   entry header, >= 64 bytes:  u16 kind (1 PTX, 2 ELF cubin), u16 unused, u32 header size,
//                               u64 payload size, u32 compressed size, u32 unused, u16 minor,
//                               u16 major (PTX: the PTX ISA; cubin: its ABI version), u32 arch (75),
//                               u32 name offset, u32 name length, u64 flags, ...
//   next entry = entry + header size + payload size; containers follow one another, 8-byte aligned.
// Flag bits beyond the runtime's public ones were found by compiling sm_90a / sm_100f / compute_100f
// with nvcc 13.0 and comparing with `cuobjdump --list-elf --list-ptx`.
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_rules/arch.hpp"
#include "probe/binary/file.hpp"

namespace mb::binary {

inline constexpr uint32_t kFatbinMagic = 0xBA55ED50;
inline constexpr uint32_t kOldFatbinMagic = 0x1EE55A01;  // pre-CUDA-4 "fat cubin": not read
inline constexpr uint16_t kFatbinVersion = 1;
inline constexpr uint16_t kFatbinKindPtx = 1;
inline constexpr uint16_t kFatbinKindCubin = 2;
inline constexpr uint16_t kFatbinKindLtoIr = 8;  // NVVM IR for link-time optimisation: nvJitLink's, not the driver's
inline constexpr uint64_t kFatbinFlagArchSpecific = 0x100000;                 // sm_XYa / compute_XYa
inline constexpr uint64_t kFatbinFlagFamily = 0x200000;                       // sm_XYf / compute_XYf
inline constexpr uint64_t kFatbinFlagsCompressed = 0x1000 | 0x2000 | 0x8000;  // LZ variants, zstd
inline constexpr size_t kFatbinHeaderSize = 16;
inline constexpr size_t kFatbinEntryHeaderSize = 64;  // the fields read; real headers may be longer

struct FatbinEntry {
  uint16_t kind = 0;  // kFatbinKindPtx, kFatbinKindCubin, kFatbinKindLtoIr, or another (counted, never a target)
  ArchTarget target;  // sm_XY[a|f] for a cubin, compute_XY[a|f] for PTX and LTO-IR
  int version_major = 0, version_minor = 0;  // PTX ISA (PTX) or cubin ABI version
  uint64_t flags = 0;
  uint64_t payload_size = 0;       // bytes stored in the file (compressed size when compressed)
  uint64_t uncompressed_size = 0;  // from the header when compressed, else payload_size
  bool is_code() const { return kind == kFatbinKindPtx || kind == kFatbinKindCubin; }  // what the driver loads
  bool is_lto_ir() const { return kind == kFatbinKindLtoIr; }
  bool compressed() const { return (flags & kFatbinFlagsCompressed) != 0; }
  // PTX ISA as major*10+minor (9.0 -> 90, as cuda_rules/arch.hpp counts it); 0 for a cubin.
  int ptx_isa() const { return kind == kFatbinKindPtx ? version_major * 10 + version_minor : 0; }
};

// One container: one module the runtime registers and the driver loads.
struct Fatbin {
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;    // header and entries
  std::string section;  // the ELF section it was found in (set by the file scan)
  std::vector<FatbinEntry> entries;
  // Found in a data section: a fatbin the library hands to the driver itself (cuModuleLoadData, ...).
  bool embedded = false;
  // Registered as a device-link output (a version-2 wrapper): when none of its images fits, the
  // runtime JIT-links the PTX of the fatbins it was linked from instead (set by the file scan).
  bool linked = false;
  bool has_code() const;
  std::vector<ArchTarget> targets() const;      // distinct, in entry order
  int ptx_isa_of(const ArchTarget& ptx) const;  // highest ISA among the entries of that PTX target
};

// The container at `offset`, which must end by `limit` (the end of its section). Throws FormatError:
// corrupt_fatbin (no magic, sizes that do not fit, an implausible architecture), unknown_fatbin_version,
// truncated (beyond the end of the file).
Fatbin read_fatbin(const BinaryFile& file, uint64_t offset, uint64_t limit);

// Every container laid one after another in [begin, end) (a `.nv_fatbin` section): each starts at the
// next 8-byte boundary after the previous one, zero bytes between them are padding.
std::vector<Fatbin> read_fatbin_sequence(const BinaryFile& file, uint64_t begin, uint64_t end);

}  // namespace mb::binary
