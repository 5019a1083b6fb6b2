#pragma once
// Output files are written whole or not at all: to a temp file in the same folder, every
// write checked and flushed to the disk, then renamed over the target. On any failure (a
// full disk, a file-size limit) the temp file is removed and the target is left as it was.
// A library of its own (no dependencies) so every writer uses it.
#include <string>

namespace mb {

// Throws std::runtime_error ("cannot write <path>: <why>") when the file cannot be written
// whole; the target is then untouched and no temp file is left.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace mb
