#include "probe/binary/scan.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "probe/binary/elf.hpp"

namespace mb::binary {

namespace fs = std::filesystem;

namespace {
// __fatBinC_Wrapper_t, the record the runtime registers per module: u32 magic, u32 version,
// u64 address of the fatbin, u64 (v1: file name; v2: the prelinked fatbins).
constexpr uint32_t kWrapperMagic = 0x466243b1;
constexpr size_t kWrapperSize = 24;
// More wrappers than this (24 bytes each) is not a section a linker writes.
constexpr uint64_t kMaxWrapperSectionSize = 64ull << 20;

std::vector<Fatbin> read_sections_named(const BinaryFile& file, const ElfSections& elf, std::string_view name) {
  std::vector<Fatbin> out;
  for (const auto& s : elf.sections) {
    if (s.name != name || !s.has_file_bytes()) continue;  // NOBITS: a debug-only copy of the binary
    if (s.is_compressed()) throw FormatError(FileStatus::unsupported_elf, std::string(name) + " is SHF_COMPRESSED");
    if (!file.contains(s.offset, s.size))
      throw FormatError(FileStatus::truncated, std::string(name) + " (" + std::to_string(s.size) + " bytes at " +
                                                   hex(s.offset) + ") extends beyond the end of the file");
    auto fatbins = read_fatbin_sequence(file, s.offset, s.offset + s.size);
    for (auto& f : fatbins) f.section = s.name;
    std::move(fatbins.begin(), fatbins.end(), std::back_inserter(out));
  }
  return out;
}

// A __fatBinC_Wrapper_t resolved to the file offset of its fatbin.
struct Wrapper {
  uint32_t version = 0;  // 1: a module; 2: a device-link output, with the fatbins it was linked from
  uint64_t offset = 0;   // of the fatbin in the file
  const ElfSection* section = nullptr;
};

// The runtime's wrappers whose fatbin address lies in the file. Relocatable objects (address 0 until
// linked) have none; their fatbin sections are read whole anyway.
std::vector<Wrapper> read_wrappers(const BinaryFile& file, const ElfSections& elf) {
  std::vector<Wrapper> out;
  const ElfSection* section = elf.find(kFatbinWrapperSection);
  if (section == nullptr || !section->has_file_bytes()) return out;
  if (section->size > kMaxWrapperSectionSize || !file.contains(section->offset, section->size))
    throw FormatError(FileStatus::truncated, std::string(kFatbinWrapperSection) + " (" + std::to_string(section->size) +
                                                 " bytes at " + hex(section->offset) +
                                                 ") extends beyond the end of the file");
  std::vector<std::byte> bytes(section->size);
  file.read_exact(section->offset, bytes, kFatbinWrapperSection);
  for (size_t at = 0; at + kWrapperSize <= bytes.size(); at += kWrapperSize) {
    const LittleEndianView w(std::span<const std::byte>(bytes).subspan(at, kWrapperSize));
    if (w.u32(0) != kWrapperMagic) continue;
    const uint64_t address = w.u64(8);
    const ElfSection* target = address == 0 ? nullptr : elf.containing_address(address);
    if (target == nullptr) continue;
    out.push_back({w.u32(4), target->offset + (address - target->address), target});
  }
  return out;
}

// Marks the device-link outputs among `modules`, and reads the fatbins wrappers point to outside the
// fatbin sections (a fatbin placed in another section). Modules are found by offset in a hash map:
// a walk over all modules per wrapper was quadratic in the file size (issue 23).
void apply_wrappers(const BinaryFile& file, const std::vector<Wrapper>& wrappers, std::vector<Fatbin>& modules,
                    uint64_t& lookups) {
  std::unordered_map<uint64_t, std::vector<size_t>> by_offset;  // overlapping sections may repeat one
  for (size_t i = 0; i < modules.size(); ++i, ++lookups) by_offset[modules[i].offset].push_back(i);
  for (const auto& w : wrappers) {
    ++lookups;
    const std::string& in = w.section->name;
    auto it = by_offset.find(w.offset);
    if (it == by_offset.end() && in != kFatbinSection && in != kRelocatableFatbinSection) {
      modules.push_back(read_fatbin(file, w.offset, w.section->offset + w.section->size));
      modules.back().section = in;
      it = by_offset.emplace(w.offset, std::vector<size_t>{modules.size() - 1}).first;
    }
    if (w.version == 2 && it != by_offset.end())
      for (size_t i : it->second) modules[i].linked = true;
  }
}

// Fatbins a library embeds as data and hands to the driver itself (cuFFT keeps thousands in .ldata).
// Only a section whose first kEmbeddedProbeSize bytes hold a fatbin container is walked: each
// container's headers, and the bytes between containers while looking for the next one.
constexpr uint64_t kEmbeddedProbeSize = 16 * 1024;
constexpr uint64_t kGapChunk = 64 * 1024;
constexpr uint32_t kShtProgbits = 1;
constexpr uint64_t kShfAlloc = 0x2, kShfExecinstr = 0x4;

bool may_embed_fatbins(const ElfSection& s) {
  return s.type == kShtProgbits && (s.flags & kShfAlloc) && !(s.flags & kShfExecinstr) && !s.is_compressed() &&
         s.size >= kFatbinHeaderSize && s.name != kFatbinSection && s.name != kRelocatableFatbinSection &&
         s.name != kFatbinWrapperSection;
}

// The next 8-byte-aligned (in the file, as in memory) fatbin magic in [from, end), reading at most
// `limit` bytes; `end` when there is none.
uint64_t find_fatbin_magic(const BinaryFile& file, uint64_t from, uint64_t end, uint64_t limit) {
  const uint64_t stop = end - from > limit ? from + limit : end;
  uint64_t at = (from + 7) / 8 * 8;
  // Containers mostly follow one another: look at a word first, then at growing chunks of the gap.
  uint64_t want = 8;
  std::vector<std::byte> chunk;
  while (at + 4 <= stop) {
    chunk.resize(static_cast<size_t>(std::min(want, stop - at)));
    file.read_exact(at, chunk, "data section at " + hex(at));
    for (size_t i = 0; i + 4 <= chunk.size(); i += 8)
      if (LittleEndianView(std::span<const std::byte>(chunk).subspan(i, 4)).u32(0) == kFatbinMagic) return at + i;
    at += chunk.size();  // a multiple of 8 but for the last chunk, after which the loop ends
    want = std::min(want * 8, kGapChunk);
  }
  return end;
}

std::vector<Fatbin> read_embedded(const BinaryFile& file, const ElfSection& s) {
  std::vector<Fatbin> out;
  if (!file.contains(s.offset, s.size)) return out;  // not where the walk looks for code: leave it be
  const uint64_t end = s.offset + s.size;
  uint64_t at = find_fatbin_magic(file, s.offset, end, kEmbeddedProbeSize);
  while (at < end) {
    uint64_t next = at + 8;
    try {
      Fatbin fb = read_fatbin(file, at, end);
      next = at + fb.size;
      fb.embedded = true;
      fb.section = s.name;
      out.push_back(std::move(fb));
    } catch (const FormatError&) {
      // Data that happens to hold the magic: not a container; look further.
    }
    at = find_fatbin_magic(file, next, end, end - next);
  }
  return out;
}

bool is_python_environment(fs::path dir) {
  dir = dir.lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "site-packages/"
  const std::string name = dir.filename().string();
  if (name == "site-packages" || name == "dist-packages") return true;
  std::error_code ec;
  if (fs::exists(dir / "pyvenv.cfg", ec) || fs::exists(dir / "conda-meta", ec)) return true;
  for (fs::directory_iterator it(dir / "lib", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("python", 0) == 0 && fs::exists(it->path() / "site-packages", ec))
      return true;
  return false;
}

// Files are read on several threads: a cold walk waits on the disk for each file's first bytes and
// each header, and the disk serves many such reads at once.
constexpr unsigned kReaderThreads = 16;

struct Candidate {
  std::string path, relative;
  bool named = false;  // given on the command line rather than met in a walk
};

struct Walker {
  PathScan& scan;
  std::vector<Candidate> candidates;
  std::set<std::pair<dev_t, ino_t>> visited;

  // Each file and folder once, by inode: symlinked copies and symlink loops are skipped.
  bool first_visit(const struct stat& st) {
    if (visited.insert({st.st_dev, st.st_ino}).second) return true;
    ++scan.counts.skipped_links;
    return false;
  }

  void walk(const fs::path& dir, const fs::path& relative) {
    std::error_code ec;
    std::vector<fs::path> children;
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec))
      children.push_back(it->path());
    if (ec) ++scan.counts.unreadable_dirs;
    std::sort(children.begin(), children.end());
    for (const auto& child : children) {
      struct stat st {};
      if (::stat(child.c_str(), &st) != 0) continue;  // a dangling symlink
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      if (!first_visit(st)) continue;
      const fs::path child_relative = relative / child.filename();
      if (S_ISDIR(st.st_mode))
        walk(child, child_relative);
      else
        candidates.push_back({child.string(), child_relative.string(), false});
    }
  }

