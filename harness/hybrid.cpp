// Placeholder until the hybrid data path lands.
#include "harness/runner.hpp"
#include "harness/status.hpp"

namespace mb {
std::unique_ptr<Instance> make_hybrid(const OpCase&, const std::string& impl, Problem&, Device&) {
  throw Unavailable("hybrid impl '" + impl + "' not built yet");
}
}  // namespace mb
