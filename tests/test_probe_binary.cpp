// `modebench probe --binary` (issue 16): the ELF and fatbin header readers on synthetic files, bad
// input, a fuzz run, the verdict rules table-tested against hand-derived expectations, and real
// binaries (modebench, the toolkit's cuBLAS/cuDNN, torch) compared with cuobjdump. No GPU needed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cuda_rules/arch.hpp"
#include "harness/build_info.hpp"
#include "harness/subprocess.hpp"
#include "probe/binary/binary_probe.hpp"
#include "probe/binary/elf.hpp"
#include "tests/support/binary_fixtures.hpp"
#include "tests/support/binary_subjects.hpp"

namespace mb::binary {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mb::binary::testing;

std::vector<std::string> names(const std::vector<ArchTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.name());
  return out;
}

class BinaryFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("modebench-test-binary-"); }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const Bytes& bytes) {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    write_file(path, bytes);
    return path;
  }
  std::string dir_;
};

// Two containers with padding between them: kinds, architectures, suffixes, PTX ISA, compression.
Bytes two_container_fatbin_section() {
  FakeEntry ptx75 = fake_ptx(75, 9, 0);
  ptx75.compressed = true;
  FakeEntry sass100 = fake_sass(100, 'f');
  sass100.header_size = 112;  // Blackwell entries carry a longer header
  return concat(
      {make_fatbin({fake_sass(75), ptx75}), make_fatbin({fake_sass(90, 'a'), sass100, fake_ptx(100, 8, 7, 'f')})}, 16);
}

TEST_F(BinaryFiles, ReadsEntriesOfEveryKindAndArchitecture) {
  const std::string path =
      write("lib.so",
            make_elf({{".text", Bytes(100, std::byte{0x90}), 1, 0x6}, {".nv_fatbin", two_container_fatbin_section()}}));
  const BinaryReport r = read_binary(path);
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  ASSERT_EQ(r.modules.size(), 2u);
  EXPECT_EQ(r.modules[0].entries.size(), 2u);
  EXPECT_EQ(r.modules[1].entries.size(), 3u);
  EXPECT_EQ(names(r.sass()), (std::vector<std::string>{"sm_75", "sm_90a", "sm_100f"}));
  EXPECT_EQ(names(r.ptx()), (std::vector<std::string>{"compute_75", "compute_100f"}));
  EXPECT_EQ(r.highest_ptx_isa(ArchTarget{75, '\0', false}), 90);
  EXPECT_EQ(r.highest_ptx_isa(ArchTarget{100, 'f', false}), 87);
  EXPECT_EQ(r.entries(), 5u);
  EXPECT_EQ(r.compressed_entries(), 1u);  // listed from its header, never decompressed
  EXPECT_EQ(r.modules[0].section, ".nv_fatbin");
}

TEST_F(BinaryFiles, ReadsHeadersNotPayloads) {
  FakeEntry big = fake_sass(80);
  big.payload = 8 << 20;
  const std::string path =
      write("big.so", make_elf({{".nv_fatbin", concat({make_fatbin({big}), make_fatbin({big})})}}));
  const BinaryReport r = read_binary(path);
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  EXPECT_EQ(r.modules.size(), 2u);
  EXPECT_LT(r.bytes_read, 64u * 1024) << "of a " << fs::file_size(path) << "-byte file";
}

TEST_F(BinaryFiles, NotElfIsAStatusWhenNamedAndACountWhenWalked) {
  const std::string path = write("tree/notes.txt", Bytes(200, std::byte{'x'}));
  EXPECT_EQ(read_binary(path).status, FileStatus::not_elf);
  const PathScan named = scan_path(path);
  ASSERT_EQ(named.files.size(), 1u);
  EXPECT_EQ(named.files[0].status, FileStatus::not_elf);
  const PathScan walked = scan_path(dir_ + "/tree");
  EXPECT_TRUE(walked.files.empty());
  EXPECT_EQ(walked.counts.not_elf, 1u);
}

TEST_F(BinaryFiles, TruncatedSectionTable) {
  Bytes elf = make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)})}});
  elf.resize(elf_layout(elf).section_table_offset + 100);  // cut inside the table
  const BinaryReport r = read_binary(write("cut.so", elf));
  EXPECT_EQ(r.status, FileStatus::truncated);
  EXPECT_NE(r.message.find("section header"), std::string::npos) << r.message;
}

TEST_F(BinaryFiles, SectionBeyondEndOfFile) {
  Bytes elf = make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)})}});
  put_u64(elf, elf_layout(elf).section_table_offset + 64 + 0x18, elf.size() - 8);  // .nv_fatbin's offset
  const BinaryReport r = read_binary(write("beyond.so", elf));
  EXPECT_EQ(r.status, FileStatus::truncated);
  EXPECT_NE(r.message.find(".nv_fatbin"), std::string::npos) << r.message;
}

