#include "probe/binary/binary_probe.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "harness/atomic_file.hpp"

namespace mb::binary {

using nlohmann::json;

int parse_compute_capability(const std::string& text) {
  static const std::regex form(R"(([0-9]{1,2})\.([0-9]))");
  std::smatch m;
  if (!std::regex_match(text, m, form) || std::stoi(m[1].str()) == 0)
    throw std::invalid_argument("bad compute capability '" + text + "' (expected X.Y, e.g. 12.0)");
  return std::stoi(m[1].str()) * 10 + std::stoi(m[2].str());
}

int parse_cuda_version(const std::string& text) {
  static const std::regex form(R"(([0-9]{1,2})\.([0-9]))");
  std::smatch m;
  if (!std::regex_match(text, m, form) || std::stoi(m[1].str()) == 0)
    throw std::invalid_argument("bad driver CUDA version '" + text + "' (expected X.Y, e.g. 12.8)");
  return std::stoi(m[1].str()) * 1000 + std::stoi(m[2].str()) * 10;
}

std::vector<Device> parse_devices(const std::string& cc_list, const std::string& driver) {
  const int driver_cuda = driver.empty() ? 0 : parse_cuda_version(driver);
  std::vector<Device> out;
  std::stringstream in(cc_list);
  for (std::string item; std::getline(in, item, ',');) {
    Device d{parse_compute_capability(item), driver_cuda, "--cc " + item};
    if (std::none_of(out.begin(), out.end(), [&](const Device& o) { return o.cc == d.cc; })) out.push_back(d);
  }
  if (out.empty()) throw std::invalid_argument("--cc needs at least one compute capability X.Y");
  return out;
}

namespace {

json target_names(const std::vector<ArchTarget>& targets) {
  json out = json::array();
  for (const auto& t : targets) out.push_back(t.name());
  return out;
}

json judgement_json(const Judgement& j) {
  json out = {{"verdict", verdict_name(j.verdict)},
              {"image", j.image ? json(j.image->name()) : json(nullptr)},
              {"ptx_isa", j.ptx_isa ? json(ptx_isa_string(j.ptx_isa)) : json(nullptr)},
              {"driver_can_jit", nullptr},
              {"modules", {{"native", j.modules.native}, {"jit", j.modules.jit}, {"no_image", j.modules.no_image}}},
              {"cell", verdict_cell(j)},
              {"reason", j.reason}};
  if (j.driver_jit == JitSupport::yes || j.driver_jit == JitSupport::no)
    out["driver_can_jit"] = j.driver_jit == JitSupport::yes;
  return out;
}

// nvcc's name for LTO-IR of an architecture: lto_75.
json lto_names(const std::vector<ArchTarget>& targets) {
  json out = json::array();
  for (const auto& t : targets)
    out.push_back("lto_" + std::to_string(t.cc) + (t.suffix ? std::string(1, t.suffix) : ""));
  return out;
}

json ptx_json(const BinaryReport& r) {
  // Each PTX target's highest ISA (BinaryReport::highest_ptx_isa) in one pass over the entries: a
  // pass per target cost targets x entries, seconds on a crafted file.
  std::map<std::pair<int, char>, int> isa;
  for (const auto& m : r.modules)
    for (const auto& e : m.entries)
      if (e.kind == kFatbinKindPtx) {
        int& highest = isa[{e.target.cc, e.target.suffix}];
        highest = std::max(highest, e.ptx_isa());
      }
  json out = json::array();
  for (const auto& t : r.ptx()) out.push_back({{"arch", t.name()}, {"ptx_isa", ptx_isa_string(isa[{t.cc, t.suffix}])}});
  return out;
}

json file_json(const BinaryReport& r, const std::string& relative, const std::vector<Device>& devices,
               std::vector<FileVerdict>& verdicts_out) {
  json f = {{"path", r.path},
            {"relative", relative},
            {"status", status_name(r.status)},
            {"message", r.message},
            {"bytes_read", r.bytes_read},
            {"modules", r.modules.size()},
            {"linked_modules", r.linked_modules()},
            {"embedded_modules", r.embedded_modules()},
            {"entries", r.entries()},
            {"compressed_entries", r.compressed_entries()},
            {"sass", target_names(r.sass())},
            {"ptx", ptx_json(r)},
            {"lto_ir", lto_names(r.lto_ir())}};
  if (!r.relocatable.empty()) {
    BinaryReport rel;
    rel.modules = r.relocatable;
    f["relocatable"] = {{"modules", rel.modules.size()}, {"sass", target_names(rel.sass())}, {"ptx", ptx_json(rel)}};
  }
  f["verdicts"] = json::array();
  for (const auto& d : devices) {
    if (r.status != FileStatus::ok) {
      verdicts_out.push_back({});
      continue;
    }
    const FileVerdict v = judge(r, d);
    json dj = judgement_json(v.normal);
    dj["device"] = d.name();
    dj["force_ptx_jit"] = judgement_json(v.forced_ptx_jit);
    f["verdicts"].push_back(dj);
    verdicts_out.push_back(v);
  }
  return f;
}

// The weakest readable file on each device: lowest strength, then most modules without native SASS.
struct Weakest {
  const Judgement* judgement = nullptr;
  size_t file = 0;
};
Weakest weakest(const PathScan& scan, const std::vector<std::vector<FileVerdict>>& verdicts, size_t device,
                bool forced) {
  Weakest worst;
  for (size_t i = 0; i < scan.files.size(); ++i) {
    if (scan.files[i].status != FileStatus::ok) continue;
    const Judgement& j = forced ? verdicts[i][device].forced_ptx_jit : verdicts[i][device].normal;
    const auto weaker = [](const Judgement& a, const Judgement& b) {
      if (a.strength() != b.strength()) return a.strength() < b.strength();
      // Then the larger share of modules without an image.
      return a.modules.no_image * b.modules.total() > b.modules.no_image * a.modules.total();
    };
    if (worst.judgement == nullptr || weaker(j, *worst.judgement)) worst = {&j, i};
  }
  return worst;
}

json weakest_json(const PathScan& scan, const Weakest& w) {
  if (w.judgement == nullptr) return nullptr;
  return {{"file", scan.relative[w.file]},
          {"verdict", verdict_name(w.judgement->verdict)},
          {"cell", verdict_cell(*w.judgement)},
          {"reason", w.judgement->reason}};
}

// The arch list's claim for a device next to the binaries' (weakest) verdict.
json claim_json(const std::vector<ArchTarget>& arch_list, const Weakest& w, const Device& device, bool forced) {
  const Claim claim = claimed_by(arch_list, device.cc, forced);
  json out = {{"claimed", claim.cell()}, {"agree", nullptr}, {"text", nullptr}};
  if (w.judgement == nullptr) return out;
  const auto differ = claim_disagreement(claim, w.judgement->verdict, verdict_cell(*w.judgement), device);
  out["agree"] = !differ;
  if (differ) out["text"] = *differ + (forced ? " (under CUDA_FORCE_PTX_JIT=1)" : "");
  return out;
}

}  // namespace

json binary_probe_report(const std::vector<PathScan>& scans, const std::vector<Device>& devices,
                         const std::string& device_note, const std::string& arch_list) {
  const std::vector<ArchTarget> claimed = parse_arch_list(arch_list);
  json j;
  j["schema"] = "modebench-probe-binary/1";
  j["devices"] = json::array();
  for (const auto& d : devices)
    j["devices"].push_back({{"name", d.name()},
                            {"cc", cc_string(d.cc)},
                            {"driver_cuda", d.driver_cuda ? json(cuda_version_string(d.driver_cuda)) : json(nullptr)},
                            {"source", d.source}});
  j["device_note"] = device_note;
  j["arch_list"] = arch_list.empty() ? json(nullptr) : json(arch_list);
  j["paths"] = json::array();
  WalkCounts total;
  for (const auto& scan : scans) {
    json p = {{"path", scan.path}, {"kind", path_kind_name(scan.kind)}};
    const WalkCounts& c = scan.counts;
    p["counts"] = {{"files", c.files},
                   {"elf", c.elf},
                   {"with_cuda", c.with_cuda},
                   {"without_cuda", c.without_cuda},
                   {"not_elf", c.not_elf},
                   {"bad", c.bad},
                   {"skipped_links", c.skipped_links},
                   {"unreadable_dirs", c.unreadable_dirs},
                   {"bytes_read", c.bytes_read}};
    total.files += c.files;
    total.with_cuda += c.with_cuda;
    total.bad += c.bad;
    total.bytes_read += c.bytes_read;
    std::vector<std::vector<FileVerdict>> verdicts(scan.files.size());
    p["files"] = json::array();
    for (size_t i = 0; i < scan.files.size(); ++i)
      p["files"].push_back(file_json(scan.files[i], scan.relative[i], devices, verdicts[i]));
    p["weakest"] = json::array();
    for (size_t d = 0; d < devices.size(); ++d) {
      const Weakest normal = weakest(scan, verdicts, d, false), forced = weakest(scan, verdicts, d, true);
      json w = {{"device", devices[d].name()},
                {"normal", weakest_json(scan, normal)},
                {"force_ptx_jit", weakest_json(scan, forced)}};
      if (!arch_list.empty())
        w["arch_list"] = {{"normal", claim_json(claimed, normal, devices[d], false)},
                          {"force_ptx_jit", claim_json(claimed, forced, devices[d], true)}};
      p["weakest"].push_back(w);
    }
    j["paths"].push_back(p);
  }
  j["summary"] = {
      {"files", total.files}, {"with_cuda", total.with_cuda}, {"bad", total.bad}, {"bytes_read", total.bytes_read}};
  return j;
}

namespace {

// Rows of cells printed as aligned columns, two spaces apart, indented by two.
class Table {
 public:
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const {
    std::vector<size_t> width;
    for (const auto& r : rows_)
      for (size_t c = 0; c < r.size(); ++c) {
        if (width.size() <= c) width.push_back(0);
        width[c] = std::max(width[c], r[c].size());
      }
    std::string out;
    for (const auto& r : rows_) {
      std::string line = " ";
      for (size_t c = 0; c < r.size(); ++c)
        line += " " + r[c] + (c + 1 < r.size() ? std::string(width[c] - r[c].size() + 1, ' ') : "");
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string joined(const json& names, const char* empty = "none") {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " ") + n.get<std::string>();
  return s.empty() ? empty : s;
}

std::string ptx_list(const json& ptx) {
  std::string s;
  for (const auto& p : ptx)
    s += (s.empty() ? "" : " ") + p["arch"].get<std::string>() + " (" + p["ptx_isa"].get<std::string>() + ")";
  return s.empty() ? "none" : s;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

void verdict_table(std::string& out, const json& path, const json& devices, bool forced) {
  Table t;
  std::vector<std::string> head = {forced ? "CUDA_FORCE_PTX_JIT=1" : "verdict"};
  for (const auto& d : devices) head.push_back(d["name"].get<std::string>());
  t.add(head);
  bool starred = false;
  for (const auto& f : path["files"]) {
    std::vector<std::string> row = {f["relative"].get<std::string>()};
    for (size_t d = 0; d < devices.size(); ++d) {
      if (f["status"] != "ok") {
        row.push_back("? (" + f["status"].get<std::string>() + ")");
        continue;
      }
      const json& v = f["verdicts"][d];
      row.push_back((forced ? v["force_ptx_jit"] : v)["cell"].get<std::string>());
      starred = starred || row.back().ends_with(" *");
    }
    t.add(row);
  }
  const char* mode = forced ? "force_ptx_jit" : "normal";
  std::string disagreements;
  if (!path["weakest"].empty() && path["weakest"][0].contains("arch_list")) {
    std::vector<std::string> row = {"(arch list says)"};
    for (const auto& w : path["weakest"]) {
      const json& c = w["arch_list"][mode];
      row.push_back(c["claimed"].get<std::string>() + (c["agree"] == false ? " !" : ""));
      if (c["text"].is_string()) disagreements += "  " + c["text"].get<std::string>() + "\n";
    }
    t.add(row);
  }
  out += "\n" + t.str();
  if (starred) out += "  * some modules carry no image for that device: kernels built for other architectures only\n";
  if (!disagreements.empty()) out += "  ! the arch list and the binaries disagree:\n" + disagreements;
  for (const auto& w : path["weakest"]) {
    const json& worst = w[forced ? "force_ptx_jit" : "normal"];
    if (worst.is_null()) continue;
    out += "  weakest on " + w["device"].get<std::string>() + ": " + worst["file"].get<std::string>() + ": " +
           worst["verdict"].get<std::string>() + " - " + worst["reason"].get<std::string>() + "\n";
  }
}

}  // namespace

std::string binary_probe_text(const json& j) {
  std::string out = "modebench probe --binary\n\n";
  if (j["devices"].empty()) {
    out += j["device_note"].get<std::string>() + "\n";
    if (j["arch_list"].is_string())
      out += "Arch list (judged on a device only): " + j["arch_list"].get<std::string>() + "\n";
  } else {
    std::string list;
    for (const auto& d : j["devices"])
      list += (list.empty() ? "" : ", ") + d["name"].get<std::string>() + " (" + d["source"].get<std::string>() + ")";
    const json& driver = j["devices"][0]["driver_cuda"];
    out += "Devices: " + list + "\nDriver: " +
           (driver.is_null() ? std::string("CUDA version not known (give --driver X.Y to check PTX JIT)")
                             : "CUDA " + driver.get<std::string>()) +
           "\n";
  }
  for (const auto& p : j["paths"]) {
    const json& c = p["counts"];
    out += "\n" + p["path"].get<std::string>() + " (" + p["kind"].get<std::string>() +
           "): " + std::to_string(c["files"].get<uint64_t>()) + " files, " + std::to_string(c["elf"].get<uint64_t>()) +
           " ELF: " + std::to_string(c["with_cuda"].get<uint64_t>()) + " with CUDA code, " +
           std::to_string(c["without_cuda"].get<uint64_t>()) + " without; " + std::to_string(c["bad"].get<uint64_t>()) +
           " unreadable; " + mib(c["bytes_read"].get<uint64_t>()) + " of headers read\n";
    if (p["files"].empty()) {
      out += "  no file with CUDA code\n";
      continue;
    }
    Table t;
    t.add({"file", "modules", "images", "compressed", "SASS", "PTX (ISA)"});
    std::string notes;
    for (const auto& f : p["files"]) {
      const std::string name = f["relative"].get<std::string>();
      if (f["status"] != "ok") {
        t.add({name, "-", "-", "-", f["status"].get<std::string>() + ": " + f["message"].get<std::string>()});
        continue;
      }
      t.add({name, std::to_string(f["modules"].get<size_t>()), std::to_string(f["entries"].get<size_t>()),
             std::to_string(f["compressed_entries"].get<size_t>()), joined(f["sass"]), ptx_list(f["ptx"])});
      if (f.contains("relocatable"))
        notes += "  " + name + ": also " + std::to_string(f["relocatable"]["modules"].get<size_t>()) +
                 " relocatable modules (__nv_relfatbin: SASS " + joined(f["relocatable"]["sass"]) + "; PTX " +
                 ptx_list(f["relocatable"]["ptx"]) + "), device-link inputs, not counted\n";
      if (f["embedded_modules"].get<size_t>() > 0)
        notes += "  " + name + ": " + std::to_string(f["embedded_modules"].get<size_t>()) +
                 " of its modules are fatbins kept in data sections, which the library loads itself\n";
      if (!f["lto_ir"].empty())
        notes += "  " + name + ": also LTO-IR (" + joined(f["lto_ir"]) +
                 "), which the library links with nvJitLink itself: not counted\n";
    }
    out += t.str() + notes;
    if (!j["devices"].empty()) {
      verdict_table(out, p, j["devices"], false);
      verdict_table(out, p, j["devices"], true);
    }
  }
  return out;
}

namespace {
std::string lowercase_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}
}  // namespace

int probe_binary_main(const BinaryProbeOptions& opts) {
  std::vector<Device> devices;
  std::string device_note;
  try {
    if (opts.paths.empty()) throw std::invalid_argument("--binary needs at least one PATH");
    for (const auto& p : opts.paths) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) throw std::invalid_argument(lowercase_first(std::strerror(errno)) + ": " + p);
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))  // /dev/null said "no such file"
        throw std::invalid_argument("not a file or folder (a device, pipe or socket): " + p);
    }
    parse_arch_list(opts.arch_list);  // its bad forms throw here, before any work
    if (!opts.cc.empty()) {
      devices = parse_devices(opts.cc, opts.driver);
    } else {
      const int driver_cuda = opts.driver.empty() ? 0 : parse_cuda_version(opts.driver);
      const LocalDevices local = opts.local_devices ? opts.local_devices() : LocalDevices{{}, "no CUDA device queried"};
      devices = local.devices;
      for (auto& d : devices)
        if (driver_cuda) d.driver_cuda = driver_cuda;
      if (devices.empty())
        device_note = "No device known (" + (local.why_none.empty() ? std::string("none found") : local.why_none) +
                      "): architectures only. Give --cc X.Y to judge against a device.";
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "modebench probe --binary: %s\n", e.what());
    return 2;
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<PathScan> scans;
  for (const auto& p : opts.paths) scans.push_back(scan_path(p));
  json report = binary_probe_report(scans, devices, device_note, opts.arch_list);
  report["summary"]["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  char took[96];
  std::snprintf(took, sizeof took, "\n%s of headers read in %.2f s\n",
                mib(report["summary"]["bytes_read"].get<uint64_t>()).c_str(),
                report["summary"]["seconds"].get<double>());
  std::fputs((binary_probe_text(report) + took).c_str(), stdout);
  std::fflush(stdout);
  if (!opts.json_out.empty()) {
    try {
      // File and section names are bytes: invalid UTF-8 becomes U+FFFD (nlohmann threw type_error.316).
      write_atomically(opts.json_out, report.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "modebench probe --binary: cannot write %s: %s\n", opts.json_out.c_str(), e.what());
      return 1;
    }
  }
  return 0;
}

}  // namespace mb::binary
