#include "harness/gbench.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "harness/child_log.hpp"
#include "harness/record.hpp"
#include "harness/status.hpp"
#include "harness/test_trace.hpp"

namespace mb {
namespace {

// Only one entry's buffers are alive at a time; Google Benchmark calls the
// same function several times (iteration estimate, repetitions), so the
// prepared entry is kept until the next entry starts.
struct Current {
  std::unique_ptr<PreparedEntry> prepared;
  std::map<std::string, StatusKind> statuses;
  std::unique_ptr<EntryLog> log;  // a child's account to its parent, entry by entry
};
Current& current() {
  static Current c;
  return c;
}

PreparedEntry& prepared_for(const Entry& e, const RunConfig& cfg) {
  Current& cur = current();
  if (!cur.prepared || cur.prepared->entry().name() != e.name()) {
    cur.prepared.reset();  // free the previous entry before allocating this one
    if (cur.log) cur.log->started(e.name());
    cur.prepared = std::make_unique<PreparedEntry>(e, cfg);
    cur.statuses[e.name()] = cur.prepared->status().kind();
  }
  return *cur.prepared;
}

void bench_entry(benchmark::State& state, const Entry& e, const RunConfig& cfg) {
  PreparedEntry& p = prepared_for(e, cfg);
  if (!p.status().is_ok()) {
    state.SkipWithError(p.message().c_str());
    return;
  }
  SplitMean split;
  ContentionMeter contention;  // the timed span only: set-up and validation are not timed
  for (auto _ : state) {
    double ms = p.timed_call_ms();
    if (ms < 0) {
      current().statuses[e.name()] = p.status().kind();
      state.SkipWithError(p.message().c_str());
      break;
    }
    state.SetIterationTime(ms / 1e3);
    split.add(p.instance().call_split());
  }
  if (!p.status().is_ok()) return;
  const ContentionFigures during = contention.figures();
  // The loop's last call checked again (sampled): state kept across calls can be right on
  // the first call and wrong later. Once per run of this function (Google Benchmark runs it
  // 2.9 times per entry on average), outside the timed region. Measured on the quick cpu
  // sweep (2 cores, --benchmark_min_time=0.25): 76 ms per entry on average (a check costs
  // 12 ms linear, 23 conv2d, 82 ssim, 190 knn), 6.8 s of the sweep's 116 s.
  if (!p.check_last_call()) {
    current().statuses[e.name()] = p.status().kind();
    state.SkipWithError(p.message().c_str());
    return;
  }
  const EntryCounters counters = entry_counters(p, split.mean(), during);
  state.counters["FLOPS"] = benchmark::Counter(counters.flops, benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<int64_t>(counters.bytes) * state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(counters.items) * state.iterations());
  for (const auto& [name, value] : counters.values) state.counters[name] = value;
  if (test_fault_for(e.name()) == "nan") state.counters["planted_nan"] = std::nan("");
  state.SetLabel(counters.label);
}

// Google Benchmark appends "/manual_time" to every name; docs/contract.md's names
// are <op>/<case>/mode:<mode>/impl:<impl>/batch:<n>, so the suffix is dropped.
// With --benchmark_repetitions, the cv of a counter whose mean is 0 (knn's FLOPS, a quiet
// machine's steal_cores) is 0/0: Google Benchmark writes it as a bare -nan, which is not JSON,
// and the whole entry was lost. An undefined statistic is left out of its aggregate instead.
template <class Base>
class ContractNames : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed = runs;
    for (auto& r : renamed) {
      r.run_name.time_type.clear();
      if (r.run_type != benchmark::BenchmarkReporter::Run::RT_Aggregate) continue;
      for (auto it = r.counters.begin(); it != r.counters.end();)
        it = std::isfinite(it->second.value) ? std::next(it) : r.counters.erase(it);
    }
    Base::ReportRuns(renamed);
  }
};

// The context and runs as Google Benchmark's own JSON reporter writes them (the report reads
// those fields).
nlohmann::json serialize(const benchmark::BenchmarkReporter::Context& context,
                         const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  std::stringstream out, err;
  ContractNames<benchmark::JSONReporter> json_reporter;
  json_reporter.SetOutputStream(&out);
  json_reporter.SetErrorStream(&err);
  json_reporter.ReportContext(context);
  json_reporter.ReportRuns(runs);
  json_reporter.Finalize();
  const nlohmann::json doc = nlohmann::json::parse(out.str(), nullptr, /*allow_exceptions=*/false);
  return doc.is_discarded() ? nlohmann::json::object() : doc;
}

