#pragma once
// Output files are written whole or not at all: to a temp file in the same folder, every
// write checked and flushed to the disk, then renamed over the target. On any failure (a
// full disk, a file-size limit) the temp file is removed and the target is left as it was.
// A library of its own (no dependencies) so every writer uses it.
#include <string>

namespace mb {

// Throws std::runtime_error ("cannot write <path>: <why>") when the file cannot be written
// whole; the target is then untouched and no temp file is left. After a write, removes the
// target's temp files left by killed writers (a minute old, their process gone).
void write_atomically(const std::string& path, const std::string& text);

// Before any work: whether write_atomically can write `path` later. Creates its folder when
// missing, and a temp file there (removed at once). Throws std::runtime_error, as
// write_atomically, for a folder, a device or other non-file, a path under a file, a
// folder that does not take new files.
void check_atomic_target(const std::string& path);

}  // namespace mb
