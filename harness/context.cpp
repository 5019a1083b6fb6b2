#include "harness/context.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <oneapi/dnnl/dnnl.hpp>
#include <regex>
#include <vector>

#include "harness/build_info.hpp"
#include "harness/host_allocator.hpp"
#include "include/modebench/policy.hpp"

extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace mb {

std::string blas_description() {
  std::string config = openblas_get_config();  // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
  std::string version = config.substr(0, config.find(' ', config.find(' ') + 1));
  std::string out = version + " " + openblas_get_corename();
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced && *forced)
    out += " (OPENBLAS_CORETYPE=" + std::string(forced) + ")";
  return out;
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

// The policy readers' own rule (include/modebench/policy.hpp), so a policy's host matches.
std::string cpu_model() { return modebench::HostFacts::cpu_model_of().value_or("unknown"); }

int thread_count() { return omp_get_max_threads(); }

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string nvidia_driver_release() {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  565.57.01  ..."
  static const std::regex re(R"(Kernel Module\s+(?:for \S+\s+)?([0-9]+\.[0-9]+(?:\.[0-9]+)?))");
  std::smatch m;
  const std::string line = first_line("/proc/driver/nvidia/version");
  return std::regex_search(line, m, re) ? m[1].str() : std::string();
}

std::string nvidia_gpu_models() {
  namespace fs = std::filesystem;
  std::vector<std::string> models;
  std::error_code ec;
  for (const auto& gpu : fs::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    std::ifstream in(gpu.path() / "information");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Model:", 0) == 0) models.push_back(line.substr(line.find_first_not_of(" \t", 6)));
  }
  std::sort(models.begin(), models.end());
  std::string out;
  for (const auto& m : models) out += (out.empty() ? "" : ", ") + m;
  return out;
}

Facts host_facts() {
  auto or_none = [](std::string v) { return v.empty() ? std::string("none") : v; };
  auto or_default = [](const char* v) { return v && *v ? std::string(v) : std::string("default"); };
  return {
      {"modebench_version", build_info::version},
      {"git_sha", build_info::git_sha},
      {"build_type", build_info::build_type},
      {"compiler", build_info::compiler},
      {"blas", blas_description()},
      {"onednn_version", onednn_version()},
      {"cpu_model", cpu_model()},
      {"threads", std::to_string(thread_count())},
      // How OpenMP threads wait at a barrier: under contention this decides how much a
      // threaded impl loses (docs/contract.md, "Contention").
      {"omp_wait_policy", or_default(std::getenv("OMP_WAIT_POLICY"))},
      {"gomp_spincount", or_default(std::getenv("GOMP_SPINCOUNT"))},
      {"host_allocator", settle_host_allocator()},
      {"host_gpus", or_none(nvidia_gpu_models())},
      {"nvidia_driver", or_none(nvidia_driver_release())},
  };
}

namespace {
Facts& mutable_run_facts() {
  static Facts facts;
  return facts;
}
}  // namespace

void add_run_fact(std::string key, std::string value) {
  mutable_run_facts().emplace_back(std::move(key), std::move(value));
}

const Facts& run_facts() { return mutable_run_facts(); }

Facts run_context(const Selection& sel, const std::string& mode_env) {
  Facts f = host_facts();
  for (const auto& kv : run_facts()) f.push_back(kv);
  for (auto& kv : cuda_facts()) f.push_back(kv);
  f.emplace_back("profile", to_string(sel.profile));
  f.emplace_back("seed", std::to_string(sel.seed));
  f.emplace_back("mode_env", mode_env.empty() ? "none" : mode_env);
  return f;
}

}  // namespace mb
