// Which image a device loads, by docs/cuda-facts.md's rules, on hand-written arch lists.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cuda_rules/arch.hpp"

namespace mb {
namespace {

TEST(ArchParse, CmakeStyleList) {
  const auto t = parse_arch_list("75-real;80-real;75-virtual");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], (ArchTarget{75, '\0', true}));
  EXPECT_EQ(t[1], (ArchTarget{80, '\0', true}));
  EXPECT_EQ(t[2], (ArchTarget{75, '\0', false}));
}

TEST(ArchParse, SpaceSeparatedAsBuildInfoWritesIt) {
  const auto t = parse_arch_list("75-real 120-real 75-virtual");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1].cc, 120);
  EXPECT_EQ(describe(t), "SASS sm_75 sm_120; PTX compute_75");
}

TEST(ArchParse, PlainNumberMeansSassAndPtx) {
  const auto t = parse_arch_list("86");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_TRUE(t[0].sass);
  EXPECT_FALSE(t[1].sass);
  EXPECT_EQ(t[1].name(), "compute_86");
}

TEST(ArchParse, SuffixesAndNvccNames) {
  const auto t = parse_arch_list("90a-real,sm_100f compute_120f 90a-virtual");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].name(), "sm_90a");
  EXPECT_EQ(t[1].name(), "sm_100f");
  EXPECT_EQ(t[2].name(), "compute_120f");
  EXPECT_EQ(t[3].name(), "compute_90a");
}

TEST(ArchParse, DuplicatesCollapse) { EXPECT_EQ(parse_arch_list("80-real;80-real;80").size(), 2u); }

TEST(ArchParse, RejectsMalformedAndSymbolicEntries) {
  EXPECT_THROW(parse_arch_list("sm_x"), std::invalid_argument);
  EXPECT_THROW(parse_arch_list("90b-real"), std::invalid_argument);
  EXPECT_THROW(parse_arch_list("native"), std::invalid_argument);
  EXPECT_THROW(parse_arch_list("all-major"), std::invalid_argument);
  EXPECT_TRUE(parse_arch_list("").empty());
}

TEST(ArchRules, SassSameMajorMinorUpOnly) {
  const ArchTarget sm80{80, '\0', true}, sm86{86, '\0', true}, sm90{90, '\0', true};
  EXPECT_TRUE(sass_runs_on(sm80, 86));
  EXPECT_TRUE(sass_runs_on(sm80, 89));
  EXPECT_FALSE(sass_runs_on(sm86, 80));
  EXPECT_FALSE(sass_runs_on(sm90, 120));
  EXPECT_FALSE(sass_runs_on(ArchTarget{100, '\0', true}, 120));
}

TEST(ArchRules, PtxAcrossMajorsNeverDownward) {
  const ArchTarget c75{75, '\0', false}, c120{120, '\0', false};
  EXPECT_TRUE(ptx_jits_for(c75, 75));
  EXPECT_TRUE(ptx_jits_for(c75, 120));
  EXPECT_FALSE(ptx_jits_for(c120, 90));
  EXPECT_FALSE(ptx_jits_for(ArchTarget{75, '\0', true}, 75));  // SASS is not PTX
}

TEST(ArchRules, ArchSpecificIsExactOnly) {
  EXPECT_TRUE(sass_runs_on(ArchTarget{90, 'a', true}, 90));
  EXPECT_FALSE(sass_runs_on(ArchTarget{90, 'a', true}, 100));
  EXPECT_FALSE(ptx_jits_for(ArchTarget{90, 'a', false}, 100));
}

TEST(ArchRules, FamilyIsSameMajorOnly) {
  const ArchTarget f120{120, 'f', false};
  EXPECT_TRUE(ptx_jits_for(f120, 120));
  EXPECT_TRUE(ptx_jits_for(f120, 121));
  EXPECT_FALSE(ptx_jits_for(f120, 130));  // a plain compute_120 would JIT here
  EXPECT_TRUE(ptx_jits_for(ArchTarget{120, '\0', false}, 130));
  EXPECT_TRUE(sass_runs_on(ArchTarget{100, 'f', true}, 103));
  EXPECT_FALSE(sass_runs_on(ArchTarget{103, 'f', true}, 100));
}

TEST(ArchChoice, ExactSassWins) {
  const auto c = choose_image(parse_arch_list("75-real;80-real;86-real;75-virtual"), 86);
  EXPECT_EQ(c.kind, ImageKind::sass);
  EXPECT_EQ(c.target->name(), "sm_86");
  EXPECT_TRUE(c.exact);
}

TEST(ArchChoice, OlderMinorSassBeforePtx) {
  const auto c = choose_image(parse_arch_list("75-real;80-real;75-virtual"), 89);
  EXPECT_EQ(c.kind, ImageKind::sass);
  EXPECT_EQ(c.target->name(), "sm_80");
  EXPECT_FALSE(c.exact);
}

