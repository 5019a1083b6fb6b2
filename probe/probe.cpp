// modebench probe: facts, a validated compatibility matrix (one child process
// per row, so a crash or hang is that row's status) and advice.
#include "probe/probe.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <regex>
#include <sstream>

#include "cuda_rules/arch.hpp"
#include "harness/atomic_file.hpp"
#include "harness/build_info.hpp"
#include "harness/context.hpp"
#include "harness/device/device.hpp"
#include "harness/modes/ptx_jit.hpp"
#include "harness/provider.hpp"
#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "harness/test_trace.hpp"
#include "probe/advice.hpp"
#include "probe/binary/binary_probe.hpp"

namespace mb {

using nlohmann::json;

std::string pcie_link_from_sysfs(const std::string& bus_id) {
  if (bus_id.empty()) return {};
  const std::string dir = "/sys/bus/pci/devices/" + bus_id + "/";
  const std::string speed = first_line(dir + "current_link_speed"), width = first_line(dir + "current_link_width");
  if (speed.empty() || width.empty()) return {};
  std::string out = "current " + speed + " x" + width;
  const std::string ms = first_line(dir + "max_link_speed"), mw = first_line(dir + "max_link_width");
  if (!ms.empty() && !mw.empty()) out += " (max " + ms + " x" + mw + ")";
  return out;
}

#if !MODEBENCH_HAVE_CUDA
// CPU-only build: no runtime to ask, but whether a driver is installed is still worth saying.
CudaProbe probe_cuda(bool) {
  CudaProbe p;
  p.driver_release = nvidia_driver_release();
  if (!p.driver_release.empty()) p.driver_branch = std::atoi(p.driver_release.c_str());
  if (void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    using GetVersion = int (*)(int*);
    if (auto fn = reinterpret_cast<GetVersion>(dlsym(lib, "cuDriverGetVersion"))) fn(&p.driver_version);
    p.driver_present = p.driver_version > 0;
    dlclose(lib);
  }
  p.unavailable = kBuiltWithoutCuda;
  return p;
}

std::string device_modes_unavailable() { return kBuiltWithoutCuda; }
#endif

namespace {

// ---------- child: one matrix row ----------

// A row's status back from its JSON (a child's line, or one made here).
Status row_status(const json& row) {
  const std::string message = row.value("message", "");
  if (message.empty() && row.value("status", "") == "ok") return Status::ok();
  return Status::parse(message).value_or(Status::failed(ErrorClass::other, "unreadable row result: " + row.dump()));
}

json row_result(const Status& status) {
  json r;
  r["status"] = std::string(to_string(status.kind()));
  r["error_class"] = status == StatusKind::failed ? std::string(to_string(status.error_class())) : std::string();
  r["message"] = status.is_ok() ? std::string() : status.text();
  return r;
}

int run_row(const Selection& sel, const ProbeOptions& opts) {
  std::vector<Entry> entries = expand(registry(), sel);
  if (entries.size() != 1)
    throw BadInput("probe --row needs a selection of exactly one entry, got " + std::to_string(entries.size()));
  RunConfig cfg;
  cfg.seed = sel.seed;
  cfg.warmup_calls = 0;
  PreparedEntry p(entries[0], cfg);
  json r = row_result(p.status());
  r["name"] = entries[0].name();
  if (p.status() == StatusKind::ok || p.status() == StatusKind::wrong) {
    r["first_call_ms"] = p.first_call_ms();
    r["first_call_wall_ms"] = p.first_call_wall_ms();
    r["setup_ms"] = p.setup_ms();
    // Comparable across impls: cuDNN loads its kernels in cudnnFind at set-up, cuBLAS in its
    // first call; each row is its process's first use, so this is the impl's cold start.
    r["cold_start_ms"] = p.setup_ms() + p.first_call_wall_ms();
    r["max_err"] = p.validation().finite ? p.validation().max_err : -1.0;
    r["tolerance"] = p.validation().tolerance;
  }
  r["label"] = p.label();
  const std::string line = r.dump() + "\n";
  if (opts.row_out.empty())
    std::fputs(line.c_str(), stdout);
  else
    write_atomically(opts.row_out, line);
  return 0;
}

// ---------- parent ----------

struct Row {
  Entry entry;
  json result;
  std::string where;  // "child" or "in-process"
};

// One case per op (the first) unless --cases names them; each at its smallest batch or --batch.
std::vector<Entry> plan_rows(const Selection& sel, const ProbeOptions& opts) {
  if (opts.batch_override < 0) throw BadInput("batch must be positive, got " + std::to_string(opts.batch_override));
  check_child_timeout("--row-timeout", opts.row_timeout_s);
  Selection s = sel;
  if (opts.batch_override > 0) s.batches = {opts.batch_override};
  std::vector<Entry> all = expand(registry(), s);  // rejects bad names before any work
  std::vector<const OpCase*> chosen;
  for (const auto& e : all) {
    const bool op_seen =
        std::any_of(chosen.begin(), chosen.end(), [&](const OpCase* c) { return c->op() == e.op_case->op(); });
    const bool case_seen = std::find(chosen.begin(), chosen.end(), e.op_case) != chosen.end();
    if (!case_seen && (!sel.cases.empty() || !op_seen)) chosen.push_back(e.op_case);
  }
  std::vector<Entry> out;
  for (const auto& e : all) {
    if (std::find(chosen.begin(), chosen.end(), e.op_case) == chosen.end()) continue;
    const std::vector<int64_t> bs = s.batches.empty() ? e.op_case->batches(s.profile) : s.batches;
    if (e.batch == *std::min_element(bs.begin(), bs.end())) out.push_back(e);
  }
  return out;
}

json run_child_row(const Entry& e, const Selection& sel, const ProbeOptions& opts, const std::string& tmp, int index) {
  const std::string out = tmp + "/row" + std::to_string(index) + ".json";
  std::vector<std::string> args = {"probe",     "--row",
                                   "--row-out", out,
                                   "--ops",     e.op_case->op(),
                                   "--cases",   e.op_case->id(),
                                   "--modes",   std::string(to_string(e.mode)),
                                   "--impls",   e.impl,
                                   "--batches", std::to_string(e.batch),
                                   "--seed",    std::to_string(sel.seed)};
  const ModeSpec& mode = spec_of(e.mode);
  ChildEnvironment env;
  std::string scratch;
  if (mode.child_environment) {
    scratch = make_temp_dir("modebench-probe-" + std::string(mode.name) + "-");
    env = mode.child_environment(scratch);
  }
  // A provider's impl (torch) runs in the provider's executable, which answers --row too.
  const Impl* row = e.op_case->find_impl(e.impl, mode.rows);
  std::string executable;
  if (row && !row->provider.empty()) {
    executable = provider_executable(row->provider);
    if (executable.empty()) {
      if (!scratch.empty()) std::filesystem::remove_all(scratch);
      return row_result(Status::unavailable(provider_unavailable_reason(row->provider)));
    }
  }
  test_trace("child-start row");
  const ChildResult r = run_child(executable, args, env, opts.row_timeout_s);
  test_trace("child-end row");
  if (!scratch.empty()) std::filesystem::remove_all(scratch);

  std::ifstream in(out);
  std::string line;
  if (r.ok() && std::getline(in, line) && !line.empty()) {
    try {
      return json::parse(line);
    } catch (const json::exception&) {
    }
  }
  return row_result(unreported_child_status(r, mode.compute, "the row's process"));
}

std::vector<Row> run_matrix(const std::vector<Entry>& entries, const Selection& sel, const ProbeOptions& opts,
                            const std::string& device_unavailable) {
  std::vector<Row> rows;
  const std::string tmp = make_temp_dir("modebench-probe-");
  int i = 0;
  for (const auto& e : entries) {
    Row row{e, {}, "child"};
    if (spec_of(e.mode).touches_device() && !device_unavailable.empty()) {
      // Certainly unavailable: no process needed to say so.
      row.result = row_result(Status::unavailable(device_unavailable));
      row.where = "in-process";
    } else {
      row.result = run_child_row(e, sel, opts, tmp, i++);
    }
    rows.push_back(std::move(row));
  }
  std::filesystem::remove_all(tmp);
  return rows;
}

// ---------- facts ----------

int toolkit_number(const std::string& s) {
  int major = 0, minor = 0;
  if (std::sscanf(s.c_str(), "%d.%d", &major, &minor) < 1) return 0;
  return major * 1000 + minor * 10;
}

std::string onednn_isa() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "all";
  }
}

