// A small torch run of every op on the CPU, end to end: modebench routes the torch entries to
// modebench-torch beside it, folds its records into the same JSON with torch's facts in the
// context, and its device entries are unavailable here with torch's reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/subprocess.hpp"
#include "tests/support/modebench_cli.hpp"

namespace mb {
namespace {

using nlohmann::json;

struct RunResult {
  CmdResult cmd;
  json doc;
  std::map<std::string, std::string> status;  // name -> "ok" or the error message
};

RunResult run(const std::string& args) {
  const std::string tmp = make_temp_dir("modebench-test-torch-");
  const std::string out = tmp + "/run.json";
  RunResult r;
  r.cmd = run_modebench("run " + args + " --benchmark_min_time=0.01 --out '" + out + "'", tmp);
  std::ifstream in(out);
  if (in) r.doc = json::parse(in);
  for (const auto& b : r.doc.value("benchmarks", json::array()))
    r.status[b["name"]] = b.value("error_message", std::string("ok"));
  std::filesystem::remove_all(tmp);
  return r;
}

TEST(TorchRun, LinearNextToTheHarnessImplsWithTorchFactsInTheContext) {
  const RunResult r =
      run("--ops linear --cases square_1024 --modes cpu,gpu --impls openblas,torch,cublas --batches 1,8");
  ASSERT_EQ(r.cmd.exit_code, 0) << r.cmd.err;
  for (const char* b : {"1", "8"}) {
    EXPECT_EQ(r.status.at(std::string("linear/square_1024/mode:cpu/impl:torch/batch:") + b), "ok");
    EXPECT_EQ(r.status.at(std::string("linear/square_1024/mode:cpu/impl:openblas/batch:") + b), "ok");
  }
  const std::string gpu = r.status.at("linear/square_1024/mode:gpu/impl:torch/batch:1");
  EXPECT_TRUE(gpu.starts_with("unavailable: torch ")) << gpu;
  const json& ctx = r.doc["context"];
  for (const char* key :
       {"torch_version", "torch_cuda", "torch_cudnn", "torch_arch_list", "torch_blas", "torch_threads", "torch_device"})
    EXPECT_TRUE(ctx.contains(key)) << key;
  EXPECT_TRUE(ctx.contains("caches"));  // the parent's (Google Benchmark's) context is the base
  for (const auto& b : r.doc["benchmarks"])
    if (b["name"] == "linear/square_1024/mode:cpu/impl:torch/batch:8") {
      EXPECT_GT(b["FLOPS"].get<double>(), 0.0);
      EXPECT_GT(b["iterations"].get<int64_t>(), 0);
      EXPECT_LE(b["max_err"].get<double>(), b["tolerance"].get<double>());
      EXPECT_NE(b["label"].get<std::string>().find("torch=host"), std::string::npos) << b["label"];
    }
}

TEST(TorchRun, Conv2dSsimAndTheModel) {
  for (const char* args : {"--ops conv2d --cases mbv2_depthwise --batches 1", "--ops ssim --cases nerf_800 --batches 1",
                           "--ops conv1d --cases xtts_hifigan_s3_k3_d3 --batches 1", "--ops model --batches 1"}) {
    const RunResult r = run(std::string(args) + " --modes cpu,hybrid --impls torch,torch_naive,torch_cached");
    EXPECT_EQ(r.cmd.exit_code, 0) << args << ": " << r.cmd.err;
    int ok = 0;
    for (const auto& [name, status] : r.status) {
      if (name.find("mode:cpu") != std::string::npos) {
        EXPECT_EQ(status, "ok") << name;
        ++ok;
      } else {
        EXPECT_TRUE(status.starts_with("unavailable: ")) << name << ": " << status;
      }
    }
    EXPECT_EQ(ok, 1) << args;
    EXPECT_EQ(r.status.size(), 3u) << args;
  }
}

// cdist as people call it comes out wrong (exit 1, as any wrong result); the exact mode is right.
TEST(TorchRun, KnnTheDefaultCdistIsWrongTheExactOneRight) {
  const RunResult r = run("--ops knn --cases clustered --modes cpu --impls torch,torch_exact --batches 2000");
  EXPECT_EQ(r.cmd.exit_code, 1) << r.cmd.err;
  EXPECT_EQ(r.status.at("knn/clustered/mode:cpu/impl:torch_exact/batch:2000"), "ok");
  EXPECT_TRUE(r.status.at("knn/clustered/mode:cpu/impl:torch/batch:2000").starts_with("wrong: max_err="));
}

// The probe's matrix has torch rows, run by modebench-torch (probe --row); here the cpu rows
// validate and the device rows are unavailable without a process.
TEST(TorchRun, TheProbeMatrixHasTorchRows) {
  const std::string tmp = make_temp_dir("modebench-test-torch-probe-");
  const std::string path = tmp + "/probe.json";
  const CmdResult r = run_modebench(
      "probe --no-bandwidth --ops linear,model --modes cpu,gpu --impls torch,openblas --json '" + path + "'", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(path);
  const json j = json::parse(in);
  std::map<std::string, json> rows;
  for (const auto& row : j.at("matrix"))
    rows[row["op"].get<std::string>() + "/" + row["mode"].get<std::string>() + "/" + row["impl"].get<std::string>()] =
        row;
  for (const char* cpu : {"linear/cpu/torch", "model/cpu/torch", "linear/cpu/openblas"}) {
    ASSERT_TRUE(rows.count(cpu)) << cpu << " in " << j.at("matrix").dump(1);
    EXPECT_EQ(rows[cpu]["status"], "ok") << rows[cpu].dump();
    EXPECT_GT(rows[cpu]["cold_start_ms"].get<double>(), 0.0);
  }
  ASSERT_TRUE(rows.count("model/gpu/torch"));
  EXPECT_EQ(rows["model/gpu/torch"]["status"], "unavailable");
  // The torch section: the provider's facts; without a device, how to judge its binaries.
  const json& torch = j.at("torch");
  EXPECT_EQ(torch["built"], true);
  const std::string arch_list = torch["facts"].at("torch_arch_list");
  EXPECT_EQ(arch_list, MODEBENCH_TORCH_ARCH_LIST);
  const std::string lib = torch["facts"].at("torch_lib").get<std::string>() + "/libtorch_cuda.so";
  const std::string note = torch.at("binaries_note");
  if (arch_list == "none")
    EXPECT_NE(note.find("CPU-only"), std::string::npos) << note;
  else
    EXPECT_NE(note.find("modebench probe --binary " + lib + " --arch-list '" + arch_list + "'"), std::string::npos)
        << note;
  EXPECT_NE(r.out.find("Torch (the torch provider)"), std::string::npos) << r.out;
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace mb
