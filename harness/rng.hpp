#pragma once
// Deterministic inputs from a seed, identical on every platform
// (std:: distributions are implementation-defined, so they are not used).
#include <cmath>
#include <cstdint>
#include <span>

namespace mb {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ^ 0x9E3779B97F4A7C15ull) {}

  uint64_t next_u64() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits: exactly representable as float.
  float uniform01() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform01(); }
  uint64_t below(uint64_t n) { return next_u64() % n; }
  // Approximately normal (sum of 4 uniforms), enough for "noisy surface" inputs.
  float normalish() { return (uniform01() + uniform01() + uniform01() + uniform01() - 2.0f) * 1.7320508f; }

  void fill_uniform(std::span<float> out, float lo, float hi) {
    for (float& v : out) v = uniform(lo, hi);
  }

 private:
  uint64_t state_;
};

// Independent stream per (seed, purpose) so adding an input never shifts another.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  Rng r(seed * 0x100000001B3ull + stream);
  return r.next_u64();
}

// Inputs of a layer (docs/ops.md): x uniform in [-1, 1], w and b in +-1/sqrt(fan_in).
inline void fill_layer_inputs(uint64_t seed, std::span<float> x, std::span<float> w, std::span<float> b,
                              int64_t fan_in) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(fan_in));
  Rng(derive_seed(seed, 1)).fill_uniform(x, -1.0f, 1.0f);
  Rng(derive_seed(seed, 2)).fill_uniform(w, -scale, scale);
  Rng(derive_seed(seed, 3)).fill_uniform(b, -scale, scale);
}

// Structured inputs of a layer (docs/ops.md, "Structured inputs"): a wide dynamic range, as
// activations after normalisation-free layers and outlier features have. x spans 10^-4 to
// 10^4 in magnitude and w and b 10^-2 to 10^2 times 1/sqrt(fan_in) (log-uniform, random
// signs), so every sum adds terms 12 decades apart and cancels; one x in 16 is exactly 0.
inline void fill_layer_inputs_wide(uint64_t seed, std::span<float> x, std::span<float> w, std::span<float> b,
                                   int64_t fan_in) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(fan_in));
  auto fill = [](Rng rng, std::span<float> out, float decades, float unit, bool zeros) {
    for (float& v : out) {
      const float sign = rng.uniform01() < 0.5f ? -1.0f : 1.0f;
      v = sign * unit * std::pow(10.0f, rng.uniform(-decades, decades));
      if (zeros && rng.below(16) == 0) v = 0.0f;
    }
  };
  fill(Rng(derive_seed(seed, 4)), x, 4.0f, 1.0f, true);
  fill(Rng(derive_seed(seed, 5)), w, 2.0f, scale, false);
  fill(Rng(derive_seed(seed, 6)), b, 2.0f, scale, false);
}

}  // namespace mb
