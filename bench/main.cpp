// modebench: run | list | probe (contract.md "Executable").
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "harness/context.hpp"
#include "harness/gbench.hpp"
#include "ops/knn/stream.hpp"
#include "probe/probe.hpp"
#include "harness/registry.hpp"
#include "harness/selection.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"

namespace {

constexpr int kExitBadInput = 2;

void add_selection_flags(CLI::App& cmd, mb::Selection& sel, std::string& profile) {
  cmd.add_option("--ops", sel.ops, "ops to run (comma-separated): linear, conv2d, ssim, knn")->delimiter(',');
  cmd.add_option("--modes", sel.modes, "modes: cpu, gpu, ptx-jit, hybrid")->delimiter(',');
  cmd.add_option("--impls", sel.impls, "impls, e.g. openblas,onednn,cublas")->delimiter(',');
  cmd.add_option("--cases", sel.cases, "cases, e.g. xtts_qkv or linear/xtts_qkv")->delimiter(',');
  cmd.add_option("--batches", sel.batches, "batch sizes overriding the profile's")->delimiter(',');
  cmd.add_option("--profile", profile, "quick or full")->capture_default_str();
  cmd.add_option("--seed", sel.seed, "seed of the inputs")->capture_default_str();
}

// ptx-jit needs CUDA_FORCE_PTX_JIT=1 before the CUDA context exists, so its
// entries run in a child process with that variable and an empty JIT cache of its own.
bool in_forced_jit_process() {
  const char* v = std::getenv("CUDA_FORCE_PTX_JIT");
  return v && std::string(v) == "1";
}

// The arguments minus the named options (both "--opt value" and "--opt=value").
std::vector<std::string> without_options(const std::vector<std::string>& args, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    bool drop = false;
    for (const auto& n : names) {
      if (args[i] == n) {
        drop = true;
        ++i;  // its value
      } else if (args[i].rfind(n + "=", 0) == 0) {
        drop = true;
      }
      if (drop) break;
    }
    if (!drop) out.push_back(args[i]);
  }
  return out;
}

int run_command(const mb::Selection& sel, const std::string& out, const std::vector<std::string>& gbench_args,
                const std::vector<std::string>& original_args) {
  std::vector<mb::Entry> entries = mb::expand(mb::registry(), sel);
  if (entries.empty()) throw mb::BadInput("the selection matches no benchmark");
  mb::knn_budget_from_env();  // a malformed value is bad input, reported before any work

  std::vector<mb::Entry> here, jit_child;
  for (const auto& e : entries)
    (e.mode == mb::Mode::ptx_jit && !in_forced_jit_process() ? jit_child : here).push_back(e);

  std::string mode_env;
  if (in_forced_jit_process()) {
    const char* cache = std::getenv("CUDA_CACHE_PATH");
    mode_env = std::string("CUDA_FORCE_PTX_JIT=1 CUDA_CACHE_PATH=") + (cache ? cache : "default");
  }
  mb::RunConfig cfg;
  cfg.seed = sel.seed;
  mb::RunSummary summary;
  if (!here.empty()) summary = mb::run_benchmarks(here, cfg, mb::run_context(sel, mode_env), out, gbench_args);

  int child_status = 0;
  if (!jit_child.empty()) {
    const std::string cache = mb::make_temp_dir("modebench-jit-cache-");
    const mb::JitEnvironment jit = mb::forced_jit_environment(cache);
    const std::string child_out = out.empty() ? std::string() : out + ".ptx-jit" + std::to_string(::getpid());
    std::vector<std::string> args = without_options(original_args, {"--modes", "--out"});
    args.push_back("--modes=ptx-jit");
    if (!child_out.empty()) args.push_back("--out=" + child_out);
    auto r = mb::run_self(args, jit.set, 24 * 3600.0, jit.unset);
    std::filesystem::remove_all(cache);
    std::string missing = "failed: other: the ptx-jit child process ended with " + r.describe();
    if (r.signal) missing = "failed: launch_failure: the ptx-jit child process was " + r.describe();
    if (r.timed_out) missing = "failed: timeout: the ptx-jit child process timed out";
    if (!r.ok()) child_status = 1;
    if (!r.ok() && r.exit_code != 1)  // 1 = some entry was wrong: its records say so
      std::fprintf(stderr, "modebench: the ptx-jit child process ended with %s\n", r.describe().c_str());
    if (!child_out.empty()) {
      mb::Facts context = mb::run_context(sel, "");
      context.emplace_back("mode_env_ptx_jit", jit.describe());
      mb::fold_child_results(out, child_out, jit_child, missing, context);
      std::filesystem::remove(child_out);
    }
  }

  std::fprintf(stderr, "modebench: %d ok, %d unavailable, %d failed, %d wrong%s\n", summary.ok, summary.unavailable,
               summary.failed, summary.wrong, jit_child.empty() ? "" : " (ptx-jit: see above)");
  if (summary.wrong > 0) return 1;
  return child_status;
}

}  // namespace

int main(int argc, char** argv) {
  // Google Benchmark's own flags pass through untouched.
  std::vector<std::string> gbench_args, ours, original_args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    original_args.push_back(a);
    (a.rfind("--benchmark_", 0) == 0 ? gbench_args : ours).push_back(a);
  }

  CLI::App app{"modebench: Linear, Conv2d, SSIM and k-NN in cpu, gpu, ptx-jit and hybrid modes"};
  app.require_subcommand(1);
  mb::Selection sel;
  std::string profile = "quick", out, probe_json;

  CLI::App* run = app.add_subcommand("run", "run benchmarks (Google Benchmark flags pass through)");
  add_selection_flags(*run, sel, profile);
  run->add_option("--out", out, "Google Benchmark JSON output (written atomically)");

  CLI::App* list = app.add_subcommand("list", "print every case x mode x impl x batch that run would run");
  add_selection_flags(*list, sel, profile);

  CLI::App* probe = app.add_subcommand("probe", "device, driver, toolkit and binary facts; compatibility matrix");
  probe->add_option("--json", probe_json, "also write the facts as JSON to this file");
  mb::ProbeOptions probe_opts;
  probe->add_option("--batch", probe_opts.batch_override, "batch of the matrix runs (default: smallest)");
  add_selection_flags(*probe, sel, profile);
  probe->add_option("--row-timeout", probe_opts.row_timeout_s, "seconds before a matrix row counts as hung")
      ->capture_default_str();
  probe->add_flag("!--no-bandwidth", probe_opts.measure_bandwidth, "skip the host<->device bandwidth measurement");
  probe->add_flag("--row", probe_opts.child_row, "internal: run one matrix row")->group("");
  probe->add_option("--row-out", probe_opts.row_out, "internal: the row's JSON line goes here")->group("");

  std::vector<std::string> reversed(ours.rbegin(), ours.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "modebench: error: %s\n", e.what());
    return kExitBadInput;
  }

  try {
    sel.profile = mb::parse_profile(profile);
    if (*list) {
      for (const auto& e : mb::expand(mb::registry(), sel)) std::printf("%s\n", e.name().c_str());
      return 0;
    }
    if (*probe) return mb::probe_main(sel, probe_opts, probe_json, original_args);
    if (!gbench_args.empty() && !*run) throw mb::BadInput("Google Benchmark flags only go with 'run'");
    return run_command(sel, out, gbench_args, original_args);
  } catch (const mb::BadInput& e) {
    std::fprintf(stderr, "modebench: error: %s\n", e.what());
    return kExitBadInput;
  }
}