std::string find_on_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    const std::string p = dir + "/" + tool;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
  }
  return out;
}

struct BinaryFacts {
  std::string cuda_archs = build_info::cuda_archs;
  std::vector<ArchTarget> targets;
  std::string parse_error;
  std::string source = "build_info";  // or "cuobjdump"
  std::string cuobjdump;              // path, or why it was not used
  bool verified = false;              // cuobjdump agrees with the build list
};

BinaryFacts binary_facts() {
  BinaryFacts b;
  if (b.cuda_archs != "none") {
    try {
      b.targets = parse_arch_list(b.cuda_archs);
    } catch (const std::invalid_argument& ex) {
      b.parse_error = ex.what();
    }
  }
  if (!MODEBENCH_HAVE_CUDA) {
    b.cuobjdump = "not used: built without CUDA";
    return b;
  }
  const std::string tool = find_on_path("cuobjdump");
  if (tool.empty()) {
    b.cuobjdump = "not on PATH: the list comes from the build configuration only";
    return b;
  }
  b.cuobjdump = tool;
  const std::string exe = self_executable();
  static const std::regex re(R"(sm_([0-9]+[af]?))");
  std::vector<ArchTarget> found;
  for (bool sass : {true, false}) {
    const std::string text =
        run_capture("'" + tool + "' " + (sass ? "--list-elf" : "--list-ptx") + " '" + exe + "' 2>/dev/null");
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
      try {
        ArchTarget t = parse_arch_list("sm_" + (*it)[1].str()).front();
        t.sass = sass;
        if (std::find(found.begin(), found.end(), t) == found.end()) found.push_back(t);
      } catch (const std::invalid_argument&) {
      }
    }
  }
  if (!found.empty()) {
    auto key = [](std::vector<ArchTarget> v) {
      std::sort(v.begin(), v.end(), [](auto& a, auto& c) { return a.name() < c.name(); });
      return v;
    };
    b.verified = key(found) == key(b.targets);
    b.targets = found;
    b.source = "cuobjdump";
  }
  return b;
}

