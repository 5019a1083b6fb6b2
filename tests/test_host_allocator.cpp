// harness/host_allocator: which malloc settings a run uses, and that settling them keeps
// megabyte temporaries on the heap (where the next call reuses them) instead of mapping
// each one afresh.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "harness/host_allocator.hpp"
#include "harness/status.hpp"

namespace {

void* volatile escaped_block = nullptr;

mb::HostAllocatorPlan plan_with(const std::map<std::string, std::string>& env) {
  return mb::plan_host_allocator([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(HostAllocator, SettlesByDefaultAndSaysWithWhichThresholds) {
  const auto plan = plan_with({});
  EXPECT_TRUE(plan.settle);
  EXPECT_NE(plan.description.find("mmap_threshold 32 MiB"), std::string::npos) << plan.description;
  EXPECT_TRUE(plan_with({{"MODEBENCH_HOST_ALLOCATOR", "settled"}}).settle);
  EXPECT_TRUE(plan_with({{"GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F"}}).settle);
}

TEST(HostAllocator, LeavesGlibcAloneWhenAskedOrWhenTheEnvironmentSetsMalloc) {
  const auto asked = plan_with({{"MODEBENCH_HOST_ALLOCATOR", "default"}});
  EXPECT_FALSE(asked.settle);
  EXPECT_NE(asked.description.find("dynamic thresholds"), std::string::npos) << asked.description;

  const auto legacy = plan_with({{"MALLOC_ARENA_MAX", "2"}});
  EXPECT_FALSE(legacy.settle);
  EXPECT_NE(legacy.description.find("MALLOC_ARENA_MAX=2"), std::string::npos) << legacy.description;

  const auto tunable = plan_with({{"GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0"}});
  EXPECT_FALSE(tunable.settle);
  EXPECT_NE(tunable.description.find("glibc.malloc.trim_threshold=0"), std::string::npos) << tunable.description;
}

TEST(HostAllocator, RejectsAnUnknownChoice) {
  EXPECT_THROW(plan_with({{"MODEBENCH_HOST_ALLOCATOR", "jemalloc"}}), mb::BadInput);
}

TEST(HostAllocator, SettledMegabyteBlocksComeFromTheHeapNotFromAFreshMapping) {
  if (!plan_with({}).settle || std::getenv("MODEBENCH_HOST_ALLOCATOR") || std::getenv("GLIBC_TUNABLES"))
    GTEST_SKIP() << "this environment chooses its own malloc settings";
  const std::string& description = mb::settle_host_allocator();
  ASSERT_NE(description.find("set by modebench"), std::string::npos) << description;
  // glibc's initial threshold is 128 KiB: unsettled, an 8 MiB block is a mapping of its own.
  const size_t bytes = 8u << 20;
  const size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(bytes);
  ASSERT_NE(block, nullptr);
  escaped_block = block;  // the compiler may not drop the allocation
  std::memset(block, 1, bytes);
  const size_t mapped_during = mallinfo2().hblkhd;
  std::free(block);
  EXPECT_LT(mapped_during - mapped_before, bytes) << "the 8 MiB block was mapped on its own";
}

}  // namespace
