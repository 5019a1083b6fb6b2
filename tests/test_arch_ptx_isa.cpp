// Which PTX ISA a driver can JIT-compile (cuda_rules/arch.hpp), the rule behind `probe --binary`'s
// "jit, and can this driver compile it".
#include <gtest/gtest.h>

#include "cuda_rules/arch.hpp"

namespace mb {
namespace {

TEST(PtxIsa, FirstCudaOfEachIsa) {
  EXPECT_EQ(first_cuda_for_ptx_isa(78), 11080);
  EXPECT_EQ(first_cuda_for_ptx_isa(80), 12000);
  EXPECT_EQ(first_cuda_for_ptx_isa(85), 12050);  // and 12.6 kept 8.5
  EXPECT_EQ(first_cuda_for_ptx_isa(86), 12070);
  EXPECT_EQ(first_cuda_for_ptx_isa(88), 12090);
  EXPECT_EQ(first_cuda_for_ptx_isa(90), 13000);
  EXPECT_EQ(first_cuda_for_ptx_isa(89), 0);  // never released
  EXPECT_EQ(first_cuda_for_ptx_isa(0), 0);
}

TEST(PtxIsa, DriverJitsItsOwnIsaAndOlder) {
  EXPECT_EQ(driver_can_jit_ptx(12080, 87), true);
  EXPECT_EQ(driver_can_jit_ptx(12080, 80), true);
  EXPECT_EQ(driver_can_jit_ptx(12080, 88), false);
  EXPECT_EQ(driver_can_jit_ptx(12080, 90), false);  // a 13.0 toolkit's PTX on an R570 driver
  EXPECT_EQ(driver_can_jit_ptx(12060, 85), true);
  EXPECT_EQ(driver_can_jit_ptx(12060, 86), false);
  EXPECT_EQ(driver_can_jit_ptx(13000, 90), true);
  EXPECT_EQ(driver_can_jit_ptx(13020, 92), true);
  EXPECT_EQ(driver_can_jit_ptx(13010, 92), false);
}

TEST(PtxIsa, BeyondTheTable) {
  EXPECT_EQ(driver_can_jit_ptx(13000, 99), false);         // unknown ISA, known driver: too new
  EXPECT_EQ(driver_can_jit_ptx(14000, 99), std::nullopt);  // both beyond what we know
  EXPECT_EQ(driver_can_jit_ptx(14000, 90), true);          // a newer driver reads every known ISA
}

// The toolkit table's ptx_isa column and this rule must agree: each toolkit's driver version
// compiles that toolkit's PTX and not the next ISA.
TEST(PtxIsa, AgreesWithToolkitTable) {
  for (int v : {11080, 12000, 12040, 12060, 12080, 12090, 13000}) {
    const auto info = toolkit_info(v);
    ASSERT_TRUE(info) << v;
    EXPECT_EQ(driver_can_jit_ptx(v, info->ptx_isa), true) << v;
    EXPECT_EQ(driver_can_jit_ptx(v, info->ptx_isa + 1), false) << v;
    EXPECT_GT(first_cuda_for_ptx_isa(info->ptx_isa), 0) << v;
    EXPECT_LE(first_cuda_for_ptx_isa(info->ptx_isa), v) << v;
  }
}

}  // namespace
}  // namespace mb
