#include "cuda_rules/arch.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace mb {

int cc_major(int cc) { return cc / 10; }
int cc_minor(int cc) { return cc % 10; }
std::string cc_string(int cc) { return std::to_string(cc_major(cc)) + "." + std::to_string(cc_minor(cc)); }

std::string ArchTarget::name() const {
  std::string s = (sass ? "sm_" : "compute_") + std::to_string(cc);
  if (suffix) s += suffix;
  return s;
}

namespace {

// "90a" -> {90, 'a'}; the digits are major*10+minor as nvcc writes them.
std::pair<int, char> parse_cc(const std::string& s, const std::string& token) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 3) throw std::invalid_argument("malformed CUDA architecture '" + token + "'");
  char suffix = '\0';
  if (i < s.size()) {
    if (i + 1 != s.size() || (s[i] != 'a' && s[i] != 'f'))
      throw std::invalid_argument("malformed CUDA architecture '" + token + "'");
    suffix = s[i];
  }
  int cc = std::stoi(s.substr(0, i));
  if (cc < 10) throw std::invalid_argument("malformed CUDA architecture '" + token + "'");
  return {cc, suffix};
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::vector<ArchTarget> parse_arch_list(const std::string& list) {
  std::vector<ArchTarget> out;
  auto add = [&out](ArchTarget t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  std::string token;
  auto flush = [&] {
    if (token.empty()) return;
    const std::string tok = token;
    token.clear();
    if (tok == "all" || tok == "all-major" || tok == "native")
      throw std::invalid_argument("CUDA architecture '" + tok + "' names no fixed list");
    if (tok.rfind("sm_", 0) == 0) {
      auto [cc, suf] = parse_cc(tok.substr(3), tok);
      add({cc, suf, true});
    } else if (tok.rfind("compute_", 0) == 0) {
      auto [cc, suf] = parse_cc(tok.substr(8), tok);
      add({cc, suf, false});
    } else if (ends_with(tok, "-real")) {
      auto [cc, suf] = parse_cc(tok.substr(0, tok.size() - 5), tok);
      add({cc, suf, true});
    } else if (ends_with(tok, "-virtual")) {
      auto [cc, suf] = parse_cc(tok.substr(0, tok.size() - 8), tok);
      add({cc, suf, false});
    } else {
      auto [cc, suf] = parse_cc(tok, tok);  // CMake: plain "80" embeds SASS and PTX
      add({cc, suf, true});
      add({cc, suf, false});
    }
  };
  for (char ch : list) {
    if (ch == ';' || ch == ',' || std::isspace(static_cast<unsigned char>(ch)))
      flush();
    else
      token += ch;
  }
  flush();
  return out;
}

std::string describe(const std::vector<ArchTarget>& targets) {
  std::string sass, ptx;
  for (const auto& t : targets) {
    std::string& s = t.sass ? sass : ptx;
    s += (s.empty() ? "" : " ") + t.name();
  }
  if (sass.empty() && ptx.empty()) return "none";
  return "SASS " + (sass.empty() ? std::string("none") : sass) + "; PTX " + (ptx.empty() ? std::string("none") : ptx);
}

bool sass_runs_on(const ArchTarget& t, int device_cc) {
  if (!t.sass) return false;
  if (t.suffix == 'a') return device_cc == t.cc;
  // Plain and family SASS: same major, same or higher minor.
  return cc_major(device_cc) == cc_major(t.cc) && cc_minor(device_cc) >= cc_minor(t.cc);
}

bool ptx_jits_for(const ArchTarget& t, int device_cc) {
  if (t.sass) return false;
  if (t.suffix == 'a') return device_cc == t.cc;
  if (t.suffix == 'f') return cc_major(device_cc) == cc_major(t.cc) && cc_minor(device_cc) >= cc_minor(t.cc);
  return device_cc >= t.cc;  // across majors, never downward
}

namespace {
// Specificity at equal CC: arch-specific beats family beats plain (more features, same device).
int specificity(char suffix) { return suffix == 'a' ? 2 : suffix == 'f' ? 1 : 0; }
bool better(const ArchTarget& a, const ArchTarget& b) {
  return a.cc != b.cc ? a.cc > b.cc : specificity(a.suffix) > specificity(b.suffix);
}
}  // namespace

ImageChoice choose_image(const std::vector<ArchTarget>& targets, int device_cc, bool force_ptx_jit) {
  ImageChoice c;
  const std::string dev = "sm_" + std::to_string(device_cc);
  std::optional<ArchTarget> sass, ptx;
  for (const auto& t : targets) {
    if (!force_ptx_jit && sass_runs_on(t, device_cc) && (!sass || better(t, *sass))) sass = t;
    if (ptx_jits_for(t, device_cc) && (!ptx || better(t, *ptx))) ptx = t;
  }
  if (sass) {
    c.kind = ImageKind::sass;
    c.target = sass;
    c.exact = sass->cc == device_cc;
    c.reason = c.exact ? "native SASS " + sass->name() + " matches " + dev + " exactly"
                       : "native SASS " + sass->name() + " runs on " + dev + " (same major, older minor)";
  } else if (ptx) {
    c.kind = ImageKind::ptx;
    c.target = ptx;
    c.reason = std::string(force_ptx_jit ? "SASS ignored (CUDA_FORCE_PTX_JIT=1); " : "no SASS runs on " + dev + "; ") +
               "the driver JIT-compiles PTX " + ptx->name();
  } else {
    c.reason = "neither SASS nor PTX in [" + describe(targets) + "] can serve " + dev +
               (force_ptx_jit ? " under CUDA_FORCE_PTX_JIT=1" : "") + " (cudaErrorNoKernelImageForDevice)";
  }
  return c;
}

namespace {
constexpr std::array<ToolkitInfo, 7> kToolkits = {{
    {11080, 35, 90, 520, "520.61.05", 78},
    {12000, 50, 90, 525, "525.60.13", 80},
    {12040, 50, 90, 550, "550.54.14", 84},
    {12060, 50, 90, 560, "560.28.03", 85},
    {12080, 50, 120, 570, "570.26", 87},
    {12090, 50, 121, 575, "575.51.03", 88},
    {13000, 75, 121, 580, "580.65.06", 90},
}};

// Linux driver branch -> newest CUDA version it supports.
constexpr std::array<std::pair<int, int>, 12> kBranches = {{
    {520, 11080},
    {525, 12000},
    {530, 12010},
    {535, 12020},
    {545, 12030},
    {550, 12040},
    {555, 12050},
    {560, 12060},
    {565, 12070},
    {570, 12080},
    {575, 12090},
    {580, 13000},
}};
}  // namespace

std::optional<ToolkitInfo> toolkit_info(int version) {
  std::optional<ToolkitInfo> out;
  for (const auto& t : kToolkits)
    if (t.version <= version) out = t;
  return out;
}

int first_toolkit_for(int cc) {
  switch (cc) {
    case 100:
    case 101:
    case 120: return 12080;
    case 103:
    case 121: return 12090;
    case 110: return 13000;
    default: return 0;
  }
}

int last_toolkit_for(int cc) {
  if (cc < 50) return 11080;
  if (cc < 75) return 12090;    // Maxwell, Pascal, Volta: dropped by 13.0
  if (cc == 101) return 12090;  // renamed 110 in 13.0
  return 0;
}

bool toolkit_targets(int version, int cc) {
  auto info = toolkit_info(version);
  if (!info || cc < info->lowest_sass || cc > info->highest_sass) return false;
  const int first = first_toolkit_for(cc), last = last_toolkit_for(cc);
  return (first == 0 || version >= first) && (last == 0 || version <= last);
}

std::string cuda_version_string(int v) {
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string cudnn_version_string(int v) {
  if (v <= 0) return "none";
  const bool v9 = v >= 90000;
  const int major = v9 ? v / 10000 : v / 1000;
  const int minor = v9 ? (v / 100) % 100 : (v / 100) % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

std::string image_that_ran(int binary_version, int ptx_version, int device_cc, const std::vector<ArchTarget>& built,
                           bool forced_jit) {
  if (forced_jit) return "ptx:" + std::to_string(ptx_version);
  const bool carried_sass = std::any_of(built.begin(), built.end(), [&](const ArchTarget& t) {
    return t.sass && t.cc == binary_version && sass_runs_on(t, device_cc);
  });
  if (carried_sass || ptx_version <= 0) return "sass:" + std::to_string(binary_version);
  return "ptx:" + std::to_string(ptx_version);
}

namespace {
// The PTX ISA release history (PTX ISA guide, "Release notes"): ISA -> first CUDA version that reads it.
// 8.5 shipped with 12.5 and stayed in 12.6; 12.7 brought 8.6; 13.x reads 9.x. Ascending.
constexpr std::array<std::pair<int, int>, 47> kPtxIsaFirstCuda = {{
    {10, 1000},  {11, 1010},  {12, 2000},  {13, 2010},  {14, 2020},  {20, 3000},  {21, 3010},  {22, 3020},
    {23, 4000},  {30, 4010},  {31, 5000},  {32, 5050},  {40, 6000},  {41, 6050},  {42, 7000},  {43, 7050},
    {50, 8000},  {60, 9000},  {61, 9010},  {62, 9020},  {63, 10000}, {64, 10010}, {65, 10020}, {70, 11000},
    {71, 11010}, {72, 11020}, {73, 11030}, {74, 11040}, {75, 11050}, {76, 11060}, {77, 11070}, {78, 11080},
    {80, 12000}, {81, 12010}, {82, 12020}, {83, 12030}, {84, 12040}, {85, 12050}, {86, 12070}, {87, 12080},
    {88, 12090}, {90, 13000}, {91, 13010}, {92, 13020}, {93, 13030}, {94, 13040}, {95, 13050},
}};
}  // namespace

int first_cuda_for_ptx_isa(int isa) {
  for (const auto& [known_isa, cuda] : kPtxIsaFirstCuda)
    if (known_isa == isa) return cuda;
  return 0;
}

std::optional<bool> driver_can_jit_ptx(int driver_cuda, int isa) {
  if (const int first = first_cuda_for_ptx_isa(isa)) return driver_cuda >= first;
  // Not in the table (newer than it, or a number never released): it needs at least what the next
  // listed ISA needs, so a driver older than that cannot compile it.
  for (const auto& [known_isa, cuda] : kPtxIsaFirstCuda)
    if (known_isa > isa) return driver_cuda < cuda ? std::optional<bool>(false) : std::nullopt;
  // Newer than every ISA in the table: newer than anything a driver up to the table's newest reads.
  if (driver_cuda <= kPtxIsaFirstCuda.back().second) return false;
  return std::nullopt;
}

int driver_branch_cuda(int branch) {
  int out = 0;
  for (const auto& [b, cuda] : kBranches)
    if (b <= branch) out = cuda;
  return out;
}

int min_branch_for_cuda(int cuda_version) {
  for (const auto& [b, cuda] : kBranches)
    if (cuda >= cuda_version) return b;
  return 0;
}

}  // namespace mb
