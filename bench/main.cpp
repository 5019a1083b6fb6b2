// modebench: run | list | probe (docs/contract.md, "Executables"). Parses the command line;
// everything else is the harness's (harness/run.hpp) and the probe's.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench/selection_flags.hpp"
#include "harness/child_log.hpp"
#include "harness/contention.hpp"
#include "harness/context.hpp"
#include "harness/evict.hpp"
#include "harness/host_allocator.hpp"
#include "harness/mode.hpp"
#include "harness/registry.hpp"
#include "harness/run.hpp"
#include "harness/selection.hpp"
#include "harness/status.hpp"
#include "kernels/cpu/simd.hpp"
#include "probe/binary/binary_probe.hpp"
#include "probe/probe.hpp"

namespace {

// Where every selected mode needs a device and this box has none, nothing will be timed: waiting
// for quiet first only spent the sweep's quiet budget (bench/bench_test.cmake) on a CPU-only
// box's gpu, ptx-jit and hybrid processes, before the cpu processes that needed it.
bool nothing_to_time_here(const mb::Selection& sel) {
  if (sel.modes.empty()) return false;
  for (const std::string& name : sel.modes) {
    const std::optional<mb::Mode> mode = mb::parse_mode(name);
    if (!mode || !mb::spec_of(*mode).touches_device()) return false;
  }
  return !mb::probe_cuda(/*measure_bandwidth=*/false).unavailable.empty();
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

  CLI::App app{"modebench: ops in every execution mode (cpu, gpu, ptx-jit, hybrid), validated, then timed"};
  app.require_subcommand(1);
  mb::Selection sel;
  std::string profile = "quick", out, probe_json;

  CLI::App* run = app.add_subcommand("run", "run benchmarks (Google Benchmark flags pass through)");
  mb::add_selection_flags(*run, sel, profile);
  run->add_option("--out", out, "Google Benchmark JSON output (written atomically)");
  mb::RunOptions run_opts;
  run->add_option("--entry-log", run_opts.entry_log, "internal: a child's entry-by-entry log for its parent")
      ->group("");
  run->add_option("--entry-timeout", run_opts.entry_timeout_s,
                  "seconds an entry run in a child process may take before it counts as hung")
      ->capture_default_str();
  bool in_process = false;
  run->add_flag("--in-process", in_process,
                "run cpu entries in this process, not in a worker (no isolation: a crash ends the run)");
  double quiet_wait_s = 0.0;
  run->add_option("--quiet-wait", quiet_wait_s,
                  "wait up to this many seconds for other processes to use under 0.1 cores before running")
      ->check(CLI::NonNegativeNumber);

  CLI::App* list = app.add_subcommand("list", "print every case x mode x impl x batch that run would run");
  mb::add_selection_flags(*list, sel, profile);

  CLI::App* probe = app.add_subcommand("probe", "device, driver, toolkit and binary facts; compatibility matrix");
  probe->add_option("--json", probe_json, "also write the facts as JSON to this file");
  mb::ProbeOptions probe_opts;
  probe->add_option("--batch", probe_opts.batch_override, "batch of the matrix runs (default: smallest)");
  mb::add_selection_flags(*probe, sel, profile);
  probe->add_option("--row-timeout", probe_opts.row_timeout_s, "seconds before a matrix row counts as hung")
      ->capture_default_str();
  probe->add_flag("!--no-bandwidth", probe_opts.measure_bandwidth, "skip the host<->device bandwidth measurement");
  mb::binary::BinaryProbeOptions binary_opts;
  probe->add_option("--binary", binary_opts.paths,
                    "instead of the matrix: which SASS/PTX these files, folders or Python environments carry, "
                    "and whether they run on a device (no GPU needed)");
  probe->add_option("--cc", binary_opts.cc, "with --binary: the device(s) to judge against, e.g. 12.0 or 8.6,12.0");
  probe->add_option("--driver", binary_opts.driver, "with --binary: the driver's CUDA version, e.g. 12.8");
  probe->add_option("--arch-list", binary_opts.arch_list,
                    "with --binary: what the software says it was built for, e.g. torch.cuda.get_arch_list() "
                    "as 'sm_75 sm_80 sm_120', judged beside the binaries (where they disagree, the binaries win)");
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
    return mb::kExitBadInput;
  }

  try {
    mb::settle_host_allocator();  // before any timed call allocates
    if (const char* isa = std::getenv("MODEBENCH_SIMD"); isa && *isa && !mb::cpu::limit_simd_target(isa)) {
      std::string names;
      for (int64_t t : mb::cpu::simd_targets())
        names += (names.empty() ? "" : ", ") + std::string(mb::cpu::isa_name(t));
      throw mb::BadInput("MODEBENCH_SIMD must be one of this CPU's SIMD targets (" + names + "), got '" + isa + "'");
    }
    mb::evict_bytes_from_env();  // a malformed MODEBENCH_EVICT_BYTES is bad input before any work
    sel.profile = mb::parse_profile(profile);
    if (*list) {
      for (const auto& name : mb::list_entries(mb::registry(), sel, gbench_args)) std::printf("%s\n", name.c_str());
      return mb::kExitOk;
    }
    if (*probe && !binary_opts.paths.empty()) {
      binary_opts.json_out = probe_json;
      binary_opts.local_devices = [] {
        const mb::CudaProbe cuda = mb::probe_cuda(/*measure_bandwidth=*/false);
        mb::binary::LocalDevices local;
        for (const auto& d : cuda.devices)
          local.devices.push_back({d.cc, cuda.driver_version, "device " + std::to_string(d.index) + ": " + d.name});
        local.why_none = cuda.unavailable;
        return local;
      };
      return mb::binary::probe_binary_main(binary_opts);
    }
    if (*probe && (!binary_opts.cc.empty() || !binary_opts.driver.empty() || !binary_opts.arch_list.empty()))
      throw mb::BadInput("--cc, --driver and --arch-list go with --binary");
    if (*probe) return mb::probe_main(sel, probe_opts, probe_json, original_args);
    if (!gbench_args.empty() && !*run) throw mb::BadInput("Google Benchmark flags only go with 'run'");
    // A child runs when its parent says: the parent has already waited.
    if (quiet_wait_s > 0 && run_opts.entry_log.empty() && nothing_to_time_here(sel)) {
      mb::add_run_fact("quiet_wait", "none: no device here for the selected modes");
    } else if (quiet_wait_s > 0 && run_opts.entry_log.empty()) {
      const mb::QuietWait w = mb::wait_for_quiet(quiet_wait_s);
      char buf[96];
      std::snprintf(buf, sizeof buf, "%.1f s, others %.2f cores, %s", w.waited_s, w.others_cores,
                    w.quiet ? "quiet" : "still busy");
      mb::add_run_fact("quiet_wait", buf);
      if (!w.quiet) std::fprintf(stderr, "modebench: --quiet-wait: still busy after %s\n", buf);
    }
    run_opts.isolate_host = !in_process;
    return mb::run_selection(mb::registry(), sel, out, gbench_args, original_args, run_opts);
  } catch (const mb::BadInput& e) {
    std::fprintf(stderr, "modebench: error: %s\n", e.what());
    return mb::kExitBadInput;
  } catch (const mb::EntryLogError& e) {  // a child that cannot report to its parent stops
    std::fprintf(stderr, "modebench: error: %s\n", e.what());
    return mb::kExitWrong;
  }
}
