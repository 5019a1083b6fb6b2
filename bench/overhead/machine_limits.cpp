// Measures this host's limits that results are stated against, and checks them against the
// machine's theoretical peak:
// - fp32 FMA peak on every thread, with each vector ISA the CPU supports (AVX-512, AVX2 on
//   x86-64; NEON on aarch64), whatever the build's -march: each ISA's loop is compiled for it
//   and run only where the CPU reports it. The widest is the machine's peak.
// - the effective clock while the widest ISA's FMAs run (a chain of dependent integer adds, one
//   per cycle on every core we know of, beside that ISA's FMAs: cores that lower their clock for
//   512-bit work do so here too) and the FMA pipes per core (one thread's FMA rate / clock /
//   lanes / 2, rounded), giving the theoretical peak cores x pipes x lanes x 2 x clock.
// - memory bandwidth (STREAM-like triad on arrays far larger than the caches).
// Prints JSON usable as `modebench-report render --limits`, with whether the machine was
// quiet: limits measured while other work ran would understate the machine.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Independent FMA chains on a GCC vector of `Lanes` floats: enough chains to cover the FMA
// latency (4 cycles) times the pipes (2), without spilling the vector registers (16 ymm for
// AVX2, 32 zmm for AVX-512). The recurrence cannot be folded without fast-math; with
// -ffp-contract=fast each `acc * a + b` is one FMA instruction (checked with objdump: the
// inner loop is Chains vfmadd instructions on registers, no loads or stores).
template <class V, int Chains>
struct FmaChains {
  using Vec = V;
  static constexpr int Lanes = sizeof(V) / sizeof(float);
  static constexpr double kFlopsPerIteration = 2.0 * Lanes * Chains;

  // Runs `iterations` on the calling thread; returns a sum that keeps the work observable.
  // Always inlined, so that it is compiled for the ISA of the function it is inlined into.
  __attribute__((always_inline)) static inline float run(long iterations) {
    Vec acc[Chains];
    for (int c = 0; c < Chains; ++c)
      for (int l = 0; l < Lanes; ++l) acc[c][l] = 1.0f + 1e-7f * static_cast<float>(c);
    // Read through volatile: known constants would let the compiler fold the loop away.
    volatile float a_value = 0.9999999f, b_value = 1e-7f;
    Vec a, b;
    for (int l = 0; l < Lanes; ++l) a[l] = a_value, b[l] = b_value;
    for (long i = 0; i < iterations; ++i) {
      // Unrolled, so that the accumulators live in registers (the loops are not interchanged).
#pragma GCC unroll 32
      for (int c = 0; c < Chains; ++c) acc[c] = acc[c] * a + b;
    }
    float sink = 0.0f;
    for (int c = 0; c < Chains; ++c)
      for (int l = 0; l < Lanes; ++l) sink += acc[c][l];
    return sink;
  }
};

// One entry per ISA: its name, lanes, whether this CPU runs it, its loop compiled for it, and
// the loop that runs its FMAs beside an add chain (clock_loop_of).
struct Isa {
  const char* name;
  int lanes;
  bool supported;
  float (*run)(long iterations);
  double flops_per_iteration;
  void (*clock_loop)(long loops);
};