TEST_F(BinaryFiles, UnknownFatbinVersion) {
  const BinaryReport r = read_binary(write("v2.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)}, 2)}})));
  EXPECT_EQ(r.status, FileStatus::unknown_fatbin_version);
  EXPECT_NE(r.message.find("version 2"), std::string::npos) << r.message;
}

TEST_F(BinaryFiles, EntryLargerThanItsContainerIsCorrupt) {
  Bytes fatbin = make_fatbin({fake_sass(80)});
  put_u64(fatbin, 16 + 0x08, 1ull << 40);  // payload size
  const BinaryReport r = read_binary(write("corrupt.so", make_elf({{".nv_fatbin", fatbin}})));
  EXPECT_EQ(r.status, FileStatus::corrupt_fatbin);
}

TEST_F(BinaryFiles, ThirtyTwoBitElfIsUnsupported) {
  Bytes elf = make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)})}});
  elf[4] = std::byte{1};
  EXPECT_EQ(read_binary(write("elf32.so", elf)).status, FileStatus::unsupported_elf);
}

TEST_F(BinaryFiles, WrappersMarkLinkedModulesAndFindFatbinsElsewhere) {
  // .nv_fatbin: a device-link output (SASS only) and a module; .rodata: a fatbin only a wrapper names.
  const Bytes linked = make_fatbin({fake_sass(75)});
  const Bytes module = make_fatbin({fake_sass(80), fake_ptx(80, 9, 0)});
  const Bytes fatbins = concat({linked, module});
  Bytes rodata(40, std::byte{0x11});
  const Bytes hidden = make_fatbin({fake_sass(120)});
  rodata.insert(rodata.end(), hidden.begin(), hidden.end());
  // Section addresses are 0x10000 + file offset: lay the file out once to learn them.
  std::vector<FakeSection> sections = {{".nv_fatbin", fatbins}, {".rodata", rodata}, {".nvFatBinSegment", Bytes(48)}};
  const Bytes draft = make_elf(sections);
  const uint64_t fatbin_at = section_address(draft, 1), rodata_at = section_address(draft, 2);
  Bytes wrappers = make_wrapper(2, fatbin_at);
  const Bytes second = make_wrapper(1, rodata_at + 40);
  wrappers.insert(wrappers.end(), second.begin(), second.end());
  sections[2].bytes = wrappers;
  const BinaryReport r = read_binary(write("wrapped.so", make_elf(sections)));
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  ASSERT_EQ(r.modules.size(), 3u);
  EXPECT_TRUE(r.modules[0].linked);
  EXPECT_FALSE(r.modules[1].linked);
  EXPECT_EQ(r.modules[2].section, ".rodata");
  EXPECT_EQ(names(r.sass()), (std::vector<std::string>{"sm_75", "sm_80", "sm_120"}));
  // The linked module JIT-links its inputs' PTX: compute_80 serves a future device.
  const Judgement j = judge(r, Device{130, 0, "test"}, false);
  EXPECT_EQ(j.verdict, Verdict::jit);
  EXPECT_EQ(j.modules.no_image, 1u);  // the sm_120-only module
  EXPECT_EQ(j.modules.jit, 2u);
}

