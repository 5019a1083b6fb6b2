#include "harness/child_log.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>

namespace mb {

using nlohmann::json;

EntryLog::EntryLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw std::runtime_error("cannot create the entry log " + path);
}

EntryLog::~EntryLog() { std::fclose(file_); }

void EntryLog::line(const json& j) {
  const std::string text = j.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);  // in the kernel's hands now: survives the process crashing
}

void EntryLog::context(const Facts& facts) {
  json c = json::object();
  for (const auto& [k, v] : facts) c[k] = v;
  line({{"context", c}});
}

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

namespace {

std::string record_name(const json& r) {
  const json& name = r.contains("run_name") ? r["run_name"] : r.value("name", json(""));
  return name.is_string() ? name.get<std::string>() : std::string();
}

bool reported(const ChildLog& log, const std::string& name) {
  return std::any_of(log.records.begin(), log.records.end(), [&](const json& r) { return record_name(r) == name; });
}

// The entry the child was running when it ended: started, never reported.
std::string running_when_ended(const ChildLog& log) {
  for (auto it = log.started.rbegin(); it != log.started.rend(); ++it)
    if (!reported(log, *it)) return *it;
  return {};
}

json missing_record(const std::string& name, const Status& status) {
  return {{"name", name},          {"run_name", name},  {"run_type", "iteration"}, {"repetitions", 1},
          {"repetition_index", 0}, {"threads", 1},      {"iterations", 0},         {"real_time", 0},
          {"cpu_time", 0},         {"time_unit", "us"}, {"error_occurred", true},  {"error_message", status.text()}};
}

}  // namespace

Status missing_entry_status(const Entry& e, const ChildLog& log, const ChildResult& r, Side compute,
                            const std::string& who) {
  const std::string name = e.name();
  const std::string running = running_when_ended(log);
  if (name == running) return unreported_child_status(r, compute, who + " (while running this entry)");
  if (r.ok()) return Status::failed(ErrorClass::other, who + " ended normally without running this entry");
  return Status::not_run(who + " " + (r.timed_out ? "timed out" : "ended with " + r.describe()) +
                         (running.empty() ? " before starting this entry" : " while running " + running));
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