// 100 dependent register adds per loop (one per cycle on every x86-64 and Arm core of the last
// decade) beside 100 FMAs of the ISA on 8 independent registers: the FMAs never limit the loop
// (at most one per cycle is asked of pipes that take one or two), so it runs at the clock the
// core keeps while that ISA's FMAs run. Some cores lower it for 512-bit work; the theoretical
// peak of an ISA is at its own clock. A register operand, not an immediate: some cores (Golden
// Cove) fold chains of immediate adds at rename and run them faster than one per cycle.
// Always inlined, so that it is compiled for the ISA of the function it is inlined into; the
// accumulators are asm operands of the vector type, so they are that ISA's registers (%zmm,
// %ymm, v) and the compiler keeps them there.
template <class V>
__attribute__((always_inline)) inline void clock_loop_of(long loops) {
  uint64_t x = 0, one = 1;
  V a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {}, b = {};
  for (long i = 0; i < loops; ++i) {
    // Eight accumulators, so each FMA's chain waits 8 adds for a 4-cycle latency: with four, the
    // FMA chains were as long as the add chain and the clock read 6 % low.
#if defined(__x86_64__)
#define MB_STEP(A) "addq %[one], %[x]\n\tvfmadd231ps %[b], %[b], %[" A "]\n\t"
#elif defined(__aarch64__)
#define MB_STEP(A) "add %[x], %[x], %[one]\n\tfmla %[" A "].4s, %[b].4s, %[b].4s\n\t"
#endif
#define MB_HALF(P, Q, R, S) MB_STEP(P) MB_STEP(Q) MB_STEP(R) MB_STEP(S)
    asm volatile(".rept 12\n\t" MB_HALF("a0", "a1", "a2", "a3")
                     MB_HALF("a4", "a5", "a6", "a7") ".endr\n\t" MB_HALF("a0", "a1", "a2", "a3")  // 100 adds
#if defined(__x86_64__)
                 : [x] "+r"(x), [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4),
                   [a5] "+v"(a5), [a6] "+v"(a6), [a7] "+v"(a7)
                 : [one] "r"(one), [b] "v"(b));
#elif defined(__aarch64__)
                 : [x] "+r"(x), [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [a4] "+w"(a4),
                   [a5] "+w"(a5), [a6] "+w"(a6), [a7] "+w"(a7)
                 : [one] "r"(one), [b] "w"(b));
#endif
#undef MB_HALF
#undef MB_STEP
  }
  if (x == 1 || a0[0] + a4[0] != 0.0f) std::printf(" ");
}

// GCC vector types (a vector_size attribute on a template-dependent type is ignored).
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));

#if defined(__x86_64__)
using Avx512 = FmaChains<Vec16, 24>;
using Avx2 = FmaChains<Vec8, 12>;
__attribute__((target("avx512f,fma"))) float run_avx512(long n) { return Avx512::run(n); }
__attribute__((target("avx2,fma"))) float run_avx2(long n) { return Avx2::run(n); }
__attribute__((target("avx512f,fma"))) void clock_avx512(long n) { clock_loop_of<Vec16>(n); }
__attribute__((target("avx2,fma"))) void clock_avx2(long n) { clock_loop_of<Vec8>(n); }
std::vector<Isa> isas() {
  __builtin_cpu_init();
  return {{"avx512", 16, __builtin_cpu_supports("avx512f") != 0, run_avx512, Avx512::kFlopsPerIteration, clock_avx512},
          {"avx2", 8, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), run_avx2,
           Avx2::kFlopsPerIteration, clock_avx2}};
}
#elif defined(__aarch64__)
using Neon = FmaChains<Vec4, 16>;  // 32 NEON registers
float run_neon(long n) { return Neon::run(n); }
void clock_neon(long n) { clock_loop_of<Vec4>(n); }
std::vector<Isa> isas() { return {{"neon", 4, true, run_neon, Neon::kFlopsPerIteration, clock_neon}}; }
#else
std::vector<Isa> isas() { return {}; }  // no vector ISA known here: not measured
#endif

// GFLOP/s of `isa` over `threads` threads (best of 3).
double fma_gflops(const Isa& isa, int threads) {
  const long iterations = 20'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    float sink = 0.0f;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += isa.run(iterations);
    const double s = seconds_since(t0);
    best = std::max(best, isa.flops_per_iteration * static_cast<double>(iterations) * threads / s / 1e9);
    if (sink == 42.0f) std::printf(" ");
  }
  return best;
}

// Integer adds only (the clock of scalar work), for the scalar clock.
void clock_scalar(long loops) {
#if defined(__x86_64__) || defined(__aarch64__)
  uint64_t x = 0, one = 1;
  for (long i = 0; i < loops; ++i) {
#if defined(__x86_64__)
    asm volatile(".rept 100\n\taddq %1, %0\n\t.endr" : "+r"(x) : "r"(one));
#else
    asm volatile(".rept 100\n\tadd %0, %0, %1\n\t.endr" : "+r"(x) : "r"(one));
#endif
  }
  if (x == 1) std::printf(" ");
#else
  (void)loops;
#endif
}

