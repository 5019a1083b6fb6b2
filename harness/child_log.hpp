#pragma once
// The protocol between `modebench run` and a child it starts for a mode (ptx-jit today):
// the child appends one JSON line per event to a log file (in its scratch folder), flushed as it happens —
//   {"context": {...}}                     once, first
//   {"started": "<entry name>"}            before an entry is prepared
//   {"records": [<Google Benchmark runs>]} as soon as Google Benchmark reports them
// so a child that crashes or hangs loses only the entry it was running, and that entry
// is named. The parent watches the log grow (an entry that stalls it is timed out), starts
// the child again on the same log for the entries it had not started, and folds the log
// into the JSON it writes.
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/context.hpp"
#include "harness/mode.hpp"
#include "harness/selection.hpp"
#include "harness/subprocess.hpp"

namespace mb {

// A line the parent would never see: the child cannot report, so it must not go on as if it had.
struct EntryLogError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class EntryLog {
 public:
  explicit EntryLog(const std::string& path);  // throws EntryLogError when it cannot be opened
  ~EntryLog();
  EntryLog(const EntryLog&) = delete;
  EntryLog& operator=(const EntryLog&) = delete;
  // Each throws EntryLogError when its line cannot be written and flushed whole.
  void context(const Facts& facts);
  void context_object(const nlohmann::json& context);  // any JSON values (Google Benchmark's keys)
  void started(const std::string& entry_name);
  void records(const nlohmann::json& runs);

 private:
  void line(const nlohmann::json& j);
  std::string path_;
  std::FILE* file_;
};

// What a child reported; a truncated last line (the child died writing it) is ignored.
struct ChildLog {
  nlohmann::json context = nlohmann::json::object();
  std::vector<nlohmann::json> records;
  std::vector<std::string> started;  // in order
};
ChildLog read_child_log(const std::string& path);

// In a child started again on its log: the entries it has not started yet (each entry is
// tried once: one that crashed or hung is not tried again). All of them when there is no log.
std::vector<Entry> entries_not_started(const std::vector<Entry>& entries, const std::string& path);

// For run_child: whether the log grew since the last asking (a line was written).
ProgressProbe log_grows(const std::string& path);

// The entry the child was running when it ended: the last one started and not reported
// ("" when none).
std::string running_when_ended(const ChildLog& log);

// One start of a child: how it ended, and the entry it was running then ("" when none, or
// when it started none of its own).
struct ChildAttempt {
  ChildResult result;
  std::string running;
};

// The status of an expected entry the child reported no record for: the one an attempt was
// running when it ended takes that ending (unreported_child_status); one never started is
// not_run because of the last attempt's ending (no evidence against its impl).
Status missing_entry_status(const Entry& e, const std::vector<ChildAttempt>& attempts, Side compute,
                            const std::string& who);

// Adds the child's records to `doc` (Google Benchmark's JSON: {"context", "benchmarks"}, in
// memory), the keys of the child's context and then of `context` that `doc`'s lacks, and a
// record with `missing(entry)` for every expected entry the child did not report: no
// selected entry silently disappears.
void fold_child_log(nlohmann::ordered_json& doc, const ChildLog& log, const std::vector<Entry>& expected,
                    const std::function<Status(const Entry&)>& missing, const Facts& context);

}  // namespace mb
