#pragma once
// The thread counts the host impls' validation tests run each impl at: one thread, two, an
// odd count that splits work unevenly, and more threads than this machine has cores.
#include <gtest/gtest.h>
#include <omp.h>

#include <string>

namespace mb {

inline constexpr int kTestThreadCounts[] = {1, 2, 3, 7};

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
  for (int threads : kTestThreadCounts) {
    ScopedOmpThreads scoped(threads);
    SCOPED_TRACE("threads=" + std::to_string(threads));
    body(threads);
  }
}

}  // namespace mb
