#pragma once
#include <array>
#include <optional>
#include <string_view>

namespace mb {

// Where data lives and where compute runs (contract.md "mode").
enum class Mode { cpu, gpu, ptx_jit, hybrid };

inline constexpr std::array<Mode, 4> kAllModes = {Mode::cpu, Mode::gpu, Mode::ptx_jit, Mode::hybrid};

constexpr std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::cpu: return "cpu";
    case Mode::gpu: return "gpu";
    case Mode::ptx_jit: return "ptx-jit";
    case Mode::hybrid: return "hybrid";
  }
  return "?";
}

constexpr std::optional<Mode> parse_mode(std::string_view s) {
  for (Mode m : kAllModes)
    if (to_string(m) == s) return m;
  return std::nullopt;
}

// Modes whose compute runs on a CUDA device (and are timed with device events).
constexpr bool runs_on_device(Mode m) { return m == Mode::gpu || m == Mode::ptx_jit; }

enum class Profile { quick, full };

}  // namespace mb