TEST_F(BinaryFiles, FatbinsEmbeddedInDataSections) {
  Bytes ldata(3000, std::byte{0x42});
  const Bytes first = make_fatbin({fake_sass(86), fake_ptx(86, 8, 5)});
  const Bytes second = make_fatbin({fake_sass(89)});
  for (const Bytes* b : {&first, &second}) {
    while (ldata.size() % 8) ldata.push_back(std::byte{0});
    ldata.insert(ldata.end(), b->begin(), b->end());
    ldata.insert(ldata.end(), 5000, std::byte{0x37});  // other data between them
  }
  const BinaryReport r =
      read_binary(write("embedded.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(75)})}, {".ldata", ldata}})));
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  ASSERT_EQ(r.modules.size(), 3u);
  EXPECT_EQ(r.embedded_modules(), 2u);
  EXPECT_EQ(names(r.sass()), (std::vector<std::string>{"sm_75", "sm_86", "sm_89"}));
  // A file the toolchain did not mark as CUDA is not searched.
  const BinaryReport plain = read_binary(write("plain.so", make_elf({{".ldata", ldata}})));
  EXPECT_FALSE(plain.has_cuda());
}

// Issue 23: merging what the sections, the wrappers and the data search found walked all modules per
// fatbin and per wrapper (a crafted 5 MB file took 125 s). Counted, not timed: one lookup per module,
// wrapper and embedded fatbin, where main made 3.2e8 comparisons here (n^2/2).
TEST_F(BinaryFiles, MergingFoundFatbinsIsLinearWork) {
  constexpr size_t kModules = 5000, kEmbedded = 20000;
  const Bytes module = make_fatbin({fake_sass(80)});
  std::vector<Bytes> modules(kModules, module);
  Bytes ldata;
  const Bytes empty = make_fatbin({});  // the smallest container: a header, no entries
  for (size_t i = 0; i < kEmbedded; ++i) ldata.insert(ldata.end(), empty.begin(), empty.end());
  std::vector<FakeSection> sections = {
      {".nv_fatbin", concat(modules)}, {".ldata", ldata}, {".nvFatBinSegment", Bytes(24 * kModules)}};
  const uint64_t fatbin_at = section_address(make_elf(sections), 1);
  Bytes wrappers;
  for (size_t i = 0; i < kModules; ++i) {  // every module a device-link output
    const Bytes w = make_wrapper(2, fatbin_at + i * module.size());
    wrappers.insert(wrappers.end(), w.begin(), w.end());
  }
  sections[2].bytes = wrappers;
  const BinaryReport r = read_binary(write("crafted.so", make_elf(sections)));
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  ASSERT_EQ(r.modules.size(), kModules + kEmbedded);
  EXPECT_EQ(r.embedded_modules(), kEmbedded);
  EXPECT_EQ(r.linked_modules(), kModules);
  EXPECT_LE(r.merge_lookups, 2 * (2 * kModules + kEmbedded));
}

TEST_F(BinaryFiles, WalksDirectoriesOnceThroughLinksAndLoops) {
  write("env/lib/python3.11/site-packages/pkg/libcuda_code.so",
        make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)})}}));
  write("env/lib/python3.11/site-packages/pkg/libplain.so", make_elf({{".text", Bytes(64, std::byte{0x90})}}));
  write("env/lib/python3.11/site-packages/pkg/module.py", Bytes(10, std::byte{'#'}));
  write("env/lib/python3.11/site-packages/pkg/libbroken.so",
        Bytes{std::byte{0x7f}, std::byte{'E'}, std::byte{'L'}, std::byte{'F'}});
  const std::string pkg = dir_ + "/env/lib/python3.11/site-packages/pkg";
  fs::create_symlink(pkg + "/libcuda_code.so", pkg + "/libcuda_code.so.1");
  fs::create_directory_symlink("..", pkg + "/loop");
  const PathScan scan = scan_path(dir_ + "/env");
  EXPECT_EQ(scan.kind, PathKind::python_environment);
  EXPECT_EQ(scan.counts.files, 4u);
  EXPECT_EQ(scan.counts.elf, 3u);
  EXPECT_EQ(scan.counts.with_cuda, 1u);
  EXPECT_EQ(scan.counts.without_cuda, 1u);
  EXPECT_EQ(scan.counts.not_elf, 1u);
  EXPECT_EQ(scan.counts.bad, 1u);
  EXPECT_EQ(scan.counts.skipped_links, 2u);
  ASSERT_EQ(scan.files.size(), 2u);  // the CUDA library and the broken one, by name
  EXPECT_EQ(scan.relative[0], "lib/python3.11/site-packages/pkg/libbroken.so");
  EXPECT_EQ(scan.files[0].status, FileStatus::truncated);
  EXPECT_EQ(scan.relative[1], "lib/python3.11/site-packages/pkg/libcuda_code.so");
}

// Random corruption of a valid file: every outcome is a status, never a crash or a read out of bounds.
TEST_F(BinaryFiles, FuzzedFilesNeverCrash) {
  const Bytes original =
      make_elf({{".nv_fatbin", two_container_fatbin_section()}, {".nvFatBinSegment", make_wrapper(1, 0x10040)}});
  std::mt19937 rng(16);
  const std::string path = dir_ + "/fuzz.so";
  int ok = 0;
  for (int round = 0; round < 1000; ++round) {
    Bytes b = original;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] = static_cast<std::byte>(rng()); break;
        case 1: b[at] ^= static_cast<std::byte>(1u << (rng() % 8)); break;
        case 2: put_u32(b, std::min(at, b.size() - 4), static_cast<uint32_t>(rng())); break;
        case 3: b.resize(std::max<size_t>(at, 1)); break;
      }
    }
    write_file(path, b);
    const BinaryReport r = read_binary(path);
    EXPECT_EQ(r.message.find("internal error"), std::string::npos) << r.message;
    EXPECT_LE(r.bytes_read, 4u * original.size());
    ok += r.status == FileStatus::ok;
  }
  EXPECT_GT(ok, 0);  // some mutations leave a readable file
}