  // Reads every candidate (in parallel), then files each report in walk order.
  void read_all() {
    std::vector<BinaryReport> reports(candidates.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < candidates.size();) reports[i] = read_binary(candidates[i].path);
    };
    std::vector<std::thread> threads;
    const size_t extra = std::min<size_t>(kReaderThreads, candidates.size()) - (candidates.empty() ? 0 : 1);
    for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < candidates.size(); ++i) add(std::move(reports[i]), candidates[i]);
  }

  void add(BinaryReport r, const Candidate& c) {
    ++scan.counts.files;
    scan.counts.bytes_read += r.bytes_read;
    if (r.elf) ++scan.counts.elf;
    // A file met in a walk that is not ELF is just not a binary; one named on the command line is bad input.
    if (r.status == FileStatus::not_elf && !c.named) {
      ++scan.counts.not_elf;
      return;
    }
    if (r.status != FileStatus::ok) {
      ++scan.counts.bad;
    } else if (r.has_cuda()) {
      ++scan.counts.with_cuda;
    } else {
      ++scan.counts.without_cuda;
      return;
    }
    scan.files.push_back(std::move(r));
    scan.relative.push_back(c.relative);
  }
};
}  // namespace

namespace {
std::vector<ArchTarget> distinct_targets(const std::vector<Fatbin>& modules, bool sass) {
  // A set, not a search of the list per target: n log n in the entries.
  std::set<std::pair<int, char>> seen;  // by architecture, then suffix: the order given back
  for (const auto& m : modules)
    for (const auto& e : m.entries)
      if (e.is_code() && e.target.sass == sass) seen.insert({e.target.cc, e.target.suffix});
  std::vector<ArchTarget> out;
  for (const auto& [cc, suffix] : seen) out.push_back(ArchTarget{cc, suffix, sass});
  return out;
}
}  // namespace

