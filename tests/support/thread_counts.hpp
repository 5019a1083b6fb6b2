#pragma once
// The thread counts the host impls' validation tests run each impl at: one thread, two, an
// odd count that splits work unevenly, and more threads than this machine has cores.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace mb {

inline constexpr int kTestThreadCounts[] = {1, 2, 3, 7};

// kTestThreadCounts, or only one thread where MODEBENCH_TEST_ONE_THREAD is set: under
// qemu-aarch64 7.2 (Debian 12) any OpenMP team of two or more threads hangs, even a plain
// `parallel for` (ci/test.sh's aarch64 stage; README, "Arm (aarch64), simulated").
inline std::vector<int> test_thread_counts() {
  const char* one = std::getenv("MODEBENCH_TEST_ONE_THREAD");
  if (one != nullptr && *one != '\0') return {1};
  return {std::begin(kTestThreadCounts), std::end(kTestThreadCounts)};
}

// OpenMP's thread count (what oneDNN, OpenBLAS's OpenMP build and our kernels use) set
// for this scope, the previous one restored after.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ScopedOmpThreads() { omp_set_num_threads(saved_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int saved_;
};

// body(threads) at each of kTestThreadCounts; a failure names the count. Make the impl
// inside the body: several read the thread count when they are made.
template <class Body>
void at_each_thread_count(Body&& body) {
  for (int threads : test_thread_counts()) {
    ScopedOmpThreads scoped(threads);
    SCOPED_TRACE("threads=" + std::to_string(threads));
    body(threads);
  }
}

}  // namespace mb
