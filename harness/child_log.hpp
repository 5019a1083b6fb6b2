#pragma once
// The protocol between `modebench run` and a child it starts for a mode (ptx-jit today):
// the child appends one JSON line per event to a log file (in its scratch folder), flushed as it happens —
//   {"context": {...}}                     once, first
//   {"started": "<entry name>"}            before an entry is prepared
//   {"records": [<Google Benchmark runs>]} as soon as Google Benchmark reports them
// so a child that crashes or hangs loses only the entry it was running, and that entry
// is named. The parent folds the log into the JSON it writes.
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/context.hpp"
#include "harness/mode.hpp"
#include "harness/selection.hpp"
#include "harness/subprocess.hpp"

namespace mb {

class EntryLog {
 public:
  explicit EntryLog(const std::string& path);  // throws when it cannot be created
  ~EntryLog();
  EntryLog(const EntryLog&) = delete;
  EntryLog& operator=(const EntryLog&) = delete;
  void context(const Facts& facts);
  void started(const std::string& entry_name);
  void records(const nlohmann::json& runs);

 private:
  void line(const nlohmann::json& j);
  std::FILE* file_;
};

// What a child reported; a truncated last line (the child died writing it) is ignored.
struct ChildLog {
  nlohmann::json context = nlohmann::json::object();
  std::vector<nlohmann::json> records;
  std::vector<std::string> started;  // in order
};
ChildLog read_child_log(const std::string& path);

// The status of an expected entry the child reported no record for: the one it was running
// when it ended takes the child's ending (unreported_child_status); one it never started is
// not_run because of that entry (no evidence against its impl).
Status missing_entry_status(const Entry& e, const ChildLog& log, const ChildResult& r, Side compute,
                            const std::string& who);

// Adds the child's records to `doc` (Google Benchmark's JSON: {"context", "benchmarks"}, in
// memory), the keys of the child's context and then of `context` that `doc`'s lacks, and a
// record with `missing(entry)` for every expected entry the child did not report: no
// selected entry silently disappears.
void fold_child_log(nlohmann::ordered_json& doc, const ChildLog& log, const std::vector<Entry>& expected,
                    const std::function<Status(const Entry&)>& missing, const Facts& context);

}  // namespace mb