// GHz at which `threads` threads run `loop` (100 dependent adds per loop, see clock_loop_of) at
// once. Median over the threads, best of 3. 0 where no add chain is written for this CPU.
double effective_clock_ghz(int threads, void (*loop)(long)) {
#if defined(__x86_64__) || defined(__aarch64__)
  constexpr long kLoops = 2'000'000, kAddsPerLoop = 100;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> ghz(threads);
#pragma omp parallel num_threads(threads)
    {
      const auto t0 = std::chrono::steady_clock::now();
      loop(kLoops);
      ghz[omp_get_thread_num()] = static_cast<double>(kLoops * kAddsPerLoop) / seconds_since(t0) / 1e9;
    }
    std::nth_element(ghz.begin(), ghz.begin() + threads / 2, ghz.end());
    best = std::max(best, ghz[threads / 2]);
  }
  return best;
#else
  (void)threads, (void)loop;
  return 0.0;
#endif
}

// Physical cores: distinct (package, core) pairs in sysfs; the online CPUs where unreadable.
int physical_cores(int cpus) {
  std::set<std::pair<std::string, std::string>> cores;
  for (int c = 0; c < cpus; ++c) {
    const std::filesystem::path topo = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology";
    std::ifstream package(topo / "physical_package_id"), core(topo / "core_id");
    std::string p, k;
    if (!(package >> p) || !(core >> k)) return cpus;
    cores.emplace(p, k);
  }
  return cores.empty() ? cpus : static_cast<int>(cores.size());
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
  const int threads = omp_get_max_threads();
  const int cores = std::min(physical_cores(cpus), threads);
  const double others_before = busy_cores_of_others(cpus);

  std::string per_isa;
  const Isa* widest = nullptr;
  double peak = 0.0;
  const std::vector<Isa> known = isas();
  for (const Isa& isa : known) {
    if (!isa.supported) continue;
    const double g = fma_gflops(isa, threads);
    per_isa += std::string(per_isa.empty() ? "" : ", ") + "\"" + isa.name + "\": " + std::to_string(g);
    if (!widest) widest = &isa, peak = g;  // isas() lists the widest first
  }
  // The theoretical peak: the clock every thread keeps while the widest ISA's FMAs run, and the
  // FMA pipes a core has, from one thread's rate at one thread's such clock (a rate between two
  // pipe counts rounds to the nearer: the clock is known). The scalar clock is reported beside.
  const double scalar_clock = effective_clock_ghz(threads, clock_scalar);
  double clock = 0.0;
  int pipes = 0;
  double theoretical = 0.0;
  if (widest) clock = effective_clock_ghz(threads, widest->clock_loop);
  if (widest && clock > 0) {
    const double one_thread = fma_gflops(*widest, 1);
    const double single_clock = effective_clock_ghz(1, widest->clock_loop);
    pipes = std::max(1, static_cast<int>(std::lround(one_thread / single_clock / (2.0 * widest->lanes))));
    theoretical = cores * pipes * widest->lanes * 2.0 * clock;
  }
  const double bw = triad_gbps();
  const double others_after = busy_cores_of_others(cpus);
  // Quiet: other processes kept less than a tenth of a core busy just before and after.
  const bool quiet = std::max(others_before, others_after) < 0.1;
  std::printf(
      "{\"peak_gflops\": %.1f, \"isa\": \"%s\", \"peak_gflops_by_isa\": {%s}, \"theoretical_peak_gflops\": %.1f, "
      "\"peak_fraction_of_theoretical\": %.3f, \"clock_ghz\": %.3f, \"scalar_clock_ghz\": %.3f, \"fma_pipes\": %d, "
      "\"lanes\": %d, \"cores\": %d, "
      "\"mem_gbps\": %.1f, \"threads\": %d, \"cpus\": %d, \"load_avg_1m\": %.2f, \"busy_cores_of_others\": %.2f, "
      "\"quiet\": %s, \"how\": \"fp32 FMA chains on every thread with each vector ISA the CPU has (the widest is "
      "the peak); theoretical = cores x FMA pipes x lanes x 2 x clock, the clock from dependent integer adds on "
      "every thread beside that ISA's FMAs (scalar_clock: the adds alone), the pipes from one thread's FMA rate; "
      "STREAM-like triad on arrays far larger than the caches; "
      "quiet = other processes kept < 0.1 core busy just before and after\"}\n",
      peak, widest ? widest->name : "none", per_isa.c_str(), theoretical, theoretical > 0 ? peak / theoretical : 0.0,
      clock, scalar_clock, pipes, widest ? widest->lanes : 0, cores, bw, threads, cpus, load_avg_1m(),
      std::max(others_before, others_after), quiet ? "true" : "false");
  return 0;
}
