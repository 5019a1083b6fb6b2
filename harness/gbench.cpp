#include "harness/gbench.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "harness/status.hpp"

namespace mb {
namespace {

// Only one entry's buffers are alive at a time; Google Benchmark calls the
// same function several times (iteration estimate, repetitions), so the
// prepared entry is kept until the next entry starts.
struct Current {
  std::unique_ptr<PreparedEntry> prepared;
  std::map<std::string, StatusKind> statuses;
};
Current& current() {
  static Current c;
  return c;
}

PreparedEntry& prepared_for(const Entry& e, const RunConfig& cfg) {
  Current& cur = current();
  if (!cur.prepared || cur.prepared->entry().name() != e.name()) {
    cur.prepared.reset();  // free the previous entry before allocating this one
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
  CallSplit split_sum;
  int64_t split_calls = 0;
  for (auto _ : state) {
    double ms = p.timed_call_ms();
    if (ms < 0) {
      current().statuses[e.name()] = p.status().kind();
      state.SkipWithError(p.message().c_str());
      break;
    }
    state.SetIterationTime(ms / 1e3);
    if (const std::optional<CallSplit> s = p.instance().call_split()) {
      split_sum += *s;
      ++split_calls;
    }
  }
  if (!p.status().is_ok()) return;
  const OpCase& c = *e.op_case;
  state.counters["FLOPS"] = benchmark::Counter(c.flops(e.batch), benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<int64_t>(c.bytes(e.batch)) * state.iterations());
  state.SetItemsProcessed(e.batch * state.iterations());
  state.counters["max_err"] = p.validation().max_err;
  state.counters["tolerance"] = p.validation().tolerance;
  if (spec_of(e.mode).compute == Side::device) {
    state.counters["first_call_ms"] = p.first_call_ms();
    state.counters["setup_ms"] = p.setup_ms();
  }
  if (split_calls > 0) {  // hybrid: means over the timed calls
    state.counters["copy_in_ms"] = split_sum.copy_in_ms / static_cast<double>(split_calls);
    state.counters["compute_ms"] = split_sum.compute_ms / static_cast<double>(split_calls);
    state.counters["copy_out_ms"] = split_sum.copy_out_ms / static_cast<double>(split_calls);
    state.counters["transfer_fraction"] = split_sum.transfer_fraction();
  }
  state.SetLabel(p.label());
}

// Google Benchmark appends "/manual_time" to every name; contract.md's names
// are <op>/<case>/mode:<mode>/impl:<impl>/batch:<n>, so the suffix is dropped.
template <class Base>
class ContractNames : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed = runs;
    for (auto& r : renamed) r.run_name.time_type.clear();
    Base::ReportRuns(renamed);
  }
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

void write_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  fs::path tmp = target;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, target);
}

RunSummary run_benchmarks(const std::vector<Entry>& entries, const RunConfig& cfg, const Facts& context,
                          const std::string& json_out, std::vector<std::string> gbench_args) {
  namespace fs = std::filesystem;
  std::string tmp_out;
  if (!json_out.empty()) {
    fs::path target(json_out);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    tmp_out = json_out + ".partial" + std::to_string(::getpid());
    gbench_args.push_back("--benchmark_out=" + tmp_out);
    gbench_args.push_back("--benchmark_out_format=json");
  }
  gbench_args.insert(gbench_args.begin(), "modebench");
  int argc = static_cast<int>(gbench_args.size());
  std::vector<char*> argv = as_argv(gbench_args);
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data()))
    throw BadInput("unrecognised Google Benchmark argument");

  for (const auto& [k, v] : context) benchmark::AddCustomContext(k, v);
  for (const Entry& e : entries) {
    benchmark::RegisterBenchmark(e.name().c_str(), [e, cfg](benchmark::State& s) { bench_entry(s, e, cfg); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  ContractNames<benchmark::ConsoleReporter> display;
  ContractNames<benchmark::JSONReporter> file;
  benchmark::RunSpecifiedBenchmarks(&display, tmp_out.empty() ? nullptr : &file);
  benchmark::ClearRegisteredBenchmarks();
  current().prepared.reset();
  benchmark::Shutdown();

  if (!tmp_out.empty()) fs::rename(tmp_out, json_out);

  RunSummary s;
  for (const auto& [name, kind] : current().statuses) s.add(kind);
  current().statuses.clear();
  return s;
}

void fold_child_results(const std::string& json_path, const std::string& child_json, const std::vector<Entry>& expected,
                        const Status& missing, const Facts& context) {
  namespace fs = std::filesystem;
  auto load = [](const std::string& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  };
  nlohmann::json child = fs::exists(child_json) ? load(child_json) : nlohmann::json();
  if (child.is_discarded() || !child.is_object()) child = nlohmann::json::object();

  nlohmann::json base;
  if (fs::exists(json_path)) {
    base = load(json_path);
    if (base.is_discarded()) throw std::runtime_error("cannot parse " + json_path);
  } else if (child.contains("context")) {
    base = {{"context", child["context"]}, {"benchmarks", nlohmann::json::array()}};
  } else {
    base = {{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}};
    for (const auto& [k, v] : context) base["context"][k] = v;
  }
  for (const auto& [k, v] : context)
    if (!base["context"].contains(k)) base["context"][k] = v;

  std::set<std::string> reported;
  for (auto& b : child.value("benchmarks", nlohmann::json::array())) {
    reported.insert(b.value("run_name", b.value("name", "")));
    base["benchmarks"].push_back(b);
  }
  for (const Entry& e : expected) {
    if (reported.count(e.name())) continue;
    base["benchmarks"].push_back({{"name", e.name()},
                                  {"run_name", e.name()},
                                  {"run_type", "iteration"},
                                  {"repetitions", 1},
                                  {"repetition_index", 0},
                                  {"threads", 1},
                                  {"iterations", 0},
                                  {"real_time", 0},
                                  {"cpu_time", 0},
                                  {"time_unit", "us"},
                                  {"error_occurred", true},
                                  {"error_message", missing.text()}});
  }
  write_atomically(json_path, base.dump(2) + "\n");
}

}  // namespace mb