// ---- verdicts, table-tested on hand-written binaries: expectations from docs/cuda-facts.md's rules ----

BinaryReport report_of(const std::vector<std::vector<FakeEntry>>& modules) {
  BinaryReport r;
  r.path = "synthetic";
  uint64_t offset = 0;
  for (const auto& entries : modules) {
    Fatbin f;
    f.offset = offset++;
    for (const auto& e : entries) {
      FatbinEntry fe;
      fe.kind = e.kind;
      fe.target = ArchTarget{static_cast<int>(e.arch), e.suffix, e.kind == kFatbinKindCubin};
      fe.version_major = e.major;
      fe.version_minor = e.minor;
      f.entries.push_back(fe);
    }
    r.modules.push_back(f);
  }
  return r;
}

std::vector<FakeEntry> sass_list(std::initializer_list<uint32_t> archs) {
  std::vector<FakeEntry> out;
  for (uint32_t a : archs) out.push_back(fake_sass(a));
  return out;
}

struct VerdictCase {
  const char* binary;
  int cc;
  const char* normal;  // verdict_cell
  const char* forced;  // under CUDA_FORCE_PTX_JIT=1
};

TEST(BinaryVerdict, RepresentativeBinariesOnOldCurrentAndFutureDevices) {
  auto with_ptx = [](std::vector<FakeEntry> v, FakeEntry p) {
    v.push_back(p);
    return v;
  };
  const std::map<std::string, BinaryReport> binaries = {
      // A cu126-style wheel: SASS from Maxwell to Hopper, no PTX.
      {"cu126", report_of({sass_list({50, 60, 70, 75, 80, 86, 90})})},
      // A cu128-style wheel: Turing to Blackwell, no PTX.
      {"cu128", report_of({sass_list({75, 80, 86, 90, 100, 120})})},
      // modebench's CUDA 13 default: one SASS per major and PTX for the lowest.
      {"modebench13", report_of({with_ptx(sass_list({75, 80, 90, 100, 110, 120}), fake_ptx(75, 9, 0))})},
      // Arch-specific and family code only.
      {"specific", report_of({{fake_sass(90, 'a'), fake_sass(120, 'f'), fake_ptx(120, 8, 8, 'f')}})},
  };
  const std::vector<VerdictCase> cases = {
      {"cu126", 50, "native sm_50", "no image"},
      {"cu126", 86, "native sm_86", "no image"},
      {"cu126", 120, "no image", "no image"},  // sm_90 SASS never runs on another major
      {"cu126", 130, "no image", "no image"},
      {"cu128", 50, "no image", "no image"},
      {"cu128", 86, "native sm_86", "no image"},
      {"cu128", 120, "native sm_120", "no image"},
      {"cu128", 130, "no image", "no image"},
      {"modebench13", 50, "no image", "no image"},  // PTX never compiles downward
      {"modebench13", 86, "native sm_80", "jit compute_75 (PTX 9.0)"},
      {"modebench13", 120, "native sm_120", "jit compute_75 (PTX 9.0)"},
      {"modebench13", 130, "jit compute_75 (PTX 9.0)", "jit compute_75 (PTX 9.0)"},
      {"specific", 90, "native sm_90a", "no image"},
      {"specific", 86, "no image", "no image"},
      {"specific", 121, "native sm_120f", "jit compute_120f (PTX 8.8)"},  // family: 12.x
      {"specific", 130, "no image", "no image"},                          // family PTX stays in 12.x
  };
  for (const auto& c : cases) {
    const FileVerdict v = judge(binaries.at(c.binary), Device{c.cc, 0, "test"});
    EXPECT_EQ(verdict_cell(v.normal), c.normal) << c.binary << " on " << c.cc;
    EXPECT_EQ(verdict_cell(v.forced_ptx_jit), c.forced) << c.binary << " on " << c.cc << " forced";
  }
}

TEST(BinaryVerdict, DriverDecidesWhetherThePtxCompiles) {
  const BinaryReport r = report_of({{fake_sass(80), fake_ptx(80, 9, 0)}});
  const Judgement unknown = judge(r, Device{130, 0, "test"}, false);
  EXPECT_EQ(unknown.driver_jit, JitSupport::unknown);
  const Judgement old_driver = judge(r, Device{130, 12080, "test"}, false);
  EXPECT_EQ(old_driver.verdict, Verdict::jit);
  EXPECT_EQ(old_driver.driver_jit, JitSupport::no);
  EXPECT_NE(old_driver.reason.find("needs 13.0"), std::string::npos) << old_driver.reason;
  EXPECT_EQ(verdict_cell(old_driver), "jit compute_80 (PTX 9.0, driver too old)");
  const Judgement new_driver = judge(r, Device{130, 13000, "test"}, false);
  EXPECT_EQ(new_driver.driver_jit, JitSupport::yes);
  EXPECT_LT(old_driver.strength(), unknown.strength());
  EXPECT_LT(unknown.strength(), new_driver.strength());
  EXPECT_LT(judge(report_of({{fake_sass(90)}}), Device{86, 0, "test"}, false).strength(), old_driver.strength());
}

