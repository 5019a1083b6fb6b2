// cudaGetErrorName/String of the simulated runtime, from the headers' enum (generated table).
#include <cuda_runtime.h>

namespace {
struct ErrorName {
  int code;
  const char* name;
};
constexpr ErrorName kNames[] = {
#include "sim/error_names.inc"
};
const char* name_of(cudaError_t e) {
  for (const ErrorName& n : kNames)
    if (n.code == static_cast<int>(e)) return n.name;
  return "unrecognized error code";  // what the real runtime answers
}
}  // namespace

extern "C" {
const char* CUDARTAPI cudaGetErrorName(cudaError_t error) { return name_of(error); }
// The simulation has no text of its own to offer: the name says what the code is.
const char* CUDARTAPI cudaGetErrorString(cudaError_t error) { return name_of(error); }
}
