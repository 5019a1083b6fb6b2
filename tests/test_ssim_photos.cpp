// SSIM validated on real photographs (docs/ops.md, "Structured inputs"): a few images of
// scikit-image's data module (tests/support/ssim_photos.py writes them, cut down, with a
// distorted copy, to a temporary folder; nothing is committed), each made a problem of the
// case make_ssim_case() builds for its size, then every host impl and the plain five-blur fp32
// SSIM validated by that case's check. Skipped where scikit-image is missing, except in CI
// (CI=true), where ci/setup.sh installs it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/ssim/ssim.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

namespace fs = std::filesystem;

// A temporary folder, removed with what it holds.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mb_photos_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<float> read_floats(const fs::path& file, size_t count) {
  std::vector<float> v(count);
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  EXPECT_TRUE(in && in.gcount() == static_cast<std::streamsize>(count * sizeof(float))) << file;
  return v;
}

TEST(SsimPhotos, EveryHostImplAndThePlainFp32SsimPassOnRealPhotographs) {
  const TempDir dir;
  const std::string cmd = "python3 " MODEBENCH_SOURCE_DIR "/tests/support/ssim_photos.py '" + dir.path().string() + "'";
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << "scikit-image is missing in CI (ci/setup.sh installs it)";
    GTEST_SKIP() << "scikit-image is not installed (pip install scikit-image)";
  }
  ASSERT_EQ(rc, 0) << cmd;
  int photos = 0;
  for (const auto& f : fs::directory_iterator(dir.path())) {
    const std::string name = f.path().filename().string();
    if (!name.ends_with(".x.f32")) continue;
    // <photo>_<channels>x<height>x<width>.x.f32
    const std::string stem = name.substr(0, name.size() - 6);
    long long ch = 0, h = 0, w = 0;
    ASSERT_EQ(std::sscanf(stem.c_str() + stem.rfind('_') + 1, "%lldx%lldx%lld", &ch, &h, &w), 3) << name;
    const ShapeSpec shape{"photo_" + stem, {{"height", h}, {"width", w}, {"channels", ch}}, {1}};
    const auto c = make_ssim_case(shape);
    auto prob = c->make_problem(1, 42);
    auto& p = static_cast<SsimProblem&>(*prob);
    p.x = read_floats(f.path(), p.x.size());
    p.y = read_floats(dir.path() / (stem + ".y.f32"), p.y.size());
    ++photos;
    auto judge = [&](const std::string& what) {
      const Validation v = c->validate(p, Precision::fp32);
      std::printf("[ssim photos] %-28s %-16s mean %.4f max_err/tolerance %.3g\n", stem.c_str(), what.c_str(),
                  static_cast<double>(p.mean[0]), v.max_err / v.tolerance);
      EXPECT_TRUE(v.ok()) << stem << " " << what << ": max_err " << v.max_err << " tolerance " << v.tolerance;
    };
    for (const std::string& impl : own_impl_names(*c, Placement::host))
      at_each_thread_count([&](int threads) {
        p.poison_outputs();
        make_cpu_instance(*c, impl, p)->run();
        judge(impl + " threads=" + std::to_string(threads));
      });
    p.poison_outputs();
    p.mean[0] = static_cast<float>(emu::ssim_separable(p.x.data(), p.y.data(), p.shape, p.map.data()));
    judge("separable fp32");
  }
  EXPECT_EQ(photos, 3);
}

}  // namespace
}  // namespace mb
