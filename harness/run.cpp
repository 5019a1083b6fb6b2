#include "harness/run.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <system_error>

#include "harness/atomic_file.hpp"
#include "harness/child_log.hpp"
#include "harness/contention.hpp"
#include "harness/context.hpp"
#include "harness/gbench.hpp"
#include "harness/provider.hpp"
#include "harness/slowdown.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "harness/test_trace.hpp"

namespace mb {
namespace {

// What --out receives: Google Benchmark's JSON of every entry, this process's and its
// children's, built in memory and written once, whole (harness/atomic_file.hpp).
using Document = nlohmann::ordered_json;

// Where an entry runs: here, or in a child - this executable started with its mode's
// environment (none for a host entry: the worker that keeps a crash or hang from costing the
// run), or its impl's provider executable (with that environment too, if any).
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

// Host entries (data and compute on the host) go to a worker when `isolate_host`; device
// entries (gpu, hybrid) stay here: a device fault is caught as their status, a sticky one
// makes the later ones not_run and their cold loads are paid once per process, all of which
// a restarted worker would change; and the device is asked for only after every child ended.
Split split_by_process(const std::vector<Entry>& entries, bool isolate_host) {
  Split s;
  for (const Entry& e : entries) {
    const ModeSpec& m = spec_of(e.mode);
    const std::string provider = provider_of(e);
    const bool other_executable = !provider.empty() && provider != current_provider();
    const bool needs_environment = m.child_environment && !m.environment_in_effect();
    const bool isolated = isolate_host && !m.touches_device();
    if (other_executable || needs_environment || isolated)
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

// One group of entries run in a child, started again after an attempt that ended while
// running an entry; its log is read when it ends, and folded into the parent's document once
// the parent's own entries have run.
struct ChildRun {
  ChildKey key;
  std::vector<Entry> entries;
  std::string executable;  // "" when the provider's executable was not built
  std::vector<ChildAttempt> attempts;
  ChildLog log;
  bool ok() const {
    return std::all_of(attempts.begin(), attempts.end(), [](const ChildAttempt& a) { return a.result.ok(); });
  }
  std::string who() const {
    return "the " + std::string(to_string(key.mode)) + (key.provider.empty() ? "" : " " + key.provider) +
           " child process";
  }
};

ChildEnvironment environment_of(const ModeSpec& m, const std::string& scratch) {
  return m.child_environment ? m.child_environment(scratch) : ChildEnvironment{};
}

// An attempt that ended neither normally (0) nor with wrong entries (1): a crash, a timeout.
bool ended_abnormally(const ChildResult& r) {
  return !r.ok() && (r.signal || r.timed_out || r.exit_code != kExitWrong);
}

ChildRun run_in_child(const ChildKey& key, const std::vector<Entry>& entries,
                      const std::vector<std::string>& original_args, double entry_timeout_s) {
  const ModeSpec& m = spec_of(key.mode);
  ChildRun run{key, entries, key.provider.empty() ? self_executable() : provider_executable(key.provider), {}, {}};
  if (run.executable.empty()) return run;  // folded as unavailable
  // The child's log lives in its scratch folder, which goes when it ends: nothing is left
  // beside --out, and --out's folder need not exist for it.
  const std::string scratch = make_temp_dir("modebench-" + std::string(m.name) + "-");
  const std::string log_path = scratch + "/entry-log";
  // The same selection narrowed to this mode and to the impls of its entries (an --impls
  // list naming other modes' impls would be bad input in the child).
  std::vector<std::string> args = without_options(
      original_args, {"--modes", "--impls", "--out", "--entry-log", "--entry-timeout", "--in-process", "--quiet-wait"});
  args.push_back("--modes=" + std::string(m.name));
  std::string impls;
  for (const Entry& e : entries)
    if (("," + impls + ",").find("," + e.impl + ",") == std::string::npos) impls += (impls.empty() ? "" : ",") + e.impl;
  args.push_back("--impls=" + impls);
  args.push_back("--entry-log=" + log_path);
  // Each attempt runs on the same log the entries it has not started (entries_not_started):
  // one that crashed or hung costs only that entry, and every attempt starts a new entry or
  // is the last. An entry that stalls the log for entry_timeout_s is killed: one hung entry
  // costs itself, not ctest's whole test.
  for (;;) {
    test_trace("child-start " + std::string(m.name));
    const ChildResult r =
        run_child(run.executable, args, environment_of(m, scratch), entry_timeout_s, log_grows(log_path));
    test_trace("child-end " + std::string(m.name));
    const size_t started_before = run.log.started.size();
    run.log = read_child_log(log_path);
    std::string running = running_when_ended(run.log);
    const auto own = std::find(run.log.started.begin() + static_cast<std::ptrdiff_t>(started_before),
                               run.log.started.end(), running);
    if (own == run.log.started.end()) running.clear();  // not one this attempt started
    run.attempts.push_back({r, running});
    if (!ended_abnormally(r)) break;  // 1 = some entry was wrong: its records say so
    const bool more = run.log.started.size() > started_before && run.log.started.size() < entries.size();
    std::fprintf(stderr, "modebench: %s ended with %s%s%s\n", run.who().c_str(), r.describe().c_str(),
                 running.empty() ? "" : (" while running " + running).c_str(),
                 more ? "; starting it again for the entries it had not started" : "");
    if (!more) break;
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  return run;
}

void fold(const ChildRun& run, const Selection& sel, Document& doc) {
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
        doc, ChildLog{}, run.entries, [&](const Entry&) { return unavailable; }, context);
    return;
  }
  fold_child_log(
      doc, run.log, run.entries,
      [&](const Entry& e) { return missing_entry_status(e, run.attempts, m.compute, run.who()); }, context);
}

// What run runs and list lists: the selection, narrowed by --benchmark_filter.
std::vector<Entry> selected_entries(const Registry& reg, const Selection& sel,
                                    const std::vector<std::string>& gbench_args) {
  std::vector<Entry> entries = filter_entries(expand(reg, sel), gbench_args);
  if (entries.empty()) throw BadInput("the selection matches no benchmark");
  return entries;
}

// Google Benchmark's reading of a boolean flag's value (the bare flag is "": true).
bool truthy(const std::string& v) {
  if (v.size() == 1)
    return std::isalnum(static_cast<unsigned char>(v[0])) && std::string("0fFnN").find(v[0]) == std::string::npos;
  std::string lower;
  for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower != "false" && lower != "no" && lower != "off";
}

// Google Benchmark takes 0 and runs nothing: --out was replaced by an empty file.
void check_repetitions(const std::vector<std::string>& gbench_args) {
  const std::optional<std::string> v = benchmark_flag(gbench_args, "--benchmark_repetitions");
  if (!v) return;
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size() || n < 1 || n > INT32_MAX)
    throw BadInput("--benchmark_repetitions must be a whole number of at least 1, got '" + *v + "'");
}

// Every entry of the document, the children's too, by its most severe record (repetitions,
// aggregates): the summary line counts what the file holds.
RunSummary summarize(const Document& doc) {
  std::map<std::string, StatusKind> worst;
  for (const Document& r : doc["benchmarks"]) {
    if (!r.is_object()) continue;
    const Document name = r.contains("run_name") ? r["run_name"] : r.value("name", Document());
    if (!name.is_string()) continue;
    StatusKind kind = StatusKind::ok;
    if (r.value("error_occurred", Document(false)) == true) {
      const Document message = r.value("error_message", Document());
      const std::optional<Status> s = message.is_string() ? Status::parse(message.get<std::string>()) : std::nullopt;
      kind = s ? s->kind() : StatusKind::failed;  // not one of ours: something failed
    }
    const auto [it, added] = worst.emplace(name.get<std::string>(), kind);
    if (!added && kind > it->second) it->second = kind;
  }
  RunSummary s;
  for (const auto& [name, kind] : worst) s.add(kind);
  return s;
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

std::vector<std::string> list_entries(const Registry& reg, const Selection& sel,
                                      const std::vector<std::string>& gbench_args) {
  std::vector<std::string> out;
  for (const Entry& e : selected_entries(reg, sel, gbench_args)) out.push_back(e.name());
  return out;
}

int run_selection(const Registry& reg, const Selection& sel, const std::string& out,
                  const std::vector<std::string>& gbench_args, const std::vector<std::string>& original_args,
                  const RunOptions& opts) {
  std::vector<Entry> entries = selected_entries(reg, sel, gbench_args);
  check_repetitions(gbench_args);
  check_child_timeout("--entry-timeout", opts.entry_timeout_s);
  slowdown_from_env();  // a malformed injector is bad input, before any work
  std::set<const OpCase*> cases;
  for (const Entry& e : entries)
    if (cases.insert(e.op_case).second) e.op_case->check_environment();
  // Google Benchmark listed only this process's entries and left --out an empty file: every
  // entry is listed, as `list` does, and nothing is run or written.
  if (const auto list = benchmark_flag(gbench_args, "--benchmark_list_tests"); list && truthy(*list)) {
    for (const Entry& e : entries) std::printf("%s\n", e.name().c_str());
    std::fprintf(stderr, "modebench: --benchmark_list_tests: nothing was run%s\n",
                 out.empty() ? "" : (", " + out + " was left as it was").c_str());
    return kExitOk;
  }
  // A folder, a device, a path under a file, a folder that takes no new file: refused here,
  // not by an uncaught filesystem_error (for a folder, after the whole run). A missing
  // folder is created.
  if (!out.empty()) try {
      check_atomic_target(out);
    } catch (const std::runtime_error& e) {
      throw BadInput(std::string("--out: ") + e.what());
    }

  // Children first: the parent must not hold a CUDA context while they use the device (in
  // EXCLUSIVE_PROCESS compute mode it would refuse them; otherwise it would take memory from them).
  if (!opts.entry_log.empty()) entries = entries_not_started(entries, opts.entry_log);  // started again
  const Split split = split_by_process(entries, opts.isolate_host && opts.entry_log.empty());
  const ContentionMeter contention;  // the whole run, children included: the context says how busy it was
  std::vector<ChildRun> children;
  size_t in_children = 0;
  for (const auto& [key, child_entries] : split.children) {
    children.push_back(run_in_child(key, child_entries, original_args, opts.entry_timeout_s));
    in_children += child_entries.size();
  }

  RunConfig cfg;
  cfg.seed = sel.seed;
  Document doc = {{"context", Document::object()}, {"benchmarks", Document::array()}};
  std::string why;  // why --out cannot be written
  if (!split.here.empty()) {
    RunSummary here =
        run_benchmarks(split.here, cfg, run_context(sel, mode_env_in_effect()), "", gbench_args, opts.entry_log);
    // Unreadable (results_error): the empty document stays, and the children's still fold
    // into it (summarize aborted on the null one).
    if (here.results.is_object()) doc = std::move(here.results);
    why = here.results_error;
  }

  bool children_ok = true;
  for (const ChildRun& c : children) {
    fold(c, sel, doc);
    children_ok = children_ok && (c.executable.empty() || c.ok());
  }

  // What other processes did to this run, and how many entries the report will set aside.
  size_t contended = 0;
  for (const auto& b : doc["benchmarks"])
    if (is_contended(b.value("other_cores", 0.0) + b.value("steal_cores", 0.0), b.value("other_cores_resolution", 0.0)))
      ++contended;
  if (doc["context"].is_object()) {
    for (const auto& [k, v] : contention_facts(contention.figures())) doc["context"][k] = v;
    for (const auto& [k, v] : run_facts()) doc["context"][k] = v;
    doc["context"]["contended_entries"] = std::to_string(contended);
  }

  const RunSummary summary = summarize(doc);
  std::fprintf(stderr, "modebench: %s%s\n", summary.describe().c_str(),
               in_children == 0 ? "" : (" (" + std::to_string(in_children) + " in child processes)").c_str());
  if (contended > 0)
    std::fprintf(stderr,
                 "modebench: %zu entries timed while other processes kept the machine busy (contended: the report sets "
                 "them aside)\n",
                 contended);
  const int code = summary.count(StatusKind::wrong) > 0 || !children_ok ? kExitWrong : kExitOk;
  if (out.empty()) return code;
  // --out is all or nothing, and always the whole file: this run's entries, or the old file
  // untouched, a non-zero exit and one line. A run that produced no entry leaves it too.
  if (why.empty() && doc["benchmarks"].empty()) why = "no entry produced a result";
  if (why.empty()) try {
      write_atomically(out, doc.dump(2, ' ', false, Document::error_handler_t::replace) + "\n");
      return code;
    } catch (const std::runtime_error& e) {
      why = e.what();
    }
  std::fprintf(stderr, "modebench: error: %s; %s was left as it was\n", why.c_str(), out.c_str());
  return kExitWrong;
}

}  // namespace mb
