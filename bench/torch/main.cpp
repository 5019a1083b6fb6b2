// modebench-torch: the torch provider's executable (harness/provider.hpp). modebench starts it
// as a child for the entries of the `torch…` impls:
//   run   [selection] [--benchmark_*] --entry-log FILE | --out FILE   entries, validated then timed
//   probe --row --row-out FILE [selection]                            one compatibility-matrix row
//   list  [selection]                                                 the entries run would run
//   facts                                                              the torch facts, JSON
// It runs only the torch impls (the harness's own run in modebench) with the user's libtorch,
// and never loads the CUDA toolkit's libraries: only torch's own.
#include <ATen/Context.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/selection_flags.hpp"
#include "harness/child_log.hpp"
#include "harness/context.hpp"
#include "harness/host_allocator.hpp"
#include "harness/provider.hpp"
#include "harness/registry.hpp"
#include "harness/run.hpp"
#include "harness/status.hpp"
#include "ops/torch_ops.hpp"
#include "probe/probe.hpp"
#include "providers/torch/entry_loop.hpp"
#include "providers/torch/torch_facts.hpp"

namespace {

constexpr const char* kProvider = "torch";

// The selection's entries of this provider's impls; the others are modebench's to run.
std::vector<mb::Entry> torch_entries(const mb::Selection& sel) {
  std::vector<mb::Entry> out;
  for (const mb::Entry& e : mb::expand(mb::registry(), sel)) {
    const mb::Impl* row = e.op_case->find_impl(e.impl, mb::spec_of(e.mode).rows);
    if (row && row->provider == kProvider) out.push_back(e);
  }
  if (out.empty())
    throw mb::BadInput("the selection has no torch impl (modebench-torch runs only those; modebench runs the rest)");
  return out;
}

// The context of a child: the run's, the forced environment in effect (ptx-jit), and torch's facts.
mb::Facts child_context(const mb::Selection& sel) {
  std::string mode_env;
  for (const mb::ModeSpec& m : mb::mode_table())
    if (m.environment_in_effect)
      if (const auto env = m.environment_in_effect()) mode_env = *env;
  mb::Facts f = mb::run_context(sel, mode_env);
  for (auto& kv : mb::torch_facts()) f.push_back(kv);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  mb::set_current_provider(kProvider);
  mb::install_torch_ops();
  at::globalContext().setBenchmarkCuDNN(false);  // torch's default, stated: no autotuning in a first call

  std::vector<std::string> benchmark_flags, ours, original_args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    original_args.push_back(a);
    (a.rfind("--benchmark_", 0) == 0 ? benchmark_flags : ours).push_back(a);
  }

  CLI::App app{"modebench-torch: the torch provider of modebench (run by modebench as a child)"};
  app.require_subcommand(1);
  mb::Selection sel;
  std::string profile = "quick", out, entry_log;
  CLI::App* run = app.add_subcommand("run", "run the torch impls' entries");
  mb::add_selection_flags(*run, sel, profile);
  run->add_option("--out", out, "Google Benchmark-shaped JSON output (written atomically)");
  run->add_option("--entry-log", entry_log, "the entry-by-entry log modebench reads");
  CLI::App* list = app.add_subcommand("list", "the entries run would run");
  mb::add_selection_flags(*list, sel, profile);
  CLI::App* probe = app.add_subcommand("probe", "one row of modebench probe's compatibility matrix");
  mb::ProbeOptions probe_opts;
  mb::add_selection_flags(*probe, sel, profile);
  probe->add_flag("--row", probe_opts.child_row, "run one matrix row")->required();
  probe->add_option("--row-out", probe_opts.row_out, "the row's JSON line goes here");
  CLI::App* facts = app.add_subcommand("facts", "the torch facts of the run context, as JSON");

  std::vector<std::string> reversed(ours.rbegin(), ours.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "modebench-torch: error: %s\n", e.what());
    return mb::kExitBadInput;
  }

  try {
    mb::settle_host_allocator();  // before any timed call allocates (as the parent does)
    sel.profile = mb::parse_profile(profile);
    if (*facts) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [k, v] : mb::torch_facts()) j[k] = v;
      std::printf("%s\n", j.dump(2).c_str());
      return mb::kExitOk;
    }
    if (*list) {
      for (const mb::Entry& e : torch_entries(sel)) std::printf("%s\n", e.name().c_str());
      return mb::kExitOk;
    }
    if (*probe) return mb::probe_main(sel, probe_opts, "", original_args);
    if (!benchmark_flags.empty() && !*run) throw mb::BadInput("Google Benchmark flags only go with 'run'");
    const mb::LoopOptions options = mb::parse_loop_options(benchmark_flags);
    std::vector<mb::Entry> entries = mb::filter_entries(torch_entries(sel), benchmark_flags);
    for (const mb::Entry& e : entries) e.op_case->check_environment();
    if (!entry_log.empty()) entries = mb::entries_not_started(entries, entry_log);  // started again
    mb::RunConfig cfg;
    cfg.seed = sel.seed;
    const int wrong = mb::run_entries(entries, cfg, options, child_context(sel), out, entry_log);
    return wrong > 0 ? mb::kExitWrong : mb::kExitOk;
  } catch (const mb::BadInput& e) {
    std::fprintf(stderr, "modebench-torch: error: %s\n", e.what());
    return mb::kExitBadInput;
  } catch (const mb::EntryLogError& e) {  // it cannot report to its parent: it stops
    std::fprintf(stderr, "modebench-torch: error: %s\n", e.what());
    return mb::kExitWrong;
  }
}
