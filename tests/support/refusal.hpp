#pragma once
// What the registry's selection expansion refuses a selection with, for the selection and
// --shape tests.
#include <string>

#include "harness/registry.hpp"
#include "harness/selection.hpp"
#include "harness/status.hpp"

namespace mb {

// The BadInput's sentence, or "" when the selection was accepted.
inline std::string refusal(const Selection& s) {
  try {
    expand(registry(), s);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace mb
