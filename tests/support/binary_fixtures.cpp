#include "tests/support/binary_fixtures.hpp"

#include <fstream>
#include <stdexcept>

namespace mb::binary::testing {

namespace {
constexpr uint64_t kAddressBase = 0x10000;

void put(Bytes& b, size_t at, uint64_t v, size_t width) {
  if (b.size() < at + width) b.resize(at + width);
  for (size_t i = 0; i < width; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}
uint64_t get(const Bytes& b, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = width; i-- > 0;) v = (v << 8) | std::to_integer<uint64_t>(b.at(at + i));
  return v;
}
}  // namespace

void put_u16(Bytes& b, size_t at, uint16_t v) { put(b, at, v, 2); }
void put_u32(Bytes& b, size_t at, uint32_t v) { put(b, at, v, 4); }
void put_u64(Bytes& b, size_t at, uint64_t v) { put(b, at, v, 8); }

FakeEntry fake_sass(uint32_t arch, char suffix) {
  FakeEntry e;
  e.arch = arch;
  e.suffix = suffix;
  return e;
}

FakeEntry fake_ptx(uint32_t arch, uint16_t major, uint16_t minor, char suffix) {
  FakeEntry e;
  e.kind = 1;
  e.arch = arch;
  e.suffix = suffix;
  e.major = major;
  e.minor = minor;
  return e;
}

Bytes make_fatbin(const std::vector<FakeEntry>& entries, uint16_t version) {
  Bytes body;
  for (const auto& e : entries) {
    const size_t at = body.size();
    body.resize(at + e.header_size + e.payload, std::byte{0});
    uint64_t flags = 0x11;  // 64-bit, Linux
    if (e.suffix == 'a') flags |= 0x100000;
    if (e.suffix == 'f') flags |= 0x200000;
    if (e.compressed) flags |= 0x8000;
    put_u16(body, at + 0x00, e.kind);
    put_u16(body, at + 0x02, 0x101);
    put_u32(body, at + 0x04, e.header_size);
    put_u64(body, at + 0x08, e.payload);
    put_u16(body, at + 0x18, e.minor);
    put_u16(body, at + 0x1a, e.major);
    put_u32(body, at + 0x1c, e.arch);
    put_u64(body, at + 0x28, flags);
    if (e.compressed) put_u64(body, at + 0x38, e.payload * 3);
    for (size_t i = 0; i < e.payload; ++i) body[at + e.header_size + i] = static_cast<std::byte>(0xa5);
  }
  Bytes out(16);
  put_u32(out, 0, 0xBA55ED50);
  put_u16(out, 4, version);
  put_u16(out, 6, 16);
  put_u64(out, 8, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes concat(const std::vector<Bytes>& parts, size_t align) {
  Bytes out;
  for (const auto& p : parts) {
    while (out.size() % align) out.push_back(std::byte{0});
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Bytes make_elf(const std::vector<FakeSection>& sections) {
  Bytes out(64);
  std::vector<uint64_t> offsets;
  for (const auto& s : sections) {
    while (out.size() % 8) out.push_back(std::byte{0});
    offsets.push_back(out.size());
    out.insert(out.end(), s.bytes.begin(), s.bytes.end());
  }
  // .shstrtab: "\0" then each name.
  Bytes names(1);
  std::vector<uint32_t> name_at;
  for (const auto& s : sections) {
    name_at.push_back(static_cast<uint32_t>(names.size()));
    for (char c : s.name) names.push_back(static_cast<std::byte>(c));
    names.push_back(std::byte{0});
  }
  const uint32_t shstrtab_name = static_cast<uint32_t>(names.size());
  for (char c : std::string(".shstrtab")) names.push_back(static_cast<std::byte>(c));
  names.push_back(std::byte{0});
  const uint64_t names_offset = out.size();
  out.insert(out.end(), names.begin(), names.end());
  while (out.size() % 8) out.push_back(std::byte{0});
  const uint64_t table = out.size();
  const uint16_t count = static_cast<uint16_t>(sections.size() + 2);  // null, sections, .shstrtab

  out[0] = std::byte{0x7f};
  out[1] = std::byte{'E'};
  out[2] = std::byte{'L'};
  out[3] = std::byte{'F'};
  out[4] = std::byte{2};   // 64-bit
  out[5] = std::byte{1};   // little-endian
  out[6] = std::byte{1};   // version
  put_u16(out, 0x10, 3);   // ET_DYN
  put_u16(out, 0x12, 62);  // x86-64
  put_u32(out, 0x14, 1);
  put_u64(out, 0x28, table);
  put_u16(out, 0x34, 64);
  put_u16(out, 0x3a, 64);
  put_u16(out, 0x3c, count);
  put_u16(out, 0x3e, static_cast<uint16_t>(count - 1));

  out.resize(table + 64ull * count, std::byte{0});
  for (size_t i = 0; i < sections.size(); ++i) {
    const size_t at = table + 64 * (i + 1);
    const auto& s = sections[i];
    put_u32(out, at + 0x00, name_at[i]);
    put_u32(out, at + 0x04, s.type);
    put_u64(out, at + 0x08, s.flags);
    put_u64(out, at + 0x10, s.address ? s.address : s.keep_zero_address ? 0 : kAddressBase + offsets[i]);
    put_u64(out, at + 0x18, offsets[i]);
    put_u64(out, at + 0x20, s.bytes.size());
    put_u64(out, at + 0x30, 8);
  }
  const size_t last = table + 64ull * (count - 1);
  put_u32(out, last + 0x00, shstrtab_name);
  put_u32(out, last + 0x04, 3);  // SHT_STRTAB
  put_u64(out, last + 0x18, names_offset);
  put_u64(out, last + 0x20, names.size());
  return out;
}

ElfLayout elf_layout(const Bytes& elf) { return {get(elf, 0x28, 8), static_cast<uint16_t>(get(elf, 0x3c, 2))}; }

uint64_t section_address(const Bytes& elf, size_t index) {
  return get(elf, elf_layout(elf).section_table_offset + 64 * index + 0x10, 8);
}

uint64_t section_offset(const Bytes& elf, size_t index) {
  return get(elf, elf_layout(elf).section_table_offset + 64 * index + 0x18, 8);
}

Bytes make_wrapper(uint32_t version, uint64_t address) {
  Bytes w(24);
  put_u32(w, 0, 0x466243b1);
  put_u32(w, 4, version);
  put_u64(w, 8, address);
  return w;
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace mb::binary::testing
