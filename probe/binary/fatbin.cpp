#include "probe/binary/fatbin.hpp"

#include <algorithm>
#include <array>

namespace mb::binary {

namespace {
// Entry headers longer than this are not ones nvcc writes (64 to 144 bytes seen): a corrupt size field.
constexpr uint32_t kMaxEntryHeaderSize = 4096;
// Architectures are major*10+minor: 10 (sm_10) to 999 leaves room for future majors.
constexpr uint32_t kMinArch = 10, kMaxArch = 999;
constexpr uint64_t kAlignment = 8;
constexpr uint64_t kPaddingChunk = 4096;

FatbinEntry parse_entry(const LittleEndianView& h) {
  FatbinEntry e;
  e.kind = h.u16(0x00);
  e.payload_size = h.u64(0x08);
  e.version_minor = h.u16(0x18);
  e.version_major = h.u16(0x1a);
  const uint32_t arch = h.u32(0x1c);
  e.flags = h.u64(0x28);
  const uint64_t uncompressed = h.u64(0x38);
  e.uncompressed_size = e.compressed() && uncompressed != 0 ? uncompressed : e.payload_size;
  if (e.is_code() || e.is_lto_ir()) {
    if (arch < kMinArch || arch > kMaxArch)
      throw FormatError(FileStatus::corrupt_fatbin, "entry architecture " + std::to_string(arch));
    e.target.cc = static_cast<int>(arch);
    e.target.sass = e.kind == kFatbinKindCubin;
    e.target.suffix = (e.flags & kFatbinFlagArchSpecific) ? 'a' : (e.flags & kFatbinFlagFamily) ? 'f' : '\0';
  }
  return e;
}
}  // namespace

bool Fatbin::has_code() const {
  return std::any_of(entries.begin(), entries.end(), [](const FatbinEntry& e) { return e.is_code(); });
}

std::vector<ArchTarget> Fatbin::targets() const {
  std::vector<ArchTarget> out;
  for (const auto& e : entries)
    if (e.is_code() && std::find(out.begin(), out.end(), e.target) == out.end()) out.push_back(e.target);
  return out;
}

int Fatbin::ptx_isa_of(const ArchTarget& ptx) const {
  int isa = 0;
  for (const auto& e : entries)
    if (e.kind == kFatbinKindPtx && e.target == ptx) isa = std::max(isa, e.ptx_isa());
  return isa;
}

Fatbin read_fatbin(const BinaryFile& file, uint64_t offset, uint64_t limit) {
  const std::string where = "fatbin at " + hex(offset);
  if (limit > file.size()) throw FormatError(FileStatus::truncated, where + ": its section ends beyond the file");
  if (offset > limit || limit - offset < kFatbinHeaderSize)
    throw FormatError(FileStatus::corrupt_fatbin, where + ": no room for a container header");
  std::array<std::byte, kFatbinHeaderSize> header_bytes{};
  file.read_exact(offset, header_bytes, where);
  const LittleEndianView header(header_bytes);
  const uint32_t magic = header.u32(0);
  if (magic == kOldFatbinMagic)
    throw FormatError(FileStatus::unknown_fatbin_version, where + ": pre-CUDA-4 fat binary (magic " + hex(magic) + ")");
  if (magic != kFatbinMagic) throw FormatError(FileStatus::corrupt_fatbin, where + ": magic " + hex(magic));
  const uint16_t version = header.u16(4);
  if (version != kFatbinVersion)
    throw FormatError(FileStatus::unknown_fatbin_version, where + ": container version " + std::to_string(version));
  const uint16_t header_size = header.u16(6);
  const uint64_t entries_size = header.u64(8);
  const uint64_t room = limit - offset;
  if (header_size < kFatbinHeaderSize || header_size > room || entries_size > room - header_size)
    throw FormatError(FileStatus::corrupt_fatbin, where + ": header " + std::to_string(header_size) + " + entries " +
                                                      std::to_string(entries_size) + " bytes exceed its " +
                                                      std::to_string(room) + "-byte section");
  Fatbin fb;
  fb.offset = offset;
  fb.size = header_size + entries_size;
  const uint64_t end = offset + fb.size;
  uint64_t at = offset + header_size;
  while (at < end) {
    const std::string entry_where = where + ", entry at " + hex(at);
    if (end - at < kFatbinEntryHeaderSize)
      throw FormatError(FileStatus::corrupt_fatbin,
                        entry_where + ": " + std::to_string(end - at) + " bytes left for a header");
    std::array<std::byte, kFatbinEntryHeaderSize> entry_bytes{};
    file.read_exact(at, entry_bytes, entry_where);
    const LittleEndianView entry(entry_bytes);
    const uint32_t entry_header_size = entry.u32(0x04);
    FatbinEntry e = parse_entry(entry);
    if (entry_header_size < kFatbinEntryHeaderSize || entry_header_size > kMaxEntryHeaderSize ||
        entry_header_size > end - at || e.payload_size > end - at - entry_header_size)
      throw FormatError(FileStatus::corrupt_fatbin, entry_where + ": header " + std::to_string(entry_header_size) +
                                                        " + payload " + std::to_string(e.payload_size) +
                                                        " bytes exceed the container");
    fb.entries.push_back(e);
    at += entry_header_size + e.payload_size;
  }
  return fb;
}

namespace {
// Length of the run of zero bytes at `at` (padding between containers), in whole 8-byte words, or up
// to `end`. Reads one word first, so a container that starts right away costs no extra bytes.
uint64_t zero_padding_at(const BinaryFile& file, uint64_t at, uint64_t end) {
  uint64_t run = 0;
  std::vector<std::byte> chunk;
  uint64_t want = kAlignment;
  while (at + run < end) {
    chunk.resize(static_cast<size_t>(std::min<uint64_t>(want, end - at - run)));
    file.read_exact(at + run, chunk, "fatbin padding at " + hex(at + run));
    size_t zeros = 0;
    while (zeros < chunk.size() && chunk[zeros] == std::byte{0}) ++zeros;
    if (zeros < chunk.size()) return run + zeros / kAlignment * kAlignment;
    run += zeros;
    want = kPaddingChunk;
  }
  return run;
}
}  // namespace

std::vector<Fatbin> read_fatbin_sequence(const BinaryFile& file, uint64_t begin, uint64_t end) {
  if (begin > end || !file.contains(begin, end - begin))
    throw FormatError(FileStatus::truncated,
                      "fatbin section " + hex(begin) + ".." + hex(end) + " is beyond the end of the file");
  std::vector<Fatbin> out;
  uint64_t at = begin;
  while (at < end) {
    if (const uint64_t padding = zero_padding_at(file, at, end); padding > 0) {
      at += padding;
      continue;
    }
    Fatbin fb = read_fatbin(file, at, end);
    at += fb.size;
    out.push_back(std::move(fb));
    const uint64_t misalignment = (at - begin) % kAlignment;
    if (misalignment != 0) at += std::min(kAlignment - misalignment, end - at);
  }
  return out;
}

}  // namespace mb::binary
