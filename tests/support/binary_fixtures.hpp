#pragma once
// Synthetic CUDA binaries for the probe --binary tests: fatbin containers with chosen entries and
// ELF64 files holding them, byte by byte, so every field the reader checks can be set or broken.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mb::binary::testing {

using Bytes = std::vector<std::byte>;

struct FakeEntry {
  uint16_t kind = 2;              // 1 PTX, 2 cubin, 8 LTO-IR
  uint32_t arch = 75;             // sm_75 / compute_75
  char suffix = '\0';             // 'a' or 'f'
  uint16_t major = 1, minor = 8;  // PTX ISA for PTX entries
  bool compressed = false;
  uint64_t payload = 24;  // bytes of (dummy) payload
  uint32_t header_size = 64;
};
FakeEntry fake_sass(uint32_t arch, char suffix = '\0');
FakeEntry fake_ptx(uint32_t arch, uint16_t major, uint16_t minor, char suffix = '\0');

// A container: header (magic, `version`, 16, size) then each entry's header and payload.
Bytes make_fatbin(const std::vector<FakeEntry>& entries, uint16_t version = 1);
Bytes concat(const std::vector<Bytes>& parts, size_t align = 8);  // zero padding to `align` between parts

struct FakeSection {
  std::string name;
  Bytes bytes;
  uint32_t type = 1;     // SHT_PROGBITS
  uint64_t flags = 0x2;  // SHF_ALLOC
  uint64_t address = 0;  // 0: the file offset, as in a non-PIE layout (0 stays 0 when `keep_zero_address`)
  bool keep_zero_address = false;
};

// An ELF64 little-endian shared object: header, the sections' bytes (8-aligned), .shstrtab, then the
// section header table. Each section's address defaults to 0x10000 + its file offset.
Bytes make_elf(const std::vector<FakeSection>& sections);
// File offsets of a made ELF's parts, to break them in tests.
struct ElfLayout {
  uint64_t section_table_offset = 0;
  uint16_t section_count = 0;
};
ElfLayout elf_layout(const Bytes& elf);
// The address make_elf gives section `index` (1-based, as in the table).
uint64_t section_address(const Bytes& elf, size_t index);
uint64_t section_offset(const Bytes& elf, size_t index);

// A __fatBinC_Wrapper_t record pointing at `address`.
Bytes make_wrapper(uint32_t version, uint64_t address);

void put_u16(Bytes& b, size_t at, uint16_t v);
void put_u32(Bytes& b, size_t at, uint32_t v);
void put_u64(Bytes& b, size_t at, uint64_t v);
void write_file(const std::string& path, const Bytes& bytes);

}  // namespace mb::binary::testing
