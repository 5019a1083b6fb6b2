#include "providers/torch/entry_loop.hpp"

#include <cstdio>
#include <ctime>
#include <memory>

#include "harness/atomic_file.hpp"
#include "harness/child_log.hpp"
#include "harness/record.hpp"
#include "harness/status.hpp"

namespace mb {
namespace {

using nlohmann::json;

double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string value_of(const std::string& flag) { return flag.substr(flag.find('=') + 1); }

double parse_number(const std::string& flag, const std::string& text) {
  size_t used = 0;
  double v = -1.0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || !(v >= 0.0)) throw BadInput("malformed " + flag);
  return v;
}

json record_head(const std::string& name, int repetition, int repetitions) {
  return {{"name", name},
          {"family_index", 0},
          {"per_family_instance_index", 0},
          {"run_name", name},
          {"run_type", "iteration"},
          {"repetitions", repetitions},
          {"repetition_index", repetition},
          {"threads", 1}};
}

// Times one prepared entry: calls until min_time of timed calls (or exactly n), per repetition.
std::vector<json> time_entry(PreparedEntry& p, const LoopOptions& o) {
  std::vector<json> out;
  const std::string name = p.entry().name();
  for (int rep = 0; rep < o.repetitions; ++rep) {
    SplitMean split;
    double total_ms = 0.0;
    int64_t calls = 0;
    const double cpu0 = process_cpu_s();
    const ContentionMeter contention;
    while (o.fixed_iterations > 0 ? calls < o.fixed_iterations : (calls == 0 || total_ms < 1e3 * o.min_time_s)) {
      const double ms = p.timed_call_ms();
      if (ms < 0) return {error_record(name, p.message())};
      total_ms += ms;
      ++calls;
      split.add(p.instance().call_split());
    }
    const double cpu_us = 1e6 * (process_cpu_s() - cpu0) / static_cast<double>(calls);
    const double real_us = 1e3 * total_ms / static_cast<double>(calls);
    const EntryCounters c = entry_counters(p, split.mean(), contention.figures());
    const double per_second = 1e6 / real_us;
    json counters = {{"FLOPS", c.flops * per_second},
                     {"bytes_per_second", c.bytes * per_second},
                     {"items_per_second", c.items * per_second}};
    for (const auto& [k, v] : c.values) counters[k] = v;
    counters["label"] = c.label;
    out.push_back(timed_record(name, calls, real_us, cpu_us, counters, rep, o.repetitions));
  }
  return out;
}

}  // namespace

LoopOptions parse_loop_options(const std::vector<std::string>& flags) {
  LoopOptions o;
  for (const std::string& f : flags) {
    if (f.rfind("--benchmark_min_time=", 0) == 0) {
      std::string v = value_of(f);
      if (!v.empty() && v.back() == 'x') {
        o.fixed_iterations = static_cast<int64_t>(parse_number(f, v.substr(0, v.size() - 1)));
        if (o.fixed_iterations < 1) throw BadInput("malformed " + f);
      } else {
        if (!v.empty() && v.back() == 's') v.pop_back();
        o.min_time_s = parse_number(f, v);
      }
    } else if (f.rfind("--benchmark_repetitions=", 0) == 0) {
      o.repetitions = static_cast<int>(parse_number(f, value_of(f)));
      if (o.repetitions < 1) throw BadInput("malformed " + f);
    }
  }
  return o;
}

json timed_record(const std::string& name, int64_t iterations, double real_time_us, double cpu_time_us,
                  const json& counters, int repetition, int repetitions) {
  json r = record_head(name, repetition, repetitions);
  r["iterations"] = iterations;
  r["real_time"] = real_time_us;
  r["cpu_time"] = cpu_time_us;
  r["time_unit"] = "us";
  for (const auto& [k, v] : counters.items()) r[k] = v;
  return r;
}

json error_record(const std::string& name, const std::string& message) {
  json r = record_head(name, 0, 1);
  r["error_occurred"] = true;
  r["error_message"] = message;
  r["iterations"] = 0;
  r["real_time"] = 0.0;
  r["cpu_time"] = 0.0;
  r["time_unit"] = "us";
  return r;
}

int run_entries(const std::vector<Entry>& entries, const RunConfig& cfg, const LoopOptions& options,
                const Facts& context, const std::string& json_out, const std::string& entry_log) {
  std::unique_ptr<EntryLog> log;
  if (!entry_log.empty()) {
    log = std::make_unique<EntryLog>(entry_log);
    log->context(context);
  }
  json records = json::array();
  int wrong = 0;
  for (const Entry& e : entries) {
    const std::string name = e.name();
    if (log) log->started(name);
    std::vector<json> runs;
    {
      PreparedEntry p(e, cfg);  // its buffers are freed before the next entry's
      runs = p.status().is_ok() ? time_entry(p, options) : std::vector<json>{error_record(name, p.message())};
      if (p.status() == StatusKind::wrong) ++wrong;
    }
    for (const json& r : runs) {
      if (r.contains("error_message"))
        std::printf("%-70s %s\n", name.c_str(), r["error_message"].get<std::string>().c_str());
      else
        std::printf("%-70s %12.1f us %8lld calls\n", name.c_str(), r["real_time"].get<double>(),
                    static_cast<long long>(r["iterations"].get<int64_t>()));
      records.push_back(r);
    }
    std::fflush(stdout);
    if (log) log->records(runs);
  }
  if (!json_out.empty()) {
    json doc = {{"context", json::object()}, {"benchmarks", records}};
    for (const auto& [k, v] : context) doc["context"][k] = v;
    write_atomically(json_out, doc.dump(2) + "\n");
  }
  return wrong;
}

}  // namespace mb
