// Invariants of the registry, the impl tables and the mode table, instead of counts:
// they hold for any op or mode added later.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/mode.hpp"
#include "harness/registry.hpp"
#include "harness/selection.hpp"

namespace mb {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

TEST(Registry, OpsAreTheCMakeListInOrder) { EXPECT_EQ(registry().ops(), split_list(MODEBENCH_OPS_LIST)); }

TEST(Registry, ModeTableIsTheCMakeListAndSaysWhichModesStayOnTheHost) {
  std::vector<std::string> names, host_only;
  for (const ModeSpec& m : mode_table()) {
    names.emplace_back(m.name);
    if (!m.touches_device()) host_only.emplace_back(m.name);
    EXPECT_EQ(parse_mode(m.name), m.mode);
    EXPECT_EQ(to_string(m.mode), m.name);
    ASSERT_TRUE(m.impl_names && m.make) << m.name;
    EXPECT_EQ(m.child_environment == nullptr, m.environment_in_effect == nullptr) << m.name;
  }
  EXPECT_EQ(names, split_list(MODEBENCH_MODES_LIST));
  EXPECT_EQ(host_only, split_list(MODEBENCH_HOST_MODES_LIST));
}

TEST(Registry, CaseIdsAreUniqueAndEveryCaseHasAHostImplAndValidBatches) {
  std::set<std::string> ids;
  for (const auto& c : registry().cases()) {
    EXPECT_TRUE(ids.insert(c->id()).second) << c->id() << " twice";
    EXPECT_FALSE(c->impl_names(Placement::host).empty()) << c->id() << " has no host impl (the cpu mode)";
    EXPECT_NO_THROW(c->plain_host_impl()) << c->id();
    for (Profile p : {Profile::quick, Profile::full}) {
      ASSERT_FALSE(c->batches(p).empty()) << c->id();
      for (int64_t b : c->batches(p)) {
        EXPECT_NO_THROW(c->check_batch(b)) << c->id() << " batch " << b;
        EXPECT_NO_THROW(c->best_host_impl(b)) << c->id();
        EXPECT_GT(c->bytes(b), 0.0) << c->id();
      }
    }
  }
}

TEST(Registry, ImplNamesAreUniquePerPlacementAndEveryModeHasImplsForEveryCase) {
  for (const auto& c : registry().cases()) {
    for (Placement where : {Placement::host, Placement::device}) {
      const auto names = c->impl_names(where);
      EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size()) << c->id();
    }
    for (const ModeSpec& m : mode_table()) EXPECT_FALSE(m.impl_names(*c).empty()) << c->id() << " in " << m.name;
  }
}

// Device impls are declared in every build; their factory and kernels exist only with CUDA,
// and each names at least one kernel of ours (the one its label's image describes).
TEST(Registry, DeviceImplsHaveFactoryAndKernelsExactlyWhenBuiltWithCuda) {
  int device_impls = 0;
  for (const auto& c : registry().cases())
    for (const Impl& i : c->impls()) {
      if (!i.provider.empty()) {  // its factory is its provider executable's
        EXPECT_FALSE(i.make) << c->id() << " " << i.name;
        continue;
      }
      if (i.placement != Placement::device) {
        EXPECT_TRUE(i.make) << c->id() << " host impl " << i.name << " has no factory";
        EXPECT_EQ(i.own_kernels, nullptr) << c->id() << " " << i.name;
        continue;
      }
      ++device_impls;
      EXPECT_EQ(static_cast<bool>(i.make), MODEBENCH_HAVE_CUDA != 0) << c->id() << " " << i.name;
      EXPECT_EQ(i.own_kernels != nullptr, MODEBENCH_HAVE_CUDA != 0) << c->id() << " " << i.name;
      if (i.own_kernels) {
        EXPECT_FALSE(i.own_kernels().empty()) << c->id() << " " << i.name;
      }
    }
  EXPECT_GT(device_impls, 0) << "device impls are declared in every build";
}

// An impl that splits rows promises batch-major tensors and shared weights.
TEST(Registry, RowSplittingImplsHaveBatchMajorTensors) {
  for (const auto& c : registry().cases()) {
    bool splits = false;
    for (const Impl& i : c->impls()) splits = splits || i.splits_rows;
    if (!splits) continue;
    const int64_t b = c->batches(Profile::quick).front();
    auto one = c->make_problem(b, 1), two = c->make_problem(2 * b, 1);
    const auto t1 = one->tensors(), t2 = two->tensors();
    ASSERT_EQ(t1.size(), t2.size());
    for (size_t k = 0; k < t1.size(); ++k) {
      if (t1[k].role == Role::weight)
        EXPECT_EQ(t1[k].count, t2[k].count) << c->id() << " weight " << t1[k].name << " depends on the batch";
      else
        EXPECT_EQ(2 * t1[k].count, t2[k].count) << c->id() << " " << t1[k].name << " is not batch-major";
    }
  }
}

}  // namespace
}  // namespace mb
