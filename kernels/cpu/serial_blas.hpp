#pragma once
// OpenBLAS inside our own OpenMP loops (im2col of conv2d and conv1d).
#include <cblas.h>

namespace mb::cpu {

// OpenBLAS runs single-threaded inside our OpenMP loop. Its OpenMP build (the one linked)
// does so by itself inside a parallel region, and there openblas_set_num_threads() is
// omp_set_num_threads(): calling it ran this loop on one thread and "restored" OpenMP to
// OpenBLAS's own count (capped at the cores), so every later entry ran at another thread
// count. Only a pthreads build, whose pool would fight OpenMP's workers, is set serial.
class SerialBlas {
 public:
  SerialBlas()
      : pthreads_(openblas_get_parallel() == OPENBLAS_THREAD), saved_(pthreads_ ? openblas_get_num_threads() : 0) {
    if (pthreads_) openblas_set_num_threads(1);
  }
  ~SerialBlas() {
    if (pthreads_) openblas_set_num_threads(saved_);
  }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  bool pthreads_;
  int saved_;
};

}  // namespace mb::cpu
