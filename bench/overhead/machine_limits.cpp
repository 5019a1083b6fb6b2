// Measures this host's limits that results are stated against: fp32 FMA peak
// (all threads, AVX2/AVX-512 as compiled with -march=native) and memory
// bandwidth (STREAM-like triad on arrays far larger than the caches).
// Prints JSON usable as `modebench-report render --limits`.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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

}  // namespace

int main() {
  const double peak = fma_peak_gflops();
  const double bw = triad_gbps();
  std::printf("{\"peak_gflops\": %.1f, \"mem_gbps\": %.1f, \"threads\": %d}\n", peak, bw, omp_get_max_threads());
  return 0;
}
