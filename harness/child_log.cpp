#include "harness/child_log.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace mb {

using nlohmann::json;

EntryLog::EntryLog(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw EntryLogError("cannot create the entry log " + path + ": " + std::strerror(errno));
}

EntryLog::~EntryLog() { std::fclose(file_); }

void EntryLog::line(const json& j) {
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  // fflush: in the kernel's hands now, so it survives the process crashing. A line that
  // did not get there (a full disk) would be an entry the parent never hears of.
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0)
    throw EntryLogError("cannot write the entry log " + path_ + ": " + std::strerror(errno));
}

void EntryLog::context(const Facts& facts) {
  json c = json::object();
  for (const auto& [k, v] : facts) c[k] = v;
  context_object(c);
}

void EntryLog::context_object(const json& context) { line({{"context", context}}); }

void EntryLog::started(const std::string& entry_name) { line({{"started", entry_name}}); }

void EntryLog::records(const json& runs) { line({{"records", runs}}); }

ChildLog read_child_log(const std::string& path) {
  ChildLog log;
  std::ifstream in(path);
  for (std::string text; std::getline(in, text);) {
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.contains("context") && j["context"].is_object()) log.context = j["context"];
    if (j.contains("started") && j["started"].is_string()) log.started.push_back(j["started"]);
    if (j.contains("records") && j["records"].is_array())
      for (const auto& r : j["records"]) log.records.push_back(r);
  }
  return log;
}

std::vector<Entry> entries_not_started(const std::vector<Entry>& entries, const std::string& path) {
  const ChildLog log = read_child_log(path);
  std::vector<Entry> left;
  for (const Entry& e : entries)
    if (std::find(log.started.begin(), log.started.end(), e.name()) == log.started.end()) left.push_back(e);
  return left;
}

ProgressProbe log_grows(const std::string& path) {
  return [path, size = off_t{-1}]() mutable {
    struct stat st {};
    const off_t now = ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
    const bool grew = now > size;
    size = now;
    return grew;
  };
}

namespace {

std::string record_name(const json& r) {
  const json& name = r.contains("run_name") ? r["run_name"] : r.value("name", json(""));
  return name.is_string() ? name.get<std::string>() : std::string();
}

bool reported(const ChildLog& log, const std::string& name) {
  return std::any_of(log.records.begin(), log.records.end(), [&](const json& r) { return record_name(r) == name; });
}

json missing_record(const std::string& name, const Status& status) {
  return {{"name", name},          {"run_name", name},  {"run_type", "iteration"}, {"repetitions", 1},
          {"repetition_index", 0}, {"threads", 1},      {"iterations", 0},         {"real_time", 0},
          {"cpu_time", 0},         {"time_unit", "us"}, {"error_occurred", true},  {"error_message", status.text()}};
}

}  // namespace

std::string running_when_ended(const ChildLog& log) {
  for (auto it = log.started.rbegin(); it != log.started.rend(); ++it)
    if (!reported(log, *it)) return *it;
  return {};
}

Status missing_entry_status(const Entry& e, const std::vector<ChildAttempt>& attempts, Side compute,
                            const std::string& who) {
  const std::string name = e.name();
  for (const ChildAttempt& a : attempts)
    if (a.running == name) return unreported_child_status(a.result, compute, who + " (while running this entry)");
  const ChildAttempt last = attempts.empty() ? ChildAttempt{} : attempts.back();
  const ChildResult& r = last.result;
  if (r.ok()) return Status::failed(ErrorClass::other, who + " ended normally without running this entry");
  return Status::not_run(who + " " + (r.timed_out ? "timed out" : "ended with " + r.describe()) +
                         (last.running.empty() ? " before starting this entry" : " while running " + last.running));
}

void fold_child_log(nlohmann::ordered_json& doc, const ChildLog& log, const std::vector<Entry>& expected,
                    const std::function<Status(const Entry&)>& missing, const Facts& context) {
  nlohmann::ordered_json& base = doc["context"];
  // What the child alone knows (a provider's facts: torch_version, ...) joins the parent's.
  for (const auto& [k, v] : log.context.items())
    if (!base.contains(k)) base[k] = v;
  for (const auto& [k, v] : context)
    if (!base.contains(k)) base[k] = v;
  nlohmann::ordered_json& records = doc["benchmarks"];
  for (const json& rec : log.records) records.push_back(nlohmann::ordered_json(rec));
  for (const Entry& e : expected)
    if (!reported(log, e.name())) records.push_back(nlohmann::ordered_json(missing_record(e.name(), missing(e))));
}

}  // namespace mb
