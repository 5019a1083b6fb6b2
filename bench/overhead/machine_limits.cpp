// Measures this host's limits that results are stated against: fp32 FMA peak
// (all threads, AVX2/AVX-512 as compiled with -march=native) and memory
// bandwidth (STREAM-like triad on arrays far larger than the caches).
// Prints JSON usable as `modebench-report render --limits`, with whether the machine was
// quiet: limits measured while other work ran would understate the machine.
#include <immintrin.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// 12 independent FMA chains hide the FMA latency (4 cycles x 2 pipes) without
// spilling the 16 vector registers; the recurrence cannot be folded without fast-math.
double fma_peak_gflops() {
#if defined(__FMA__) && defined(__AVX2__)
  constexpr int kChains = 12, kLanes = 8;
  const long iters = 50'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    float sink = 0.0f;
#pragma omp parallel reduction(+ : sink)
    {
      __m256 acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 1e-7f * static_cast<float>(c));
      const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
      for (long i = 0; i < iters; ++i) {
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
      }
      alignas(32) float lanes[kLanes];
      for (int c = 0; c < kChains; ++c) {
        _mm256_store_ps(lanes, acc[c]);
        for (float v : lanes) sink += v;
      }
    }
    const double s = seconds_since(t0);
    const double flops = 2.0 * kLanes * kChains * static_cast<double>(iters) * omp_get_max_threads();
    best = std::max(best, flops / s / 1e9);
    if (sink == 42.0f) std::printf(" ");  // keeps the work observable
  }
  return best;
#else
  return 0.0;  // not measured without AVX2+FMA
#endif
}

double triad_gbps() {
  const size_t n = size_t{1} << 26;  // 3 arrays x 256 MiB
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
#pragma omp parallel for
  for (size_t i = 0; i < n; ++i) a[i] = 0.0f;
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for
    for (size_t i = 0; i < n; ++i) a[i] = b[i] + 0.5f * c[i];
    const double s = seconds_since(t0);
    best = std::max(best, 3.0 * sizeof(float) * static_cast<double>(n) / s / 1e9);
  }
  if (a[n / 2] != 2.0f) std::printf(" ");
  return best;
}

// Busy and total jiffies of all CPUs (/proc/stat's first line).
std::pair<double, double> cpu_jiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double v = 0, total = 0, idle = 0;
  in >> cpu;
  for (int i = 0; i < 8 && in >> v; ++i) {
    total += v;
    if (i == 3 || i == 4) idle += v;  // idle, iowait
  }
  return {total - idle, total};
}

// Cores kept busy by other processes while this one sleeps for a moment.
double busy_cores_of_others(int cpus) {
  const auto [busy0, total0] = cpu_jiffies();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto [busy1, total1] = cpu_jiffies();
  return total1 > total0 ? cpus * (busy1 - busy0) / (total1 - total0) : 0.0;
}

double load_avg_1m() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  in >> v;
  return v;
}

}  // namespace

int main() {
  const int cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  const double others_before = busy_cores_of_others(cpus);
  const double peak = fma_peak_gflops();
  const double bw = triad_gbps();
  const double others_after = busy_cores_of_others(cpus);
  // Quiet: other processes kept less than a tenth of a core busy just before and after.
  const bool quiet = std::max(others_before, others_after) < 0.1;
  std::printf(
      "{\"peak_gflops\": %.1f, \"mem_gbps\": %.1f, \"threads\": %d, \"cpus\": %d, \"load_avg_1m\": %.2f, "
      "\"busy_cores_of_others\": %.2f, \"quiet\": %s, \"how\": \"fp32 FMA chains on every thread; STREAM-like triad "
      "on arrays far larger than the caches; quiet = other processes kept < 0.1 core busy just before and after\"}\n",
      peak, bw, omp_get_max_threads(), cpus, load_avg_1m(), std::max(others_before, others_after),
      quiet ? "true" : "false");
  return 0;
}
