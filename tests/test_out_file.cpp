// `run --out` is all or nothing (issue 23): the whole new file, or the old one untouched, a
// non-zero exit and one line; always the whole file, never appended to; nothing left beside it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/atomic_file.hpp"
#include "harness/run.hpp"
#include "harness/subprocess.hpp"
#include "tests/support/modebench_cli.hpp"

namespace mb {
namespace {

using nlohmann::json;

const std::string kPrevious = R"({"context": {"stale": "1"}, "benchmarks": [{"name": "stale"}]})";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(dir)) names.insert(f.path().filename().string());
  return names;
}

// A folder for --out beside run_modebench's stdout and stderr files, with a previous result.
struct OutFolder {
  std::string tmp = make_temp_dir("modebench-test-out-");
  std::string dir = tmp + "/results";
  std::string out = dir + "/run.json";
  OutFolder() {
    std::filesystem::create_directories(dir);
    std::ofstream(out) << kPrevious;
  }
  ~OutFolder() { std::filesystem::remove_all(tmp); }
};

// How many of stderr's lines are errors: a refusal or a failure is one line.
int error_lines(const std::string& err) {
  int n = 0;
  for (size_t at = err.find("modebench: error:"); at != std::string::npos; at = err.find("modebench: error:", at + 1))
    ++n;
  return n;
}

// A full disk without one: past RLIMIT_FSIZE the kernel refuses a write mid-file (EFBIG) as a
// full file system does (ENOSPC); with SIGXFSZ ignored the write fails instead of killing the
// process. Google Benchmark's own file output was never checked: the truncated file replaced
// the good one, exit 0.
TEST(OutFile, AWriteThatFailsLeavesTheOldFileAndSaysSoInOneLine) {
  OutFolder f;
  // --in-process: the cpu worker's entry log would meet the same limit first; here it is
  // --out's own write that fails.
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu --impls openblas,onednn --batches 1,2,3,4 "
      "--benchmark_min_time=0.001 --in-process --out '" +
          f.out + "'",
      f.tmp, "trap '' XFSZ; ulimit -f 4;");
  EXPECT_EQ(r.exit_code, kExitWrong) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_NE(
      r.err.find("modebench: error: cannot write " + f.out + ": File too large; " + f.out + " was left as it was\n"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(f.out), kPrevious);
  EXPECT_EQ(files_in(f.dir), std::set<std::string>{"run.json"}) << "no temp file is left";
}

// A writer killed between creating its temp file and the rename (SIGKILL) left
// `<out>.tmp<pid>` beside --out for good. The next write removes those whose process is gone
// and that are a minute old; a live writer's, a fresh one's and another target's stay.
TEST(OutFile, TempFilesOfKilledWritersAreRemovedByTheNextWrite) {
  OutFolder f;
  const auto dead_pid = [] {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return std::to_string(pid);
  };
  const std::string stale = "run.json.tmp" + dead_pid(), fresh = "run.json.tmp" + dead_pid(),
                    live = "run.json.tmp" + std::to_string(::getppid()), other = "other.json.tmp" + dead_pid();
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(5);
  for (const std::string& name : {stale, fresh, live, other}) {
    std::ofstream(f.dir + "/" + name) << "{\"partial";
    if (name != fresh) std::filesystem::last_write_time(f.dir + "/" + name, old);
  }
  write_atomically(f.out, "{}\n");
  EXPECT_EQ(slurp(f.out), "{}\n");
  EXPECT_EQ(files_in(f.dir), (std::set<std::string>{"run.json", fresh, live, other}));
}

// Output that JSON cannot hold (a NaN counter, planted by MODEBENCH_TEST_CRASH_AT=...=nan):
// in this process the run used to abort on the unreadable document (exit 134, an uncaught
// type_error); in the worker the records were silently dropped. Now: one line, exit 1;
// in-process the old file stays, and the worker's entries are folded as far as they were read.
TEST(OutFile, UnreadableGoogleBenchmarkJsonIsOneLineAndExitOneNotAnAbort) {
  const std::string run =
      "run --ops knn --cases uniform --modes cpu --impls grid --batches 10000 --benchmark_min_time=0.001 ";
  const std::string nan = "MODEBENCH_TEST_CRASH_AT='knn/*=nan'";
  OutFolder f;
  const CmdResult here = run_modebench(run + "--in-process --out '" + f.out + "'", f.tmp, nan);
  EXPECT_EQ(here.exit_code, kExitWrong) << here.err;
  EXPECT_NE(here.err.find("modebench: error: Google Benchmark's JSON output could not be read back; " + f.out +
                          " was left as it was\n"),
            std::string::npos)
      << here.err;
  EXPECT_EQ(slurp(f.out), kPrevious);
  const CmdResult worker = run_modebench(run + "--out '" + f.out + "'", f.tmp, nan);
  EXPECT_EQ(worker.exit_code, kExitWrong) << worker.err;
  EXPECT_NE(worker.err.find("modebench: error: Google Benchmark's JSON of knn/uniform/mode:cpu/impl:grid/batch:10000"),
            std::string::npos)
      << worker.err;
}

