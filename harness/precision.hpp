#pragma once
// The arithmetic an impl's result was computed with. Each op looks its tolerance up
// per precision (OpCase::tolerance); an instance reports the precision that actually ran.
#include <string_view>

namespace mb {

enum class Precision { fp32, tf32, fp16, bf16 };

constexpr std::string_view to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::tf32: return "tf32";
    case Precision::fp16: return "fp16";
    case Precision::bf16: return "bf16";
  }
  return "fp32";
}

}  // namespace mb
