// modebench-torch's own timing loop (providers/torch/entry_loop.hpp): the Google Benchmark flags it
// honours and the shape of its records, which the parent folds next to Google Benchmark's own.
#include <gtest/gtest.h>

#include "harness/status.hpp"
#include "providers/torch/entry_loop.hpp"

namespace mb {
namespace {

TEST(TorchLoop, MinTimeAndRepetitions) {
  LoopOptions o = parse_loop_options({"--benchmark_min_time=0.25s", "--benchmark_repetitions=3",
                                      "--benchmark_filter=^(linear/a|knn/b)(/[a-z_]+)?$", "--benchmark_color=false"});
  EXPECT_DOUBLE_EQ(o.min_time_s, 0.25);
  EXPECT_EQ(o.repetitions, 3);
  EXPECT_DOUBLE_EQ(parse_loop_options({"--benchmark_min_time=0.01"}).min_time_s, 0.01);
  EXPECT_EQ(parse_loop_options({"--benchmark_min_time=7x"}).fixed_iterations, 7);
  const LoopOptions defaults = parse_loop_options({});
  EXPECT_DOUBLE_EQ(defaults.min_time_s, 0.5);  // Google Benchmark's
  EXPECT_EQ(defaults.repetitions, 1);
}

TEST(TorchLoop, MalformedFlagsAreBadInput) {
  for (const char* flag :
       {"--benchmark_min_time=soon", "--benchmark_min_time=-1", "--benchmark_min_time=0x", "--benchmark_repetitions=0"})
    EXPECT_THROW(parse_loop_options({flag}), BadInput) << flag;
}

// The fields the report reads from Google Benchmark's records (report/modebench_report/load.py).
TEST(TorchLoop, RecordsHaveGoogleBenchmarksShape) {
  const nlohmann::json t = timed_record("linear/a/mode:cpu/impl:torch/batch:8", 40, 12.5, 20.0,
                                        {{"FLOPS", 1e9}, {"max_err", 1e-7}, {"label", "math=fp32"}}, 1, 2);
  EXPECT_EQ(t["name"], "linear/a/mode:cpu/impl:torch/batch:8");
  EXPECT_EQ(t["run_name"], t["name"]);
  EXPECT_EQ(t["run_type"], "iteration");
  EXPECT_EQ(t["repetitions"], 2);
  EXPECT_EQ(t["repetition_index"], 1);
  EXPECT_EQ(t["iterations"], 40);
  EXPECT_DOUBLE_EQ(t["real_time"].get<double>(), 12.5);
  EXPECT_EQ(t["time_unit"], "us");
  EXPECT_EQ(t["label"], "math=fp32");
  EXPECT_DOUBLE_EQ(t["FLOPS"].get<double>(), 1e9);
  EXPECT_FALSE(t.contains("error_occurred"));

  const nlohmann::json e = error_record("knn/b/mode:gpu/impl:torch/batch:4", "unavailable: no CUDA device");
  EXPECT_EQ(e["error_occurred"], true);
  EXPECT_EQ(e["error_message"], "unavailable: no CUDA device");
  EXPECT_EQ(e["iterations"], 0);
  EXPECT_EQ(e["run_type"], "iteration");
}

}  // namespace
}  // namespace mb