// With --benchmark_repetitions, Google Benchmark's cv of a counter whose mean is 0 (knn's
// FLOPS; steal_cores on a machine without a hypervisor) is 0/0, written as a bare `-nan`: every
// such run was lost (exit 1). The undefined statistic is left out of its aggregate; the
// repetitions and the other aggregates are all in the file, in this process and in the worker.
TEST(OutFile, RepetitionsOfAZeroCounterKeepEveryRecord) {
  const std::string run =
      "run --ops knn --cases uniform --modes cpu --impls grid --batches 10000 --benchmark_min_time=0.001 "
      "--benchmark_repetitions=2 ";
  for (const std::string where : {"--in-process ", ""}) {
    OutFolder f;
    const CmdResult r = run_modebench(run + where + "--out '" + f.out + "'", f.tmp);
    ASSERT_EQ(r.exit_code, kExitOk) << where << r.err;
    const json doc = json::parse(slurp(f.out));
    std::multiset<std::string> kinds;
    for (const json& b : doc["benchmarks"]) {
      kinds.insert(b.value("aggregate_name", "repetition"));
      const std::string aggregate = b.value("aggregate_name", "");
      if (aggregate == "cv") {
        EXPECT_FALSE(b.contains("FLOPS")) << b.dump();
      } else if (aggregate == "mean") {
        EXPECT_EQ(b["FLOPS"], 0.0) << b.dump();
      }
    }
    EXPECT_EQ(kinds, (std::multiset<std::string>{"repetition", "repetition", "mean", "median", "stddev", "cv"}))
        << where;
  }
}

// Whether every entry ran in a child (ptx-jit), or some here and some in a child, the file
// holds this run's entries, each once, and none of the old file's.
TEST(OutFile, EveryRunRewritesTheWholeFileWhereverItsEntriesRan) {
  const std::string base = "linear/square_1024/mode:";
  for (const auto& [modes, impls, expected] :
       {std::tuple<std::string, std::string, std::multiset<std::string>>{
            "ptx-jit", "cublas", {base + "ptx-jit/impl:cublas/batch:1"}},
        {"cpu,ptx-jit",
         "openblas,cublas",
         {base + "cpu/impl:openblas/batch:1", base + "ptx-jit/impl:cublas/batch:1"}}}) {
    OutFolder f;
    for (int run = 0; run < 2; ++run) {
      const CmdResult r = run_modebench("run --ops linear --cases square_1024 --modes " + modes + " --impls " + impls +
                                            " --batches 1 --benchmark_min_time=0.001 --out '" + f.out + "'",
                                        f.tmp);
      EXPECT_EQ(r.exit_code, kExitOk) << modes << ": " << r.err;
      const json j = json::parse(slurp(f.out), nullptr, false);
      ASSERT_TRUE(j.is_object()) << slurp(f.out);
      std::multiset<std::string> names;
      for (const auto& b : j["benchmarks"]) names.insert(b.value("name", ""));
      EXPECT_EQ(names, expected) << modes << ", run " << run;
      EXPECT_FALSE(j["context"].contains("stale")) << modes;
      EXPECT_EQ(files_in(f.dir), std::set<std::string>{"run.json"}) << modes << ": nothing left beside --out";
    }
  }
}