// ---------- output ----------

json facts_object(const Facts& f) {
  json o = json::object();
  for (const auto& [k, v] : f) o[k] = v;
  return o;
}

json bandwidth_json(const Bandwidth& b) {
  if (!b.measured) return {{"measured", false}, {"error", b.error}};
  return {{"measured", true},
          {"bytes", b.bytes},
          {"pinned_h2d_gb_per_s", b.pinned_h2d_gbs},
          {"pinned_d2h_gb_per_s", b.pinned_d2h_gbs},
          {"pageable_h2d_gb_per_s", b.pageable_h2d_gbs},
          {"pageable_d2h_gb_per_s", b.pageable_d2h_gbs},
          {"latency_h2d_us", b.latency_h2d_us},
          {"latency_d2h_us", b.latency_d2h_us}};
}

std::string kernel_image(const KernelImage& k, const std::vector<ArchTarget>& built, int device_cc) {
  if (!k.image.empty()) return k.image;
  return image_that_ran(k.binary_version, k.ptx_version, device_cc, built, in_forced_jit_process());
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string headline(const CudaProbe& cuda, int cpu_ok, int cpu_total) {
  std::string cpu = "the cpu mode works (" + std::to_string(cpu_ok) + "/" + std::to_string(cpu_total) + " cpu rows ok)";
  if (cpu_total > 0 && cpu_ok != cpu_total)
    cpu = "the cpu mode has problems (" + std::to_string(cpu_ok) + "/" + std::to_string(cpu_total) + " cpu rows ok)";
  if (!cuda.driver_present)
    return "No NVIDIA driver on this machine: the gpu, ptx-jit and hybrid modes cannot run here; " + cpu + ".";
  if (!cuda.unavailable.empty()) return "Device modes unavailable: " + cuda.unavailable + "; " + cpu + ".";
  return std::to_string(cuda.devices.size()) + " CUDA device(s) found; " + cpu + ".";
}

void print_text(const json& j) {
  auto str = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::printf("modebench probe\n\n%s\n", j["summary"]["headline"].get<std::string>().c_str());
#if defined(MODEBENCH_SIM)
  std::printf(
      "\nSimulated device (a MODEBENCH_CUDA=SIM build): the device below runs our CUDA code on the CPU\n"
      "for correctness; no GPU, driver or CUDA library is involved, and no timing is a GPU's.\n");
#endif
  std::printf("\nDriver and runtime\n");
  const json& c = j["cuda"];
  for (const char* k : {"built_toolkit", "runtime", "driver", "driver_release", "device_modes"})
    std::printf("  %-18s %s\n", k, str(c[k]).c_str());
  std::printf("\nBinary\n  %-18s %s\n  %-18s %s\n  %-18s %s\n", "cuda_archs", str(j["binary"]["cuda_archs"]).c_str(),
              "images", str(j["binary"]["summary"]).c_str(), "cuobjdump", str(j["binary"]["cuobjdump"]).c_str());
  std::printf("\nLibraries\n");
  for (const auto& [k, v] : j["libraries"].items()) std::printf("  %-18s %s\n", k.c_str(), str(v).c_str());
  std::printf("\nCPU\n");
  for (const auto& [k, v] : j["cpu"].items()) std::printf("  %-18s %s\n", k.c_str(), str(v).c_str());
  std::printf("\nTorch (the torch provider)\n");
  const json& torch = j["torch"];
  if (torch.contains("note")) std::printf("  %s\n", str(torch["note"]).c_str());
  if (torch.contains("facts"))
    for (const auto& [k, v] : torch["facts"].items()) std::printf("  %-18s %s\n", k.c_str(), str(v).c_str());
  for (const auto& b : torch.value("binaries", json::array())) {
    const std::string disagreement = b["agree"] == false ? " - " + str(b["text"]) : "";
    std::printf("  on %s: binaries %s, arch list %s%s\n", str(b["device"]).c_str(), str(b["binaries_say"]).c_str(),
                str(b["arch_list_says"]).c_str(), disagreement.c_str());
  }
  if (torch.contains("binaries_note")) std::printf("  %s\n", str(torch["binaries_note"]).c_str());
  std::printf("\nDevices\n");
  if (j["devices"].empty()) std::printf("  none\n");
  for (const auto& d : j["devices"]) {
    std::printf("  [%d] %s  CC %s  %d SMs  %.1f GiB  PCI %s %s\n", d["index"].get<int>(),
                d["name"].get<std::string>().c_str(), d["cc"].get<std::string>().c_str(), d["sm_count"].get<int>(),
                d["memory_bytes"].get<double>() / (1 << 30), d["pci_bus_id"].get<std::string>().c_str(),
                d["pcie_link"].get<std::string>().c_str());
    const json& b = d["bandwidth"];
    if (b["measured"].get<bool>())
      std::printf(
          "      pinned H2D %.1f / D2H %.1f GB/s, pageable H2D %.1f / D2H %.1f GB/s, 4-byte copy %.1f / %.1f us\n",
          b["pinned_h2d_gb_per_s"].get<double>(), b["pinned_d2h_gb_per_s"].get<double>(),
          b["pageable_h2d_gb_per_s"].get<double>(), b["pageable_d2h_gb_per_s"].get<double>(),
          b["latency_h2d_us"].get<double>(), b["latency_d2h_us"].get<double>());
    else
      std::printf("      bandwidth: %s\n", b["error"].get<std::string>().c_str());
    std::printf("      predicted image of our kernels: %s\n", d["predicted_image"].get<std::string>().c_str());
    for (const auto& k : d["kernels"])
      std::printf("      kernel %-32s %s\n", k["name"].get<std::string>().c_str(),
                  k["image"].get<std::string>().c_str());
    if (!d["kernels_note"].get<std::string>().empty())
      std::printf("      %s\n", d["kernels_note"].get<std::string>().c_str());
  }
  std::printf(
      "\nCompatibility matrix (one run each in its own process, validated against cpu_ref;\n  cold start = set-up + "
      "first call on the host clock)\n");
  std::printf("  %-28s %-8s %-14s %7s %-12s %s\n", "case", "mode", "impl", "batch", "cold start", "status");
  for (const auto& r : j["matrix"]) {
    std::string t = r.contains("cold_start_ms") ? fmt("%.2f ms", r["cold_start_ms"].get<double>()) : "-";
    const std::string st = row_status(r).text();
    std::printf("  %-28s %-8s %-14s %7lld %-12s %s\n",
                (r["op"].get<std::string>() + "/" + r["case"].get<std::string>()).c_str(),
                r["mode"].get<std::string>().c_str(), r["impl"].get<std::string>().c_str(),
                static_cast<long long>(r["batch"].get<int64_t>()), t.c_str(), st.c_str());
  }
  std::printf("\nAdvice\n");
  for (const auto& a : j["advice"]) std::printf("  - %s\n", a["text"].get<std::string>().c_str());
  std::fflush(stdout);
}

// ---------- torch ----------

// The torch provider's facts (`modebench-torch facts`: the version, the CUDA and cuDNN it was
// built with, its arch list, its BLAS), from a child: run before this process touches a
// device, as the matrix rows are.
json torch_facts_of_provider() {
  const std::string exe = provider_executable("torch");
  if (exe.empty()) return {{"built", false}, {"note", provider_unavailable_reason("torch")}};
  try {
    return {{"built", true}, {"facts", json::parse(run_capture("'" + exe + "' facts 2>/dev/null"))}};
  } catch (const json::exception&) {
    return {{"built", true}, {"note", exe + " facts gave no JSON"}};
  }
}

// On each device here, what torch's arch list claims beside what its libtorch_cuda.so carries
// (probe --binary's judgement): where they disagree, the binaries win.
void add_torch_binaries(json& torch, const std::vector<DeviceInfo>& devices, int driver_version) {
  if (!torch.contains("facts")) return;
  const json& facts = torch["facts"];
  const std::string arch_list = facts.value("torch_arch_list", "none");
  const std::string lib = facts.value("torch_lib", "") + "/libtorch_cuda.so";
  torch["binaries"] = json::array();
  if (arch_list == "none" || !binary::path_exists(lib)) {
    torch["binaries_note"] = "a CPU-only torch: no CUDA binaries to judge";
    return;
  }
  const std::string command = "modebench probe --binary " + lib + " --arch-list '" + arch_list + "' --cc X.Y";
  if (devices.empty()) {
    torch["binaries_note"] = "no device here; `" + command + "` judges a card";
    return;
  }
  std::vector<binary::Device> ds;
  for (const auto& d : devices)
    ds.push_back({d.cc, driver_version, "device " + std::to_string(d.index) + ": " + d.name});
  const json report = binary::binary_probe_report({binary::scan_path(lib)}, ds, "", arch_list);
  for (const auto& w : report["paths"][0]["weakest"]) {
    if (w["normal"].is_null()) continue;
    const json& claim = w["arch_list"]["normal"];
    torch["binaries"].push_back({{"device", w["device"]},
                                 {"binaries_say", w["normal"]["cell"]},
                                 {"arch_list_says", claim["claimed"]},
                                 {"agree", claim["agree"]},
                                 {"text", claim["text"]}});
  }
  torch["binaries_note"] = "judged from " + lib + " (`" + command + "` for another card)";
}

}  // namespace

