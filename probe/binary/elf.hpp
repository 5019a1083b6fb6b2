#pragma once
// ELF64 section table: the header, the section header table and the section-name string table,
// read with a few preads whatever the file's size. Nothing else of the file is read.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probe/binary/file.hpp"

namespace mb::binary {

struct ElfSection {
  std::string name;
  uint32_t type = 0;  // SHT_*
  uint64_t flags = 0;
  uint64_t address = 0;  // where it is mapped (0 in relocatable objects)
  uint64_t offset = 0;   // in the file
  uint64_t size = 0;
  bool has_file_bytes() const;  // not SHT_NOBITS (.bss) or SHT_NULL
  bool is_compressed() const;   // SHF_COMPRESSED: its bytes are not the section's content
};

struct ElfSections {
  uint16_t file_type = 0;  // ET_REL, ET_EXEC, ET_DYN
  uint16_t machine = 0;    // EM_X86_64, EM_AARCH64, ...
  std::vector<ElfSection> sections;
  const ElfSection* find(std::string_view name) const;  // first section of that name
  // The section holding file bytes that `address` falls into (mapped sections only); nullptr when none.
  const ElfSection* containing_address(uint64_t address) const;
};

// Whether the file starts with the ELF magic (false for files shorter than 4 bytes).
bool has_elf_magic(const BinaryFile& file);

// Reads the section table. Throws FormatError: not_elf (no magic), unsupported_elf (32-bit or
// big-endian), truncated (header, table or name table beyond the end of the file, inconsistent
// counts). Section contents are not read or checked here: a reader of one section checks its range.
ElfSections read_elf_sections(const BinaryFile& file);

}  // namespace mb::binary
