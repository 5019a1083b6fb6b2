#include "probe/binary/elf.hpp"

#include <array>

namespace mb::binary {

namespace {
// ELF64 (System V gABI) constants and layout.
constexpr size_t kElf64HeaderSize = 64;
constexpr size_t kElf64SectionHeaderSize = 64;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLittleEndian = 1;
constexpr uint32_t kShtNull = 0;
constexpr uint32_t kShtNobits = 8;
constexpr uint64_t kShfCompressed = 0x800;
constexpr uint16_t kShnXindex = 0xffff;
// A section-name table larger than this is not one any linker writes: refuse rather than read it.
constexpr uint64_t kMaxNameTableSize = 64ull << 20;

std::string elf_class_name(uint8_t elf_class) {
  return elf_class == 1 ? "32-bit ELF" : "ELF class " + std::to_string(elf_class);
}
}  // namespace

bool ElfSection::has_file_bytes() const { return type != kShtNobits && type != kShtNull; }
bool ElfSection::is_compressed() const { return (flags & kShfCompressed) != 0; }

const ElfSection* ElfSections::find(std::string_view name) const {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

const ElfSection* ElfSections::containing_address(uint64_t address) const {
  for (const auto& s : sections)
    if (s.address != 0 && s.has_file_bytes() && address >= s.address && address - s.address < s.size) return &s;
  return nullptr;
}

bool has_elf_magic(const BinaryFile& file) {
  if (file.size() < 4) return false;
  std::array<std::byte, 4> magic{};
  file.read_exact(0, magic, "ELF magic");
  return magic[0] == std::byte{0x7f} && magic[1] == std::byte{'E'} && magic[2] == std::byte{'L'} &&
         magic[3] == std::byte{'F'};
}

ElfSections read_elf_sections(const BinaryFile& file) {
  if (!has_elf_magic(file)) throw FormatError(FileStatus::not_elf, "no ELF magic");
  std::array<std::byte, kElf64HeaderSize> header_bytes{};
  if (file.size() < 16) throw FormatError(FileStatus::truncated, "ELF identification is cut short");
  file.read_exact(0, std::span(header_bytes).first(16), "ELF identification");
  const LittleEndianView ident(header_bytes);
  if (ident.u8(4) != kElfClass64) throw FormatError(FileStatus::unsupported_elf, elf_class_name(ident.u8(4)));
  if (ident.u8(5) != kElfDataLittleEndian) throw FormatError(FileStatus::unsupported_elf, "big-endian ELF");
  file.read_exact(0, header_bytes, "ELF header");
  const LittleEndianView header(header_bytes);

  ElfSections out;
  out.file_type = header.u16(0x10);
  out.machine = header.u16(0x12);
  const uint64_t table_offset = header.u64(0x28);
  const uint16_t entry_size = header.u16(0x3a);
  uint64_t count = header.u16(0x3c);
  uint32_t names_index = header.u16(0x3e);
  if (table_offset == 0) return out;  // no section table (stripped to program headers)
  if (entry_size < kElf64SectionHeaderSize)
    throw FormatError(FileStatus::truncated, "section header entries of " + std::to_string(entry_size) + " bytes");

  auto read_section_header = [&](uint64_t index) {
    std::array<std::byte, kElf64SectionHeaderSize> bytes{};
    file.read_exact(table_offset + index * entry_size, bytes, "section header " + std::to_string(index));
    return bytes;
  };
  // Extended numbering: with 0xff00 or more sections the counts live in section 0.
  if (count == 0 || names_index == kShnXindex) {
    const auto zero = read_section_header(0);
    const LittleEndianView s0(zero);
    if (count == 0) count = s0.u64(0x20);
    if (names_index == kShnXindex) names_index = s0.u32(0x28);
  }
  if (count == 0) return out;
  if (count > file.size() / entry_size || !file.contains(table_offset, count * entry_size))
    throw FormatError(FileStatus::truncated, std::to_string(count) + " section headers at " + hex(table_offset) +
                                                 " run beyond the end of the file");
  if (names_index >= count)
    throw FormatError(FileStatus::truncated, "section-name table index " + std::to_string(names_index) + " of " +
                                                 std::to_string(count) + " sections");

  std::vector<std::byte> table(count * entry_size);
  file.read_exact(table_offset, table, "section header table");
  std::vector<uint32_t> name_offsets;
  out.sections.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const LittleEndianView sh(std::span<const std::byte>(table).subspan(i * entry_size, kElf64SectionHeaderSize));
    ElfSection s;
    name_offsets.push_back(sh.u32(0x00));
    s.type = sh.u32(0x04);
    s.flags = sh.u64(0x08);
    s.address = sh.u64(0x10);
    s.offset = sh.u64(0x18);
    s.size = sh.u64(0x20);
    out.sections.push_back(std::move(s));
  }

  const ElfSection& names = out.sections[names_index];
  if (!names.has_file_bytes() || names.size > kMaxNameTableSize)
    throw FormatError(FileStatus::truncated, "section-name table of " + std::to_string(names.size) + " bytes");
  std::vector<std::byte> name_bytes(names.size);
  file.read_exact(names.offset, name_bytes, "section-name table");
  for (size_t i = 0; i < out.sections.size(); ++i) {
    const uint32_t at = name_offsets[i];
    if (at >= name_bytes.size()) continue;  // a name outside the table: leave the section unnamed
    std::string name;
    for (size_t k = at; k < name_bytes.size() && name_bytes[k] != std::byte{0}; ++k)
      name += static_cast<char>(name_bytes[k]);
    out.sections[i].name = std::move(name);
  }
  return out;
}

}  // namespace mb::binary
