// knn cpu: our grid against a nanoflann k-d tree as a user would write it
// (build, then a 4-NN query per point since the tree returns the point itself;
// queries in parallel over the same OpenMP threads). Times are medians over
// repetitions, the two interleaved so machine load hits both alike.
// Usage: knn_nanoflann [reps] [N...]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nanoflann.hpp>
#include <vector>

#include "ops/knn/knn.hpp"
#include "kernels/cpu/knn.hpp"

namespace {

struct Cloud {
  const float* p;
  size_t n;
  size_t kdtree_get_point_count() const { return n; }
  float kdtree_get_pt(size_t i, size_t dim) const { return p[3 * i + dim]; }
  template <class Box>
  bool kdtree_get_bbox(Box&) const {
    return false;
  }
};
using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<float, Cloud>, Cloud, 3, uint32_t>;

struct Times {
  double build_ms, query_ms;
};

Times nanoflann_knn(const std::vector<float>& pts, float* out) {
  const auto n = static_cast<int64_t>(pts.size() / 3);
  const Cloud cloud{pts.data(), static_cast<size_t>(n)};
  const auto t0 = std::chrono::steady_clock::now();
  const Tree tree(3, cloud, nanoflann::KDTreeSingleIndexAdaptorParams(10));  // builds
  const auto t1 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic, 1024)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t idx[4];
    float d[4];
    tree.knnSearch(&pts[3 * i], 4, idx, d);
    // Drop self (by index; a duplicate may come first), else the farthest.
    int skip = 3;
    for (int k = 0; k < 4; ++k)
      if (idx[k] == static_cast<uint32_t>(i)) skip = k;
    float sum = 0.0f;
    for (int k = 0; k < 4; ++k)
      if (k != skip) sum += d[k];
    out[i] = sum / 3.0f;
  }
  const auto t2 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(t1 - t0).count(),
          std::chrono::duration<double, std::milli>(t2 - t1).count()};
}

// Process CPU time (all threads): robust to other load on a shared machine, where
// wall time mostly measures how long each thread waited for a core.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  std::vector<int64_t> sizes;
  for (int a = 2; a < argc; ++a) sizes.push_back(std::atoll(argv[a]));
  if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
  if (reps < 1) reps = 1;
  std::printf("threads=%d reps=%d (median wall and process-CPU time; nanoflann build is single-threaded in 1.4.2)\n",
              omp_get_max_threads(), reps);
  std::printf("%-10s %9s %10s %12s %10s %10s %10s %12s %8s %11s %11s %7s %10s\n", "cloud", "N", "grid_ms",
              "grid_Mpts/s", "nf_build", "nf_query", "nf_total", "nf_Mpts/s", "speedup", "grid_cpu_ms", "nf_cpu_ms",
              "cpu_x", "max_rdiff");
  for (auto cloud : {mb::KnnCloud::uniform, mb::KnnCloud::clustered}) {
    for (int64_t n : sizes) {
      const std::vector<float> pts = mb::knn_points(cloud, n, 1);
      std::vector<float> a(n), b(n);
      mb::cpu::KnnGrid grid;
      grid.run(pts.data(), n, a.data());  // warm-up: buffers allocated, threads started
      nanoflann_knn(pts, b.data());
      std::vector<double> tg, tb, tq, tt, cg, cn;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_ms();
        grid.run(pts.data(), n, a.data());
        const double c1 = cpu_ms();
        tg.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        const Times t = nanoflann_knn(pts, b.data());
        cg.push_back(c1 - c0);
        cn.push_back(cpu_ms() - c1);
        tb.push_back(t.build_ms);
        tq.push_back(t.query_ms);
        tt.push_back(t.build_ms + t.query_ms);
      }
      double rdiff = 0.0;  // both are exact: they must agree to rounding
      for (int64_t i = 0; i < n; ++i) {
        const double scale = std::max(std::fabs(static_cast<double>(b[i])), 1e-30);
        rdiff = std::max(rdiff, std::fabs(static_cast<double>(a[i]) - b[i]) / scale);
      }
      const double g = median(tg), t = median(tt), gc = median(cg), nc = median(cn);
      std::printf("%-10s %9lld %10.2f %12.2f %10.2f %10.2f %10.2f %12.2f %8.2f %11.2f %11.2f %7.2f %10.2e\n",
                  cloud == mb::KnnCloud::uniform ? "uniform" : "clustered", static_cast<long long>(n), g, n / g / 1e3,
                  median(tb), median(tq), t, n / t / 1e3, t / g, gc, nc, nc / gc, rdiff);
      std::fflush(stdout);
      if (rdiff > 1e-5) return 1;
    }
  }
  return 0;
}