// The console display, which in a child also hands Google Benchmark's context (its own keys
// beside ours: the parent's file has them though it ran nothing itself) and each entry's runs
// to the entry log as soon as Google Benchmark reports them.
class ConsoleAndEntryLog : public ContractNames<benchmark::ConsoleReporter> {
 public:
  bool ReportContext(const Context& context) override {
    if (current().log) current().log->context_object(serialize(context, {}).value("context", nlohmann::json::object()));
    return ContractNames<benchmark::ConsoleReporter>::ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    ContractNames<benchmark::ConsoleReporter>::ReportRuns(runs);
    if (!current().log || runs.empty()) return;
    const nlohmann::json doc = serialize(Context(), runs);
    // Not silently an empty line: the parent would fold the entry without these records.
    if (!doc.contains("benchmarks"))
      throw EntryLogError("Google Benchmark's JSON of " + runs[0].benchmark_name() + " could not be read back");
    current().log->records(doc["benchmarks"]);
  }
};

// Google Benchmark opens --benchmark_out itself and never checks a write to it: a full disk
// left a 0-byte or truncated file, renamed over a good one with exit 0 (issue 23). It gets
// /dev/null; this reporter writes to memory instead, and the file is written whole, every
// write checked (harness/atomic_file.hpp).
// Our context facts are added to the document here, not through benchmark::AddCustomContext:
// Google Benchmark 1.7.1's Shutdown() deletes the custom context without forgetting it, so the
// second run in one process (unit tests do that) wrote into freed memory and freed it again.
class JsonInMemory : public ContractNames<benchmark::JSONReporter> {
 public:
  explicit JsonInMemory(const Facts& facts) : facts_(facts) {}
  bool ReportContext(const Context& context) override {
    SetOutputStream(&text_);  // the first call: Google Benchmark has just set its file
    return ContractNames<benchmark::JSONReporter>::ReportContext(context);
  }
  // What was reported; `error` says why it cannot be read back.
  nlohmann::ordered_json document(std::string& error) const {
    if (text_.str().empty())
      return {{"context", nlohmann::ordered_json::object()}, {"benchmarks", nlohmann::ordered_json::array()}};
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text_.str(), nullptr, /*allow_exceptions=*/false);
    if (!text_ || doc.is_discarded() || !doc.is_object()) {
      error = "Google Benchmark's JSON output could not be read back";
      return {};
    }
    if (doc["context"].is_object())
      for (const auto& [k, v] : facts_) doc["context"][k] = v;
    return doc;
  }

 private:
  const Facts& facts_;
  std::stringstream text_;
};

std::vector<char*> as_argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

std::string RunSummary::describe() const {
  std::string out;
  for (StatusKind k : {StatusKind::ok, StatusKind::unavailable, StatusKind::busy, StatusKind::not_run,
                       StatusKind::failed, StatusKind::wrong})
    out += (out.empty() ? "" : ", ") + std::to_string(count(k)) + " " + std::string(to_string(k));
  return out;
}

RunSummary run_benchmarks(const std::vector<Entry>& entries, const RunConfig& cfg, const Facts& context,
                          const std::string& json_out, std::vector<std::string> gbench_args,
                          const std::string& entry_log) {
  gbench_args.push_back("--benchmark_out=/dev/null");  // JsonInMemory writes instead
  gbench_args.push_back("--benchmark_out_format=json");
  gbench_args.insert(gbench_args.begin(), "modebench");
  int argc = static_cast<int>(gbench_args.size());
  std::vector<char*> argv = as_argv(gbench_args);
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data()))
    throw BadInput("unrecognised Google Benchmark argument");

  if (!entry_log.empty()) {
    current().log = std::make_unique<EntryLog>(entry_log);
    current().log->context(context);
  }
  for (const Entry& e : entries) {
    benchmark::RegisterBenchmark(e.name().c_str(), [e, cfg](benchmark::State& s) { bench_entry(s, e, cfg); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  ConsoleAndEntryLog display;
  JsonInMemory file(context);
  benchmark::RunSpecifiedBenchmarks(&display, &file);
  benchmark::ClearRegisteredBenchmarks();
  current().prepared.reset();
  current().log.reset();
  benchmark::Shutdown();

  RunSummary s;
  for (const auto& [name, kind] : current().statuses) s.add(kind);
  current().statuses.clear();
  s.results = file.document(s.results_error);
  if (!json_out.empty()) {
    if (!s.results_error.empty()) throw std::runtime_error("cannot write " + json_out + ": " + s.results_error);
    write_atomically(json_out, s.results.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }
  return s;
}

}  // namespace mb
