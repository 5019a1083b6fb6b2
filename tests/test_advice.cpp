// Advice as a pure function of the facts: table-driven, one row per situation
// of issue 4 plus the edge cases; each checks the rule fired and names its fix.
#include <gtest/gtest.h>

#include <algorithm>

#include "probe/advice.hpp"

namespace mb {
namespace {

struct AdviceCase {
  const char* name;
  AdviceInput in;
  const char* expect_id;
  std::vector<const char*> expect_text;  // substrings of that advice (the fix, the numbers)
  std::vector<const char*> absent_ids;
};

AdviceInput gpu_box(int cc, const char* archs, int toolkit, int driver, int branch = 0) {
  AdviceInput in;
  in.toolkit = toolkit;
  in.built = parse_arch_list(archs);
  in.driver = driver;
  in.driver_branch = branch;
  in.device_ccs = {cc};
  return in;
}

MatrixFinding row(const char* op, const char* mode, const char* impl, const char* status, const char* cls = "") {
  const std::string text = std::string(status) == "ok"       ? std::string("ok")
                           : std::string(status) == "failed" ? std::string("failed: ") + cls + ": detail"
                           : std::string(status) == "wrong"  ? std::string("wrong: max_err=1 tolerance=0.0001")
                                                             : std::string(status) + ": detail";
  return {op, "c", mode, impl, Status::parse(text).value()};
}

AdviceInput cudnn_jit_case() {
  AdviceInput in = gpu_box(89, "75-real;80-real;89-real;75-virtual", 12080, 12080);
  in.cudnn = 91000;
  in.cudnn_max_device_cc = 120;
  in.matrix = {row("linear", "ptx-jit", "cublas", "ok"), row("conv2d", "ptx-jit", "cudnn", "failed", "no_kernel_image"),
               row("linear", "gpu", "cublas", "ok")};
  return in;
}

AdviceInput no_driver_case() {
  AdviceInput in;
  in.toolkit = 13000;
  in.built = parse_arch_list("75-real 80-real 90-real 100-real 110-real 120-real 75-virtual");
  in.matrix = {row("linear", "cpu", "openblas", "ok"), row("linear", "gpu", "cublas", "unavailable")};
  return in;
}

const AdviceCase kCases[] = {
    {"sm120_sass_to_90_ptx_75",
     gpu_box(120, "50-real;60-real;70-real;80-real;90-real;75-virtual", 12080, 12080, 570),
     "jit_from_ptx",
     {"sm_120", "compute_75", "sm_90", "cold", "CMAKE_CUDA_ARCHITECTURES=120"},
     {"no_kernel_image", "native_exact", "driver_too_old_for_arch"}},
    {"toolkit13_sm61",
     gpu_box(61, "75-real;80-real;75-virtual", 13000, 13000, 580),
     "toolkit_dropped_arch",
     {"CUDA 13.0", "sm_61", "12.x toolkit <= 12.9"},
     {"jit_from_ptx"}},
    {"driver565_sm120",
     gpu_box(120, "120-real;75-virtual", 12080, 12070, 565),
     "driver_too_old_for_arch",
     {"565", "570", ">= 570.26"},
     {}},
    {"driver_cuda_version_only_sm120",
     gpu_box(120, "120-real;75-virtual", 12080, 12070),
     "driver_too_old_for_arch",
     {"CUDA 12.7", "570"},
     {}},
    {"cudnn_fails_forced_jit_cublas_works",
     cudnn_jit_case(),
     "cudnn_fails_forced_jit",
     {"conv2d", "cpu or hybrid", "upgrade cuDNN", "sm_120"},
     {}},
    {"maxwell_sm50_toolkit13",
     gpu_box(50, "75-real;90-real;75-virtual", 13000, 13000, 580),
     "toolkit_dropped_arch",
     {"sm_50", "12.x toolkit <= 12.9", "R580"},
     {"jit_from_ptx", "no_kernel_image"}},
    {"sm90a_only_on_sm90",
     gpu_box(90, "90a-real", 12080, 12080),
     "native_exact",
     {"sm_90a", "nothing to fix"},
     {"no_kernel_image"}},
    {"sm90a_only_on_sm100",
     gpu_box(100, "90a-real", 12080, 12080),
     "no_kernel_image",
     {"sm_90a", "exactly CC 9.0", "CMAKE_CUDA_ARCHITECTURES=100-real", "-virtual"},
     {"native_exact"}},
    {"sm90a_only_has_no_ptx", gpu_box(90, "90a-real", 12080, 12080), "ptx_jit_impossible", {"-virtual"}, {}},
    {"ptx_newer_than_driver",
     gpu_box(120, "80-real;90-real;80-virtual", 12090, 12080, 570),
     "unsupported_ptx",
     {"CUDA 12.9", "12.8", ">= 575.51.03"},
     {"insufficient_driver"}},
    {"exact_sass_match",
     gpu_box(86, "75-real;86-real;75-virtual", 12080, 12080),
     "native_exact",
     {"sm_86", "exact match"},
     {"jit_from_ptx", "unsupported_ptx", "ptx_jit_impossible"}},
    {"older_minor_sass",
     gpu_box(86, "75-real;80-real;75-virtual", 12080, 12080),
     "native_compatible",
     {"sm_80", "86-real"},
     {"jit_from_ptx"}},
    {"no_driver",
     no_driver_case(),
     "no_driver",
     {"No NVIDIA driver", "cpu mode works", "580.65.06"},
     {"insufficient_driver", "jit_from_ptx"}},
    {"no_driver_cpu_rows_ok", no_driver_case(), "cpu_works", {"cpu mode works"}, {}},
    {"driver_older_than_runtime_major",
     gpu_box(89, "89-real", 13000, 12080, 570),
     "insufficient_driver",
     {"CUDA 12.8", "13.0", ">= 580.65.06"},
     {"native_exact"}},
    {"driver_but_no_device",
     [] {
       AdviceInput in = gpu_box(0, "80-real", 12080, 12080);
       in.device_ccs.clear();
       return in;
     }(),
     "no_device",
     {"CUDA_VISIBLE_DEVICES", "cpu mode"},
     {}},
    {"cudnn_forward_compat",
     [] {
       AdviceInput in = gpu_box(120, "120-real", 12080, 12080);
       in.cudnn = 90100;
       in.cudnn_max_device_cc = 90;
       return in;
     }(),
     "cudnn_forward_compat",
     {"9.1.0", "sm_90", "CUDNN_FORWARD_COMPAT_DISABLE"},
     {}},
    {"cudnn_912_drops_pascal",
     [] {
       AdviceInput in = gpu_box(61, "61-real", 12090, 12090);
       in.cudnn = 91200;
       return in;
     }(),
     "cudnn_dropped_arch",
     {"7.5", "cuDNN <= 9.11"},
     {}},
    {"toolkit_126_cannot_target_sm120",
     gpu_box(120, "90-real;90-virtual", 12060, 12080),
     "toolkit_too_old_for_arch",
     {">= 12.8", "120-real"},
     {}},
    {"wrong_row",
     [] {
       AdviceInput in = gpu_box(80, "80-real", 12080, 12080);
       in.matrix = {row("ssim", "gpu", "fused", "wrong")};
       return in;
     }(),
     "wrong_result",
     {"ssim", "do not use it"},
     {"cpu_works"}},
    {"timeout_row",
     [] {
       AdviceInput in = gpu_box(80, "80-real", 12080, 12080);
       in.matrix = {row("knn", "gpu", "exact", "failed", "timeout"), row("knn", "gpu", "chunked", "failed", "timeout")};
       return in;
     }(),
     "rows_failed",
     {"2 gpu row(s)", "timeout", "probe again"},
     {}},
    {"built_without_cuda",
     [] {
       AdviceInput in;
       in.built_with_cuda = false;
       return in;
     }(),
     "no_cuda_build",
     {"-DMODEBENCH_CUDA=ON"},
     {"insufficient_driver"}},
};

class AdviceTable : public ::testing::TestWithParam<AdviceCase> {};

TEST_P(AdviceTable, RuleFiresAndNamesItsFix) {
  const AdviceCase& c = GetParam();
  const auto advice = advise(c.in);
  std::string all;
  for (const auto& a : advice) all += "  [" + a.id + "] " + a.text + "\n";
  auto it = std::find_if(advice.begin(), advice.end(), [&](const Advice& a) { return a.id == c.expect_id; });
  ASSERT_NE(it, advice.end()) << "no '" << c.expect_id << "' in:\n" << all;
  for (const char* s : c.expect_text)
    EXPECT_NE(it->text.find(s), std::string::npos) << "'" << s << "' not in: " << it->text;
  for (const char* id : c.absent_ids)
    EXPECT_TRUE(std::none_of(advice.begin(), advice.end(), [&](const Advice& a) { return a.id == id; }))
        << "unexpected '" << id << "' in:\n"
        << all;
}

INSTANTIATE_TEST_SUITE_P(Cases, AdviceTable, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(AdviceVersions, CudnnMaxDeviceEncodings) {
  EXPECT_EQ(cudnn_max_device_cc(1200), 120);
  EXPECT_EQ(cudnn_max_device_cc(900), 90);
  EXPECT_EQ(cudnn_max_device_cc(121), 121);
  EXPECT_EQ(cudnn_max_device_cc(0), 0);
}

TEST(AdviceRules, EverySentenceIsNonEmptyWithAnId) {
  for (const auto& c : kCases)
    for (const auto& a : advise(c.in)) {
      EXPECT_FALSE(a.id.empty()) << c.name;
      EXPECT_GT(a.text.size(), 20u) << c.name << " " << a.id;
    }
}

}  // namespace
}  // namespace mb