// A run that produces no entry leaves --out as it was (--benchmark_list_tests and
// --benchmark_repetitions=0 replaced it with an empty file, exit 0).
TEST(OutFile, ARunThatProducesNoEntryLeavesItAsItWas) {
  OutFolder f;
  const std::string run =
      "run --ops linear --cases square_1024 --modes cpu,ptx-jit --impls openblas,cublas --batches 1 "
      "--benchmark_min_time=0.001 --out '" +
      f.out + "' ";
  const CmdResult list = run_modebench(run + "--benchmark_list_tests=true", f.tmp);
  EXPECT_EQ(list.exit_code, kExitOk) << list.err;
  EXPECT_EQ(list.out,
            "linear/square_1024/mode:cpu/impl:openblas/batch:1\n"
            "linear/square_1024/mode:ptx-jit/impl:cublas/batch:1\n")
      << "every entry, as `list`: the child's too";
  EXPECT_EQ(list.err, "modebench: --benchmark_list_tests: nothing was run, " + f.out + " was left as it was\n");
  EXPECT_EQ(slurp(f.out), kPrevious);
  for (const std::string repetitions : {"0", "-1", "2x"}) {
    const CmdResult none = run_modebench(run + "--benchmark_repetitions=" + repetitions, f.tmp);
    EXPECT_EQ(none.exit_code, kExitBadInput) << none.err;
    EXPECT_EQ(none.err, "modebench: error: --benchmark_repetitions must be a whole number of at least 1, got '" +
                            repetitions + "'\n");
    EXPECT_EQ(none.out, "") << "refused before any work";
    EXPECT_EQ(slurp(f.out), kPrevious);
  }
  EXPECT_EQ(files_in(f.dir), std::set<std::string>{"run.json"});
}

// --out in a folder that does not exist yet: it is created (a child could not create its
// entry log there and aborted: its entries were failed and not_run, exit 1).
TEST(OutFile, AFolderThatDoesNotExistIsCreated) {
  OutFolder f;
  const std::string dir = f.tmp + "/new/deeper", out = dir + "/run.json";
  const CmdResult r = run_modebench(
      "run --ops linear --cases square_1024 --modes cpu,ptx-jit --impls openblas,cublas --batches 1 "
      "--benchmark_min_time=0.001 --out '" +
          out + "'",
      f.tmp);
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  const json j = json::parse(slurp(out), nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.err;
  EXPECT_EQ(j["benchmarks"].size(), 2u) << j.dump(1);
  for (const auto& b : j["benchmarks"]) {
    const std::string message = b.value("error_message", "ok");
    EXPECT_FALSE(message.starts_with("failed") || message.starts_with("not_run")) << message;
  }
  EXPECT_EQ(files_in(dir), std::set<std::string>{"run.json"});
}

// Bad --out paths are refused before any work with one line, exit 2 (an uncaught
// filesystem_error aborted the run; for a folder, after the whole run).
TEST(OutFile, AnUnwritablePathIsRefusedBeforeAnyWork) {
  OutFolder f;
  const std::string fifo = f.tmp + "/fifo";  // not a regular file (as /dev/null, whose rename would replace it)
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto refused = [&](const std::string& out, const std::string& why, const std::string& as_user = "") {
    const CmdResult r = run_modebench(
        "run --ops linear --cases square_1024 --modes cpu --impls openblas --batches 1 --benchmark_min_time=0.001 "
        "--out '" +
            out + "'",
        f.tmp, as_user);
    EXPECT_EQ(r.exit_code, kExitBadInput) << out << ": " << r.err;
    EXPECT_EQ(r.err, "modebench: error: --out: cannot write " + out + ": " + why + "\n");
    EXPECT_EQ(r.out, "") << out << ": refused before any work";
  };
  refused(f.dir, "it is a folder");
  refused(f.out + "/x.json", "cannot create its folder " + f.out + ": Not a directory");
  refused(fifo, "it is not a regular file");
  EXPECT_EQ(slurp(f.out), kPrevious);
  EXPECT_EQ(files_in(f.dir), std::set<std::string>{"run.json"});

  // A read-only folder; root writes anywhere, so there the command runs as nobody.
  const std::string read_only = f.tmp + "/read-only";
  std::filesystem::create_directories(read_only);
  std::filesystem::permissions(f.tmp, std::filesystem::perms(0755));
  std::filesystem::permissions(read_only, std::filesystem::perms(0555));
  const bool root = ::geteuid() == 0;
  if (root && std::system("setpriv --version > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "as root without setpriv: cannot test a read-only folder";
  refused(read_only + "/run.json", "Permission denied",
          root ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "");
  EXPECT_TRUE(std::filesystem::is_empty(read_only));
}

}  // namespace
}  // namespace mb
