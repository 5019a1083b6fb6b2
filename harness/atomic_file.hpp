#pragma once
// Output files are written whole or not at all: to a temp file in the same folder, then
// renamed over the target, so an interrupted run never leaves a truncated file or
// replaces a good one. A library of its own (no dependencies) so every writer uses it.
#include <string>

namespace mb {

// Throws std::runtime_error when the file cannot be written.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace mb
