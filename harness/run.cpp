#include "harness/run.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "harness/child_log.hpp"
#include "harness/context.hpp"
#include "harness/gbench.hpp"
#include "harness/provider.hpp"
#include "harness/slowdown.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "harness/test_trace.hpp"

namespace mb {
namespace {

// Where an entry runs: here, or in a child - this executable started with its mode's
// environment, or its impl's provider executable (with that environment too, if any).
struct ChildKey {
  std::string provider;  // "" = this executable
  Mode mode;
  auto operator<=>(const ChildKey&) const = default;
};

struct Split {
  std::vector<Entry> here;
  std::map<ChildKey, std::vector<Entry>> children;
};

// The provider of the entry's impl row ("" for the harness's own impls).
std::string provider_of(const Entry& e) {
  const Impl* row = e.op_case->find_impl(e.impl, spec_of(e.mode).rows);
  return row ? row->provider : std::string();
}

Split split_by_process(const std::vector<Entry>& entries) {
  Split s;
  for (const Entry& e : entries) {
    const ModeSpec& m = spec_of(e.mode);
    const std::string provider = provider_of(e);
    const bool other_executable = !provider.empty() && provider != current_provider();
    const bool needs_environment = m.child_environment && !m.environment_in_effect();
    if (other_executable || needs_environment)
      s.children[ChildKey{other_executable ? provider : std::string(), e.mode}].push_back(e);
    else
      s.here.push_back(e);
  }
  return s;
}

// The environment this process was started with for its mode, if any (context mode_env).
std::string mode_env_in_effect() {
  for (const ModeSpec& m : mode_table())
    if (m.environment_in_effect)
      if (auto env = m.environment_in_effect()) return *env;
  return {};
}

// One group of entries run in a child; its log is folded into the parent's JSON once the
// parent's own entries have run.
struct ChildRun {
  ChildKey key;
  std::vector<Entry> entries;
  std::string executable;  // "" when the provider's executable was not built
  ChildResult result;
  std::string log_path;  // empty when there is no --out to fold into
  std::string who() const {
    return "the " + std::string(to_string(key.mode)) + (key.provider.empty() ? "" : " " + key.provider) +
           " child process";
  }
};

ChildEnvironment environment_of(const ModeSpec& m, const std::string& scratch) {
  return m.child_environment ? m.child_environment(scratch) : ChildEnvironment{};
}

ChildRun run_in_child(const ChildKey& key, const std::vector<Entry>& entries, const std::string& out,
                      const std::vector<std::string>& original_args) {
  const ModeSpec& m = spec_of(key.mode);
  ChildRun run{key, entries, key.provider.empty() ? self_executable() : provider_executable(key.provider), {}, {}};
  if (run.executable.empty()) return run;  // folded as unavailable
  const std::string scratch = make_temp_dir("modebench-" + std::string(m.name) + "-");
  // The same selection narrowed to this mode and to the impls of its entries (an --impls
  // list naming other modes' impls would be bad input in the child).
  std::vector<std::string> args = without_options(original_args, {"--modes", "--impls", "--out", "--entry-log"});
  args.push_back("--modes=" + std::string(m.name));
  std::string impls;
  for (const Entry& e : entries)
    if (("," + impls + ",").find("," + e.impl + ",") == std::string::npos) impls += (impls.empty() ? "" : ",") + e.impl;
  args.push_back("--impls=" + impls);
  if (!out.empty()) {
    run.log_path = out + "." + std::string(m.name) + key.provider + "-log" + std::to_string(::getpid());
    std::filesystem::remove(run.log_path);
    args.push_back("--entry-log=" + run.log_path);
  }
  test_trace("child-start " + std::string(m.name));
  run.result = run_child(run.executable, args, environment_of(m, scratch), 24 * 3600.0);
  test_trace("child-end " + std::string(m.name));
  std::filesystem::remove_all(scratch);
  if (!run.result.ok() && run.result.exit_code != kExitWrong)  // 1 = some entry was wrong: its records say so
    std::fprintf(stderr, "modebench: %s ended with %s\n", run.who().c_str(), run.result.describe().c_str());
  return run;
}

void fold(const ChildRun& run, const Selection& sel, const std::string& out) {
  if (out.empty()) return;
  const ModeSpec& m = spec_of(run.key.mode);
  Facts context = run_context(sel, "");
  if (m.child_environment) {
    const ChildEnvironment env = m.child_environment("<fresh folder>");
    context.emplace_back("mode_env_" + std::string(m.name), env.describe());
    context.emplace_back("mode_env_" + std::string(m.name) + "_overrides", env.overridden_here());
  }
  if (run.executable.empty()) {
    const Status unavailable = Status::unavailable(provider_unavailable_reason(run.key.provider));
    fold_child_log(
        out, ChildLog{}, run.entries, [&](const Entry&) { return unavailable; }, context);
    return;
  }
  const ChildLog log = read_child_log(run.log_path);
  fold_child_log(
      out, log, run.entries,
      [&](const Entry& e) { return missing_entry_status(e, log, run.result, m.compute, run.who()); }, context);
  std::filesystem::remove(run.log_path);
}

}  // namespace

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

std::vector<std::string> list_entries(const Registry& reg, const Selection& sel) {
  std::vector<std::string> out;
  for (const Entry& e : expand(reg, sel)) out.push_back(e.name());
  return out;
}

int run_selection(const Registry& reg, const Selection& sel, const std::string& out,
                  const std::vector<std::string>& gbench_args, const std::vector<std::string>& original_args,
                  const std::string& entry_log) {
  const std::vector<Entry> entries = filter_entries(expand(reg, sel), gbench_args);
  if (entries.empty()) throw BadInput("the selection matches no benchmark");
  slowdown_from_env();  // a malformed injector is bad input, before any work
  std::set<const OpCase*> cases;
  for (const Entry& e : entries)
    if (cases.insert(e.op_case).second) e.op_case->check_environment();

  // Children first: the parent must not hold a CUDA context while they use the device (in
  // EXCLUSIVE_PROCESS compute mode it would refuse them; otherwise it would take memory from them).
  const Split split = split_by_process(entries);
  std::vector<ChildRun> children;
  for (const auto& [key, child_entries] : split.children)
    children.push_back(run_in_child(key, child_entries, out, original_args));

  RunConfig cfg;
  cfg.seed = sel.seed;
  RunSummary summary;
  if (!split.here.empty())
    summary = run_benchmarks(split.here, cfg, run_context(sel, mode_env_in_effect()), out, gbench_args, entry_log);

  bool children_ok = true;
  for (const ChildRun& c : children) {
    fold(c, sel, out);
    children_ok = children_ok && (c.executable.empty() || c.result.ok());
  }

  std::fprintf(stderr, "modebench: %s%s\n", summary.describe().c_str(),
               split.children.empty() ? "" : " (entries run in child processes: see above)");
  if (summary.count(StatusKind::wrong) > 0 || !children_ok) return kExitWrong;
  return kExitOk;
}

}  // namespace mb
