#include "harness/run.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "harness/child_log.hpp"
#include "harness/context.hpp"
#include "harness/gbench.hpp"
#include "harness/slowdown.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"

namespace mb {
namespace {

// Selected entries that must run in a child, by mode; the rest run here.
struct Split {
  std::vector<Entry> here;
  std::map<Mode, std::vector<Entry>> children;
};

Split split_by_process(const std::vector<Entry>& entries) {
  Split s;
  for (const Entry& e : entries) {
    const ModeSpec& m = spec_of(e.mode);
    const bool needs_child = m.child_environment && !m.environment_in_effect();
    (needs_child ? s.children[e.mode] : s.here).push_back(e);
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

// One mode's entries run in a child started with the mode's environment; its log is
// folded into the parent's JSON once the parent's own entries have run.
struct ChildRun {
  Mode mode;
  std::vector<Entry> entries;
  ChildResult result;
  std::string log_path;  // empty when there is no --out to fold into
};

ChildRun run_in_child(Mode mode, const std::vector<Entry>& entries, const std::string& out,
                      const std::vector<std::string>& original_args) {
  const ModeSpec& m = spec_of(mode);
  ChildRun run{mode, entries, {}, {}};
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
    run.log_path = out + "." + std::string(m.name) + "-log" + std::to_string(::getpid());
    std::filesystem::remove(run.log_path);
    args.push_back("--entry-log=" + run.log_path);
  }
  run.result = run_self(args, m.child_environment(scratch), 24 * 3600.0);
  std::filesystem::remove_all(scratch);
  if (!run.result.ok() && run.result.exit_code != kExitWrong)  // 1 = some entry was wrong: its records say so
    std::fprintf(stderr, "modebench: the %s child process ended with %s\n", std::string(m.name).c_str(),
                 run.result.describe().c_str());
  return run;
}

void fold(const ChildRun& run, const Selection& sel, const std::string& out) {
  if (run.log_path.empty()) return;
  const ModeSpec& m = spec_of(run.mode);
  Facts context = run_context(sel, "");
  const ChildEnvironment env = m.child_environment("<fresh folder>");
  context.emplace_back("mode_env_" + std::string(m.name), env.describe());
  context.emplace_back("mode_env_" + std::string(m.name) + "_overrides", env.overridden_here());
  fold_child_log(out, read_child_log(run.log_path), run.entries, run.result, m.compute,
                 "the " + std::string(m.name) + " child process", context);
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
  const std::vector<Entry> entries = expand(reg, sel);
  if (entries.empty()) throw BadInput("the selection matches no benchmark");
  slowdown_from_env();  // a malformed injector is bad input, before any work
  std::set<const OpCase*> cases;
  for (const Entry& e : entries)
    if (cases.insert(e.op_case).second) e.op_case->check_environment();

  // Children first: the parent must not hold a CUDA context while they use the device (in
  // EXCLUSIVE_PROCESS compute mode it would refuse them; otherwise it would take memory from them).
  const Split split = split_by_process(entries);
  std::vector<ChildRun> children;
  for (const auto& [mode, child_entries] : split.children)
    children.push_back(run_in_child(mode, child_entries, out, original_args));

  RunConfig cfg;
  cfg.seed = sel.seed;
  RunSummary summary;
  if (!split.here.empty())
    summary = run_benchmarks(split.here, cfg, run_context(sel, mode_env_in_effect()), out, gbench_args, entry_log);

  bool children_ok = true;
  for (const ChildRun& c : children) {
    fold(c, sel, out);
    children_ok = children_ok && c.result.ok();
  }

  std::fprintf(stderr, "modebench: %s%s\n", summary.describe().c_str(),
               split.children.empty() ? "" : " (entries run in child processes: see above)");
  if (summary.count(StatusKind::wrong) > 0 || !children_ok) return kExitWrong;
  return kExitOk;
}

}  // namespace mb