std::vector<ArchTarget> BinaryReport::sass() const { return distinct_targets(modules, true); }
std::vector<ArchTarget> BinaryReport::ptx() const { return distinct_targets(modules, false); }

int BinaryReport::highest_ptx_isa(const ArchTarget& ptx) const {
  int isa = 0;
  for (const auto& m : modules) isa = std::max(isa, m.ptx_isa_of(ptx));
  return isa;
}

size_t BinaryReport::linked_modules() const {
  return static_cast<size_t>(std::count_if(modules.begin(), modules.end(), [](const Fatbin& m) { return m.linked; }));
}

size_t BinaryReport::embedded_modules() const {
  return static_cast<size_t>(std::count_if(modules.begin(), modules.end(), [](const Fatbin& m) { return m.embedded; }));
}

std::vector<ArchTarget> BinaryReport::lto_ir() const {
  std::vector<ArchTarget> out;
  for (const auto& m : modules)
    for (const auto& e : m.entries)
      if (e.is_lto_ir() && std::find(out.begin(), out.end(), e.target) == out.end()) out.push_back(e.target);
  std::sort(out.begin(), out.end(), [](const ArchTarget& a, const ArchTarget& b) { return a.cc < b.cc; });
  return out;
}

size_t BinaryReport::entries() const {
  size_t n = 0;
  for (const auto& m : modules) n += m.entries.size();
  return n;
}

size_t BinaryReport::compressed_entries() const {
  size_t n = 0;
  for (const auto& m : modules)
    n += static_cast<size_t>(
        std::count_if(m.entries.begin(), m.entries.end(), [](const FatbinEntry& e) { return e.compressed(); }));
  return n;
}

BinaryReport read_binary(const std::string& path) {
  BinaryReport r;
  r.path = path;
  std::optional<BinaryFile> file;
  try {
    file.emplace(path);
    r.elf = has_elf_magic(*file);
    if (!r.elf) throw FormatError(FileStatus::not_elf, "no ELF magic");
    const ElfSections elf = read_elf_sections(*file);
    r.modules = read_sections_named(*file, elf, kFatbinSection);
    apply_wrappers(*file, read_wrappers(*file, elf), r.modules, r.merge_lookups);
    r.relocatable = read_sections_named(*file, elf, kRelocatableFatbinSection);
    if (r.has_cuda()) {  // only files the toolchain marked as CUDA binaries are probed for embedded fatbins
      // Offsets in a hash set: a search of all modules per embedded fatbin took 125 s on a crafted
      // 5 MB file (issue 23).
      std::unordered_set<uint64_t> known;
      for (const auto& m : r.modules) {
        known.insert(m.offset);
        ++r.merge_lookups;
      }
      for (const auto& s : elf.sections) {
        if (!may_embed_fatbins(s)) continue;
        for (auto& fb : read_embedded(*file, s)) {
          ++r.merge_lookups;
          if (known.insert(fb.offset).second) r.modules.push_back(std::move(fb));  // unless a wrapper led there
        }
      }
    }
  } catch (const FormatError& e) {
    r.status = e.status();
    r.message = e.what();
  } catch (const std::exception& e) {  // a bug of ours, reported on the file rather than ending the walk
    r.status = FileStatus::unreadable;
    r.message = std::string("internal error: ") + e.what();
  }
  if (file) r.bytes_read = file->bytes_read();
  return r;
}

const char* path_kind_name(PathKind kind) {
  switch (kind) {
    case PathKind::file: return "file";
    case PathKind::directory: return "directory";
    case PathKind::python_environment: return "python environment";
  }
  return "unknown";
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode));
}

PathScan scan_path(const std::string& path) {
  PathScan scan;
  scan.path = path;
  Walker walker{scan, {}, {}};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    scan.kind = is_python_environment(path) ? PathKind::python_environment : PathKind::directory;
    walker.first_visit(st);
    walker.walk(path, "");
  } else {
    scan.kind = PathKind::file;
    walker.candidates.push_back({path, fs::path(path).filename().string(), true});
  }
  walker.read_all();
  return scan;
}

}  // namespace mb::binary