TEST(BinaryVerdict, ModulesWithoutAnImageAreCountedAndStarred) {
  // A vendor-library pattern: a generic module and a Hopper-only one.
  const BinaryReport r = report_of({sass_list({80, 90}), {fake_sass(90, 'a')}});
  const Judgement j = judge(r, Device{86, 0, "test"}, false);
  EXPECT_EQ(j.verdict, Verdict::native);
  EXPECT_EQ(j.modules.native, 1u);
  EXPECT_EQ(j.modules.no_image, 1u);
  EXPECT_EQ(verdict_cell(j), "native sm_80 *");
}

// A build's own arch list against its binaries. The case that matters: a wheel whose list says
// "sm_120" but whose kernels were compiled as sm_120a, which runs on 12.0 only.
TEST(BinaryVerdict, ArchListClaimsAreJudgedBesideTheBinaries) {
  const auto list = parse_arch_list("sm_75 sm_86 sm_120");
  EXPECT_EQ(claimed_by(list, 86, false).cell(), "native sm_86");
  EXPECT_EQ(claimed_by(list, 89, false).cell(), "native sm_86");  // same major, lower minor
  EXPECT_EQ(claimed_by(list, 121, false).cell(), "native sm_120");
  EXPECT_EQ(claimed_by(list, 90, false).cell(), "no image");
  EXPECT_EQ(claimed_by(list, 86, true).cell(), "no image");  // no compute_ in the list
  EXPECT_EQ(claimed_by(parse_arch_list("sm_80 compute_80"), 120, false).cell(), "jit compute_80");

  const BinaryReport wheel = report_of({{fake_sass(75), fake_sass(86), fake_sass(120, 'a')}});
  for (const auto& [cc, agree] : std::vector<std::pair<int, bool>>{{86, true}, {120, true}, {121, false}, {90, true}}) {
    const Judgement j = judge(wheel, Device{cc, 0, "test"}, false);
    const auto differ = claim_disagreement(claimed_by(list, cc, false), j.verdict, verdict_cell(j), Device{cc, 0, "t"});
    EXPECT_EQ(!differ, agree) << cc;
    if (differ) {
      EXPECT_EQ(*differ,
                "sm_121: the arch list says native sm_120, the binaries say no image: the binaries win (they carry "
                "what was compiled; the list is what the build says of itself)");
    }
  }
}

TEST(BinaryVerdict, ArgumentsParse) {
  EXPECT_EQ(parse_compute_capability("12.0"), 120);
  EXPECT_EQ(parse_compute_capability("8.6"), 86);
  EXPECT_EQ(parse_cuda_version("12.8"), 12080);
  EXPECT_THROW(parse_compute_capability("120"), std::invalid_argument);
  EXPECT_THROW(parse_compute_capability("0.5"), std::invalid_argument);
  EXPECT_THROW(parse_cuda_version("12"), std::invalid_argument);
  const auto d = parse_devices("5.0,8.6,12.0,13.0", "12.8");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[3].cc, 130);
  EXPECT_EQ(d[3].driver_cuda, 12080);
  EXPECT_THROW(parse_devices("8.6,x", ""), std::invalid_argument);
}

// ---- the entry point bench/main.cpp calls ----

// A path that exists but is no file or folder is named as such (/dev/null said "no such file").
TEST(BinaryProbeArguments, APathThatIsNoFileOrFolderIsNamedAsSuch) {
  const std::string tmp = make_temp_dir("modebench-test-binary-args-");
  for (const auto& [path, why] :
       {std::pair<std::string, std::string>{"/dev/null", "not a file or folder (a device, pipe or socket)"},
        {tmp + "/nothing", "no such file or directory"}}) {
    BinaryProbeOptions opts;
    opts.paths = {path};
    opts.cc = "8.6";
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(probe_binary_main(opts), 2);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "modebench probe --binary: " + why + ": " + path + "\n");
  }
  std::filesystem::remove_all(tmp);
}

