#include "harness/run.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "harness/context.hpp"
#include "harness/gbench.hpp"
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

// Runs `entries` (all of one mode) in a child and folds what it reports into `out`.
// Returns whether the child ended normally.
bool run_in_child(const Selection& sel, Mode mode, const std::vector<Entry>& entries, const std::string& out,
                  const std::vector<std::string>& original_args) {
  const ModeSpec& m = spec_of(mode);
  const std::string scratch = make_temp_dir("modebench-" + std::string(m.name) + "-");
  const ChildEnvironment env = m.child_environment(scratch);
  const std::string child_out =
      out.empty() ? std::string() : out + "." + std::string(m.name) + std::to_string(::getpid());
  std::vector<std::string> args = without_options(original_args, {"--modes", "--out"});
  args.push_back("--modes=" + std::string(m.name));
  if (!child_out.empty()) args.push_back("--out=" + child_out);
  const ChildResult r = run_self(args, env, 24 * 3600.0);
  std::filesystem::remove_all(scratch);
  const std::string who = "the " + std::string(m.name) + " child process";
  if (!r.ok() && r.exit_code != kExitWrong)  // 1 = some entry was wrong: its records say so
    std::fprintf(stderr, "modebench: %s ended with %s\n", who.c_str(), r.describe().c_str());
  if (!child_out.empty()) {
    Facts context = run_context(sel, "");
    context.emplace_back("mode_env_" + std::string(m.name), env.describe());
    fold_child_results(out, child_out, entries, unreported_child_status(r, m.compute, who), context);
    std::filesystem::remove(child_out);
  }
  return r.ok();
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
                  const std::vector<std::string>& gbench_args, const std::vector<std::string>& original_args) {
  const std::vector<Entry> entries = expand(reg, sel);
  if (entries.empty()) throw BadInput("the selection matches no benchmark");
  std::set<const OpCase*> cases;
  for (const Entry& e : entries)
    if (cases.insert(e.op_case).second) e.op_case->check_environment();

  const Split split = split_by_process(entries);
  RunConfig cfg;
  cfg.seed = sel.seed;
  RunSummary summary;
  if (!split.here.empty())
    summary = run_benchmarks(split.here, cfg, run_context(sel, mode_env_in_effect()), out, gbench_args);

  bool children_ok = true;
  for (const auto& [mode, child_entries] : split.children)
    children_ok = run_in_child(sel, mode, child_entries, out, original_args) && children_ok;

  std::fprintf(stderr, "modebench: %s%s\n", summary.describe().c_str(),
               split.children.empty() ? "" : " (entries run in child processes: see above)");
  if (summary.count(StatusKind::wrong) > 0 || !children_ok) return kExitWrong;
  return kExitOk;
}

}  // namespace mb