int probe_main(const Selection& sel, const ProbeOptions& opts, const std::string& json_out,
               const std::vector<std::string>&) {
  if (opts.child_row) return run_row(sel, opts);

  const std::vector<Entry> entries = plan_rows(sel, opts);  // BadInput before any work
  const BinaryFacts bin = binary_facts();
  // The matrix rows first, each in a child: this process must not hold a CUDA context while
  // they run (an EXCLUSIVE_PROCESS device would refuse them, and it would take their memory).
  const std::vector<Row> rows = run_matrix(entries, sel, opts, device_modes_unavailable());
  json torch = torch_facts_of_provider();
  const CudaProbe cuda = probe_cuda(opts.measure_bandwidth);

  json j;
  j["schema"] = "modebench-probe/1";
  j["host"] = facts_object(host_facts());
  j["context"] = facts_object(cuda_facts());

  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  j["cpu"] = {{"blas", blas_description()},
              {"openblas_coretype_env", coretype && *coretype ? json(coretype) : json(nullptr)},
              {"blas_core_overridden", coretype && *coretype},
              {"onednn_version", onednn_version()},
              {"onednn_isa", onednn_isa()},
              {"cpu_model", cpu_model()},
              {"threads", thread_count()}};

  auto ver = [](int v) { return json(cuda_version_string(v)); };
  j["cuda"] = {{"built", MODEBENCH_HAVE_CUDA != 0},
               {"built_toolkit", build_info::cuda_toolkit},
               {"runtime", ver(cuda.runtime_version)},
               {"driver", ver(cuda.driver_version)},
               {"driver_present", cuda.driver_present},
               {"driver_release", cuda.driver_release.empty() ? json("unknown") : json(cuda.driver_release)},
               {"device_modes",
                cuda.unavailable.empty() ? json("available") : json(Status::unavailable(cuda.unavailable).text())}};

  j["binary"] = {{"cuda_archs", bin.cuda_archs},
                 {"sass", json::array()},
                 {"ptx", json::array()},
                 {"summary", bin.parse_error.empty() ? describe(bin.targets) : "unparsed: " + bin.parse_error},
                 {"source", bin.source},
                 {"cuobjdump", bin.cuobjdump},
                 {"verified_by_cuobjdump", bin.verified}};
  for (const auto& t : bin.targets) j["binary"][t.sass ? "sass" : "ptx"].push_back(t.name());

  j["libraries"] = {{"cublas", cuda.cublas_version},
                    {"cudnn", cudnn_version_string(cuda.cudnn_version)},
                    {"cudnn_max_device_version", cuda.cudnn_max_device_version},
                    {"cudnn_max_device_cc", cudnn_max_device_cc(cuda.cudnn_max_device_version)
                                                ? json(cc_string(cudnn_max_device_cc(cuda.cudnn_max_device_version)))
                                                : json("none")}};

  j["devices"] = json::array();
  for (const auto& d : cuda.devices) {
    json dj = {
        {"index", d.index},
        {"name", d.name},
        {"cc", cc_string(d.cc)},
        {"sm_count", d.sm_count},
        {"memory_bytes", d.total_mem_bytes},
        {"free_memory_bytes", d.free_mem_bytes},
        {"pci_bus_id", d.pci_bus_id},
        {"pcie_link", d.pcie_link.empty() ? std::string("unknown (sysfs unreadable; NVML not used)") : d.pcie_link},
        {"bandwidth", bandwidth_json(d.bandwidth)},
        {"predicted_image", choose_image(bin.targets, d.cc).reason},
        {"kernels", json::array()},
        {"kernels_note", d.kernels_note}};
    for (const auto& k : d.kernels)
      dj["kernels"].push_back({{"name", k.name},
                               {"binary_version", k.binary_version},
                               {"ptx_version", k.ptx_version},
                               {"image", kernel_image(k, bin.targets, d.cc)}});
    j["devices"].push_back(dj);
  }

  add_torch_binaries(torch, cuda.devices, cuda.driver_version);
  j["torch"] = torch;

  AdviceInput in;
  in.built_with_cuda = MODEBENCH_HAVE_CUDA != 0;
  in.toolkit = toolkit_number(build_info::cuda_toolkit);
  in.built = bin.targets;
  in.driver = cuda.driver_version;
  in.driver_branch = cuda.driver_branch;
  for (const auto& d : cuda.devices) in.device_ccs.push_back(d.cc);
  in.cudnn = cuda.cudnn_version;
  in.cudnn_max_device_cc = cudnn_max_device_cc(cuda.cudnn_max_device_version);

  j["matrix"] = json::array();
  std::map<StatusKind, int> counts;
  int cpu_ok = 0, cpu_total = 0;
  for (const auto& r : rows) {
    json rj = r.result;
    rj.erase("name");
    rj["op"] = r.entry.op_case->op();
    rj["case"] = r.entry.op_case->name();
    rj["mode"] = std::string(to_string(r.entry.mode));
    rj["impl"] = r.entry.impl;
    rj["batch"] = r.entry.batch;
    rj["ran_in"] = r.where;
    const Status status = row_status(rj);
    ++counts[status.kind()];
    if (!spec_of(r.entry.mode).touches_device()) {
      ++cpu_total;
      cpu_ok += status.is_ok();
    }
    in.matrix.push_back({rj["op"], rj["case"], rj["mode"], rj["impl"], status});
    j["matrix"].push_back(rj);
  }

  j["advice"] = json::array();
  for (const auto& a : advise(in)) j["advice"].push_back({{"id", a.id}, {"text", a.text}});
  j["summary"] = {{"headline", headline(cuda, cpu_ok, cpu_total)},
                  {"ok", counts[StatusKind::ok]},
                  {"unavailable", counts[StatusKind::unavailable]},
                  {"busy", counts[StatusKind::busy]},
                  {"not_run", counts[StatusKind::not_run]},
                  {"failed", counts[StatusKind::failed]},
                  {"wrong", counts[StatusKind::wrong]}};

  print_text(j);
  if (!json_out.empty()) {
    try {
      write_atomically(json_out, j.dump(2) + "\n");
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "modebench: cannot write %s: %s\n", json_out.c_str(), ex.what());
      return 1;
    }
  }
  return 0;
}

}  // namespace mb