TEST_F(BinaryFiles, EntryPointReportsWeakestFileAndWritesJson) {
  write("tree/a_good.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(86), fake_ptx(86, 8, 7)})}}));
  write("tree/b_weak.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(90)})}}));
  BinaryProbeOptions opts;
  opts.paths = {dir_ + "/tree"};
  opts.cc = "8.6,12.0";
  opts.driver = "12.8";
  opts.json_out = dir_ + "/out/binary.json";
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(probe_binary_main(opts), 0);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(text.find("weakest on sm_86: b_weak.so: no image"), std::string::npos) << text;
  std::ifstream in(opts.json_out);
  const json j = json::parse(in);
  EXPECT_EQ(j["schema"], "modebench-probe-binary/1");
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][0]["driver_cuda"], "12.8");
  const json& p = j["paths"][0];
  EXPECT_EQ(p["counts"]["with_cuda"], 2);
  EXPECT_EQ(p["weakest"][0]["normal"]["file"], "b_weak.so");
  EXPECT_EQ(p["weakest"][1]["normal"]["file"], "b_weak.so");  // sm_90 SASS serves no other major
  // a_good on sm_120: JIT from compute_86, whose ISA 8.7 a CUDA 12.8 driver compiles.
  EXPECT_EQ(p["files"][0]["verdicts"][1]["verdict"], "jit");
  EXPECT_EQ(p["files"][0]["verdicts"][1]["image"], "compute_86");
  EXPECT_EQ(p["files"][0]["verdicts"][1]["driver_can_jit"], true);
  EXPECT_FALSE(fs::exists(opts.json_out + ".tmp"));
}

