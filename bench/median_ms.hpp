#pragma once
// Median wall time of `calls` calls of f after one warm-up call: the development tools'
// per-layer timer (bench/torch/model_layers.cpp, bench/overhead/model_convs.cpp).
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace mb {

inline double median_ms(int calls, const std::function<void()>& f) {
  f();
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace mb
