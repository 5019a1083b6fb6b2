// The torch provider's rows in the harness: where they run, which hybrid impls a case offers, the
// quick profile's per-impl batches, and that this executable's CUDA device is torch's.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "harness/context.hpp"
#include "harness/device/device.hpp"
#include "harness/registry.hpp"
#include "harness/selection.hpp"
#include "harness/status.hpp"
#include "providers/torch/torch_facts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

std::vector<std::string> names(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.name());
  return out;
}

TEST(TorchProvider, EveryOpHasTorchRowsInEveryMode) {
  for (const std::string& op : registry().ops()) {
    const OpCase* c = nullptr;
    for (const auto& k : registry().cases())
      if (k->op() == op) c = k.get();
    ASSERT_NE(c, nullptr);
    for (Placement where : {Placement::host, Placement::device, Placement::hybrid}) {
      const std::string impl = where == Placement::hybrid ? "torch_naive" : "torch";
      const Impl* row = c->find_impl(impl, where);
      ASSERT_NE(row, nullptr) << op << " " << impl;
      EXPECT_EQ(row->provider, "torch");
    }
    EXPECT_NE(c->find_impl("torch_cached", Placement::hybrid), nullptr) << op;
  }
}

// The harness's hybrid naive/cached wrap a host impl of its own: the model has none.
TEST(TorchProvider, HybridNaiveAndCachedOnlyWhereTheHarnessHasAHostImpl) {
  EXPECT_EQ(spec_of(Mode::hybrid).impl_names(registered_case("model/mobilenet_v2")),
            (std::vector<std::string>{"torch_naive", "torch_cached"}));
  EXPECT_EQ(spec_of(Mode::hybrid).impl_names(registered_case("linear/square_1024")),
            (std::vector<std::string>{"naive", "cached", "torch_naive", "torch_cached"}));
  EXPECT_EQ(spec_of(Mode::cpu).impl_names(registered_case("model/mobilenet_v2")), (std::vector<std::string>{"torch"}));
  Selection sel;
  sel.ops = {"model"};
  sel.modes = {"hybrid"};
  sel.impls = {"naive"};
  EXPECT_THROW(expand(registry(), sel), BadInput);
}

// Slow torch impls keep the quick profile fast; the full profile and --batches run every size.
TEST(TorchProvider, QuickProfileBatchesPerImpl) {
  Selection sel;
  sel.ops = {"ssim"};
  sel.modes = {"cpu"};
  sel.impls = {"torch"};
  EXPECT_EQ(names(expand(registry(), sel)), (std::vector<std::string>{"ssim/nerf_800/mode:cpu/impl:torch/batch:1"}));
  sel.profile = Profile::full;
  EXPECT_EQ(expand(registry(), sel).size(), 15u);
  sel.profile = Profile::quick;
  sel.batches = {2};
  EXPECT_EQ(expand(registry(), sel).size(), 3u);

  // knn: torch_exact at the smallest N; torch (wrong: cdist's matrix form) not at all.
  Selection knn;
  knn.ops = {"knn"};
  knn.cases = {"uniform"};
  knn.modes = {"cpu"};
  EXPECT_EQ(names(expand(registry(), knn)),
            (std::vector<std::string>{"knn/uniform/mode:cpu/impl:grid/batch:10000",
                                      "knn/uniform/mode:cpu/impl:grid/batch:100000",
                                      "knn/uniform/mode:cpu/impl:torch_exact/batch:10000"}));
  // linear: two of the five shapes.
  Selection linear;
  linear.ops = {"linear"};
  linear.modes = {"cpu"};
  linear.impls = {"torch"};
  EXPECT_EQ(expand(registry(), linear).size(), 2u * 4u);
}

// torch_device.cpp, not harness/device/no_cuda.cpp, defines the device of this executable: the
// link order that makes it so is checked here.
TEST(TorchProvider, TheCudaDeviceHereIsTorchs) {
  EXPECT_TRUE(cuda_facts().empty()) << "the no-CUDA stand-in was linked (its facts say none)";
  const std::string why = torch_device_unavailable();
  if (why.empty()) {
    EXPECT_NE(cuda_device().description().find("through torch"), std::string::npos);
  } else {
    try {
      cuda_device();
      FAIL() << "cuda_device() returned although torch has no device";
    } catch (const Unavailable& u) {
      EXPECT_EQ(std::string(u.what()), why);
    }
  }
}

// libtorch_cpu calls its bundled BLAS through exported symbols: the first library in the
// process's search order that defines them serves every call. It must be torch's own, not the
// OpenBLAS the harness's impls link (then torch's GEMMs would be OpenBLAS's).
TEST(TorchProvider, TorchsBlasSymbolsResolveToTorch) {
  for (const char* symbol : {"sgemm_", "sgemv_", "cblas_sgemm"}) {
    void* torch_cpu = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
    ASSERT_NE(torch_cpu, nullptr);
    void* own = dlsym(torch_cpu, symbol);
    dlclose(torch_cpu);
    if (!own) continue;  // this wheel's BLAS does not export it
    Dl_info first{};
    ASSERT_NE(dladdr(dlsym(RTLD_DEFAULT, symbol), &first), 0) << symbol;
    EXPECT_NE(std::string(first.dli_fname).find("libtorch_cpu"), std::string::npos)
        << symbol << " resolves to " << first.dli_fname;
  }
}

}  // namespace
}  // namespace mb