// Issue 23: a walked file whose name is not UTF-8 made --json fail (type_error.316, exit 1). Its
// invalid bytes are written as U+FFFD; the text report keeps the name's bytes as they are.
TEST_F(BinaryFiles, EntryPointWritesJsonForNamesThatAreNotUtf8) {
  write("tree/lib\xff\xfe.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(86)})}}));
  BinaryProbeOptions opts;
  opts.paths = {dir_ + "/tree"};
  opts.cc = "8.6";
  opts.json_out = dir_ + "/binary.json";
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(probe_binary_main(opts), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("lib\xff\xfe.so"), std::string::npos);
  std::ifstream in(opts.json_out);
  const json j = json::parse(in);
  const json& file = j["paths"][0]["files"][0];
  EXPECT_EQ(file["relative"], "lib\xEF\xBF\xBD\xEF\xBF\xBD.so");
  EXPECT_EQ(file["path"], dir_ + "/tree/lib\xEF\xBF\xBD\xEF\xBF\xBD.so");
  EXPECT_EQ(j["paths"][0]["weakest"][0]["normal"]["file"], "lib\xEF\xBF\xBD\xEF\xBF\xBD.so");
}

TEST_F(BinaryFiles, EntryPointShowsTheArchListBesideTheBinaries) {
  const std::string lib =
      write("libtorch_cuda.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(86), fake_sass(120, 'a')})}}));
  BinaryProbeOptions opts;
  opts.paths = {lib};
  opts.cc = "8.6,12.1";
  opts.arch_list = "sm_86 sm_120";
  opts.json_out = dir_ + "/binary.json";
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(probe_binary_main(opts), 0);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(text.find("(arch list says)"), std::string::npos) << text;
  EXPECT_NE(text.find("native sm_120 !"), std::string::npos) << text;
  EXPECT_NE(text.find("sm_121: the arch list says native sm_120, the binaries say no image"), std::string::npos)
      << text;
  std::ifstream in(opts.json_out);
  const json j = json::parse(in);
  EXPECT_EQ(j["arch_list"], "sm_86 sm_120");
  const json& w = j["paths"][0]["weakest"];
  EXPECT_EQ(w[0]["arch_list"]["normal"]["agree"], true);
  EXPECT_EQ(w[1]["arch_list"]["normal"]["agree"], false);
  EXPECT_EQ(w[1]["arch_list"]["force_ptx_jit"]["agree"], true);  // no PTX listed, none carried

  opts.arch_list = "sm_86 sm_12x";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(probe_binary_main(opts), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("sm_12x"), std::string::npos);
}

TEST_F(BinaryFiles, EntryPointWithoutDeviceListsArchitecturesOnly) {
  const std::string lib = write("lib.so", make_elf({{".nv_fatbin", make_fatbin({fake_sass(80)})}}));
  BinaryProbeOptions opts;
  opts.paths = {lib};
  opts.local_devices = [] { return LocalDevices{{}, "no CUDA driver on this machine"}; };
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(probe_binary_main(opts), 0);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(text.find("No device known (no CUDA driver on this machine)"), std::string::npos) << text;
  EXPECT_NE(text.find("sm_80"), std::string::npos) << text;
  EXPECT_EQ(text.find("verdict"), std::string::npos) << text;

  opts.local_devices = [] { return LocalDevices{{Device{86, 12080, "device 0: test"}}, ""}; };
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(probe_binary_main(opts), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("native sm_80"), std::string::npos);
}

TEST_F(BinaryFiles, BadArgumentsExitTwo) {
  BinaryProbeOptions opts;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(probe_binary_main(opts), 2);  // no PATH
  opts.paths = {dir_ + "/missing.so"};
  EXPECT_EQ(probe_binary_main(opts), 2);
  opts.paths = {dir_};
  opts.cc = "twelve";
  EXPECT_EQ(probe_binary_main(opts), 2);
  opts.cc = "12.0";
  opts.driver = "r570";
  EXPECT_EQ(probe_binary_main(opts), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 4) << err;
}

// ---- real binaries ----

// Where CI runs (env CI set), a missing cuobjdump fails the tests that compare with it.
std::string cuobjdump_or_skip_reason() {
  const std::string tool = find_cuobjdump();
  if (tool.empty() && std::getenv("CI"))
    ADD_FAILURE() << "cuobjdump not found: CI must install it (python3 -m pip install nvidia-cuda-cuobjdump)";
  return tool;
}

// Entries of the `.nv_fatbin` modules named as cuobjdump names them: family SASS without its `f`.
std::map<std::string, int> our_listing(const BinaryReport& r) {
  std::map<std::string, int> out;
  for (const auto& m : r.modules) {
    if (m.section != kFatbinSection) continue;
    for (const auto& e : m.entries) {
      if (!e.is_code()) continue;
      const char suffix = e.target.sass && e.target.suffix == 'f' ? '\0' : e.target.suffix;
      ++out["sm_" + std::to_string(e.target.cc) + (suffix ? std::string(1, suffix) : "") +
            (e.target.sass ? " cubin" : " ptx")];
    }
  }
  return out;
}

void expect_same_as_cuobjdump(const std::string& file) {
  const std::string tool = cuobjdump_or_skip_reason();
  if (tool.empty()) GTEST_SKIP() << "cuobjdump not found (python3 -m pip install nvidia-cuda-cuobjdump)";
  const BinaryReport r = read_binary(file);
  ASSERT_EQ(r.status, FileStatus::ok) << file << ": " << r.message;
  EXPECT_EQ(our_listing(r), cuobjdump_listing(tool, file)) << file;
}

// The verdict on each device must be what choose_image says of cuobjdump's own list.
void expect_verdicts_follow_cuobjdump(const std::string& file) {
  const std::string tool = find_cuobjdump();
  if (tool.empty()) return;
  std::vector<ArchTarget> listed;
  for (const auto& [name, count] : cuobjdump_listing(tool, file)) {
    const std::string arch = name.substr(0, name.find(' '));
    const bool sass = name.ends_with("cubin");
    ArchTarget t = parse_arch_list(sass ? arch : "compute_" + arch.substr(3))[0];
    listed.push_back(t);
  }
  const BinaryReport r = read_binary(file);
  const bool has_family_sass = std::any_of(r.modules.begin(), r.modules.end(), [](const Fatbin& m) {
    return std::any_of(m.entries.begin(), m.entries.end(), [](const FatbinEntry& e) { return e.target.suffix == 'f'; });
  });
  const bool embedded = r.embedded_modules() > 0;
  for (int cc : {50, 86, 120, 130}) {
    const ImageChoice expected = choose_image(listed, cc);
    const Judgement j = judge(r, Device{cc, 0, "test"}, false);
    const ImageKind got = j.verdict == Verdict::native ? ImageKind::sass
                          : j.verdict == Verdict::jit  ? ImageKind::ptx
                                                       : ImageKind::none;
    if (embedded && got != expected.kind) continue;  // fatbins cuobjdump does not see can only add images
    EXPECT_EQ(got, expected.kind) << file << " on sm_" << cc << ": " << j.reason;
    if (expected.target && j.image && !has_family_sass) {
      EXPECT_EQ(j.image->name(), expected.target->name()) << file;
    }
  }
}

TEST(BinaryReal, ModebenchCarriesWhatCMakeWasAskedFor) {
  const std::string exe = modebench_executable();
  ASSERT_TRUE(fs::exists(exe)) << exe << " is not built (build the modebench target)";
  const BinaryReport r = read_binary(exe);
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  if (std::string(build_info::cuda_archs) == "none") {
    EXPECT_FALSE(r.has_cuda()) << "a CPU-only build carries no CUDA code";
    return;
  }
  std::vector<std::string> want_sass, want_ptx;
  for (const auto& t : parse_arch_list(build_info::cuda_archs)) (t.sass ? want_sass : want_ptx).push_back(t.name());
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(names(r.sass())), sorted(want_sass)) << build_info::cuda_archs;
  EXPECT_EQ(sorted(names(r.ptx())), sorted(want_ptx)) << build_info::cuda_archs;
  for (const auto& m : r.modules) EXPECT_EQ(sorted(names(m.targets())).size(), want_sass.size() + want_ptx.size());
  expect_same_as_cuobjdump(exe);
}

TEST(BinaryReal, ToolkitCublasMatchesCuobjdump) {
  const std::string dir = find_toolkit_lib_dir();
  if (dir.empty()) GTEST_SKIP() << "no CUDA toolkit with cuBLAS here (/usr/local/cuda or CUDA_HOME)";
  for (const auto& lib : shared_libraries(dir, "libcublas")) {
    SCOPED_TRACE(lib);
    expect_same_as_cuobjdump(lib);
    expect_verdicts_follow_cuobjdump(lib);
    const BinaryReport r = read_binary(lib);
    ASSERT_TRUE(r.has_cuda());
    // A CUDA 13 library: no SASS below sm_75 (toolkit_targets), and PTX never compiles downward.
    EXPECT_EQ(judge(r, Device{50, 0, "test"}, false).verdict, Verdict::no_image);
  }
}

TEST(BinaryReal, ToolkitCudnnMatchesCuobjdump) {
  const std::string dir = find_toolkit_lib_dir();
  const auto libs = dir.empty() ? std::vector<std::string>{} : shared_libraries(dir, "libcudnn");
  if (libs.empty()) GTEST_SKIP() << "no cuDNN next to the toolkit's cuBLAS";
  size_t with_cuda = 0;
  for (const auto& lib : libs) {
    SCOPED_TRACE(lib);
    expect_same_as_cuobjdump(lib);
    expect_verdicts_follow_cuobjdump(lib);
    with_cuda += read_binary(lib).has_cuda();
  }
  EXPECT_GT(with_cuda, 0u);
}

TEST(BinaryReal, TorchCudaMatchesCuobjdumpAndItsArchList) {
  const std::string lib_dir = find_torch_lib_dir();
  if (lib_dir.empty()) GTEST_SKIP() << "python3 cannot import torch: the torch comparison needs the torch wheel";
  const std::string lib = lib_dir + "/libtorch_cuda.so";
  if (!fs::exists(lib)) GTEST_SKIP() << "torch has no libtorch_cuda.so (a CPU-only wheel)";
  const BinaryReport r = read_binary(lib);
  ASSERT_EQ(r.status, FileStatus::ok) << r.message;
  // torch's own account of what it was built for: every sm_ of it is in the file.
  const std::string arch_list =
      shell_output("python3 -c 'import torch; print(\" \".join(torch.cuda.get_arch_list()))'");
  ASSERT_FALSE(arch_list.empty());
  const auto listed = parse_arch_list(arch_list);
  const auto sass = names(r.sass());
  for (const auto& t : listed)
    if (t.sass) {
      EXPECT_NE(std::find(sass.begin(), sass.end(), t.name()), sass.end()) << t.name() << " in " << arch_list;
    }
  const bool torch_lists_ptx = std::any_of(listed.begin(), listed.end(), [](const ArchTarget& t) { return !t.sass; });
  EXPECT_EQ(!r.ptx().empty(), torch_lists_ptx) << arch_list;
  expect_same_as_cuobjdump(lib);
  expect_verdicts_follow_cuobjdump(lib);
}

// Walking a whole torch environment reads headers only: a small fraction of its CUDA libraries' bytes.
TEST(BinaryReal, TorchEnvironmentWalkReadsHeadersOnly) {
  const std::string site = find_torch_site_packages();
  if (site.empty()) GTEST_SKIP() << "python3 cannot import torch: no torch environment to walk";
  const auto start = std::chrono::steady_clock::now();
  const PathScan scan = scan_path(site);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t cuda_bytes = 0;
  for (const auto& f : scan.files) cuda_bytes += fs::file_size(f.path);
  RecordProperty("walk_seconds", std::to_string(seconds));
  RecordProperty("bytes_read", std::to_string(scan.counts.bytes_read));
  std::printf("walked %s: %llu files, %zu with CUDA code (%.1f GB), %.1f MB read, %.2f s\n", site.c_str(),
              static_cast<unsigned long long>(scan.counts.files), scan.files.size(), cuda_bytes / 1e9,
              scan.counts.bytes_read / 1e6, seconds);
  EXPECT_EQ(scan.counts.bad, 0u);
  EXPECT_GT(scan.counts.with_cuda, 0u);
  EXPECT_LT(scan.counts.bytes_read, cuda_bytes / 50) << "more than 2% of the CUDA libraries' bytes read";
}

}  // namespace
}  // namespace mb::binary
