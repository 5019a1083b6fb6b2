#include "sim/launch_table.hpp"

#include <cstring>
#include <string>

namespace mb::sim {
namespace {
struct Shape {
  const char* kernel;
  unsigned threads;
};
constexpr Shape kShapes[] = {
#include "sim/launch_table.inc"
};
}  // namespace

std::string check_launch_shape(const char* kernel, dim3 block) {
  const unsigned threads = block.x * block.y * block.z;
  for (const Shape& s : kShapes)
    if (std::strcmp(s.kernel, kernel) == 0)
      return threads == s.threads ? std::string()
                                  : std::string(kernel) + " launched with " + std::to_string(threads) +
                                        " threads per block; kernels/cuda/launch_table.json says " +
                                        std::to_string(s.threads) + " (the real build's resource check reads it)";
  return std::string(kernel) +
         " is not in kernels/cuda/launch_table.json: the real build's resource check "
         "cannot vouch for its launch";
}

}  // namespace mb::sim
