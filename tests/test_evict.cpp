// MODEBENCH_EVICT_BYTES (harness/evict.hpp): the cache state of a layer inside a whole model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/evict.hpp"
#include "harness/status.hpp"
#include "harness/subprocess.hpp"
#include "tests/support/modebench_cli.hpp"
#include "tests/support/simd_targets.hpp"

namespace mb {
namespace {

TEST(Evict, ByteCountsParseAndAnythingElseIsBadInput) {
  EXPECT_EQ(parse_evict_bytes("0"), 0u);
  EXPECT_EQ(parse_evict_bytes("150000000"), 150000000u);
  EXPECT_EQ(parse_evict_bytes("68719476736"), uint64_t{64} << 30);
  for (const char* bad : {"", "-1", "1e9", "12MB", " 5", "68719476737", "99999999999999999999999"})
    EXPECT_THROW(parse_evict_bytes(bad), BadInput) << "'" << bad << "'";
}

// End to end, in the worker child that times the entry: the label says what was done, the entry
// stays right (validated after evicting), and a malformed value is one line of bad input.
TEST(Evict, AnEvictedRunSaysSoAndAMalformedValueIsBadInput) {
  const std::string tmp = make_temp_dir("modebench-test-evict-");
  const std::string out = tmp + "/run.json";
  const CmdResult r = run_modebench(
      "run --modes cpu --impls onednn --batches 2 --shape linear:in_features=64,out_features=32 "
      "--benchmark_min_time=0.001 --out '" +
          out + "'",
      tmp, "MODEBENCH_EVICT_BYTES=4000000");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  ASSERT_TRUE(in) << r.err;
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["benchmarks"].size(), 1u);
  const auto& b = j["benchmarks"][0];
  EXPECT_FALSE(b.value("error_occurred", false)) << b.dump();
  EXPECT_EQ(label_value(b.value("label", ""), "evict_bytes"), "4000000") << b.dump();

  const CmdResult bad = run_modebench("list --ops linear", tmp, "MODEBENCH_EVICT_BYTES=12MB");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("MODEBENCH_EVICT_BYTES: '12MB' is not a byte count"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace mb