TEST(ArchChoice, NewerMajorFallsBackToHighestPtx) {
  const auto c = choose_image(parse_arch_list("50-real;60-real;70-real;80-real;90-real;50-virtual;75-virtual"), 120);
  EXPECT_EQ(c.kind, ImageKind::ptx);
  EXPECT_EQ(c.target->name(), "compute_75");
}

TEST(ArchChoice, ForcedJitIgnoresSass) {
  const auto built = parse_arch_list("75-real;80-real;75-virtual");
  EXPECT_EQ(choose_image(built, 80, true).kind, ImageKind::ptx);
  EXPECT_EQ(choose_image(parse_arch_list("80-real"), 80, true).kind, ImageKind::none);
}

TEST(ArchChoice, Sm90aOnlyBinary) {
  const auto built = parse_arch_list("90a-real");
  EXPECT_EQ(choose_image(built, 90).kind, ImageKind::sass);
  EXPECT_EQ(choose_image(built, 100).kind, ImageKind::none);
  EXPECT_NE(choose_image(built, 100).reason.find("NoKernelImage"), std::string::npos);
}

TEST(ArchChoice, NothingUsable) {
  EXPECT_EQ(choose_image(parse_arch_list("120-virtual"), 90).kind, ImageKind::none);
  EXPECT_EQ(choose_image({}, 90).kind, ImageKind::none);
}

TEST(ArchToolkit, TableRows) {
  EXPECT_TRUE(toolkit_targets(12080, 120));
  EXPECT_FALSE(toolkit_targets(12060, 120));
  EXPECT_FALSE(toolkit_targets(13000, 61));
  EXPECT_TRUE(toolkit_targets(12090, 50));
  EXPECT_FALSE(toolkit_targets(13000, 101));  // renamed 110
  EXPECT_TRUE(toolkit_targets(13000, 110));
  EXPECT_FALSE(toolkit_targets(12080, 103));       // added in 12.9
  EXPECT_EQ(toolkit_info(12070)->version, 12060);  // closest row below
  EXPECT_FALSE(toolkit_info(11000).has_value());
  EXPECT_EQ(cc_string(121), "12.1");
}

// One home for every version encoding (the run context once printed cuDNN 8.9.7 as "0.89.7").
TEST(ArchVersions, CudaAndCudnnEncodings) {
  EXPECT_EQ(cuda_version_string(12080), "12.8");
  EXPECT_EQ(cuda_version_string(13000), "13.0");
  EXPECT_EQ(cuda_version_string(0), "none");
  EXPECT_EQ(cudnn_version_string(91200), "9.12.0");
  EXPECT_EQ(cudnn_version_string(90100), "9.1.0");
  EXPECT_EQ(cudnn_version_string(8907), "8.9.7");
  EXPECT_EQ(cudnn_version_string(8600), "8.6.0");
  EXPECT_EQ(cudnn_version_string(0), "none");
}

TEST(ArchImageThatRan, SassTheBinaryCarriesElseJit) {
  const auto def = parse_arch_list("75-real 80-real 90-real 100-real 110-real 120-real 75-virtual");
  // sm_86 device, SASS sm_80 loaded natively.
  EXPECT_EQ(image_that_ran(80, 75, 86, def, false), "sass:80");
  // Same device, but the loaded image is built for 8.6, which the binary does not carry: JIT from compute_75.
  EXPECT_EQ(image_that_ran(86, 75, 86, def, false), "ptx:75");
  // A GPU newer than every SASS of the binary (sm_130 say) must JIT.
  EXPECT_EQ(image_that_ran(130, 75, 130, def, false), "ptx:75");
  // Forced JIT: always PTX, even where SASS matches.
  EXPECT_EQ(image_that_ran(90, 75, 90, def, true), "ptx:75");
  // No PTX embedded at all: what loaded is SASS.
  EXPECT_EQ(image_that_ran(90, 0, 90, parse_arch_list("90-real"), false), "sass:90");
  // A carried SASS that runs here but is not the highest one: still SASS (the rule once
  // demanded the best match and called this JIT).
  EXPECT_EQ(image_that_ran(80, 80, 89, parse_arch_list("80;86"), false), "sass:80");
  // `a` SASS runs on its exact CC only: on 10.3, binaryVersion 100 cannot be sm_100a.
  EXPECT_EQ(image_that_ran(100, 90, 103, parse_arch_list("100a-real 90-virtual"), false), "ptx:90");
}

TEST(ArchDriver, BranchesAndCudaVersions) {
  EXPECT_EQ(driver_branch_cuda(565), 12070);
  EXPECT_EQ(driver_branch_cuda(570), 12080);
  EXPECT_EQ(driver_branch_cuda(572), 12080);
  EXPECT_EQ(driver_branch_cuda(400), 0);
  EXPECT_EQ(min_branch_for_cuda(12080), 570);
  EXPECT_EQ(min_branch_for_cuda(13000), 580);
}

}  // namespace
}  // namespace mb
