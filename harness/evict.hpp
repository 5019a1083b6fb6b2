#pragma once
// Cold-cache timing for layers of a whole model: MODEBENCH_EVICT_BYTES=<n> makes the harness
// write a byte of every line of an n-byte buffer of its own before every timed call
// (PreparedEntry::timed_call_ms, outside the call's timing). A layer called in a loop finds its
// weights in cache; in a model every other layer's weights pass through the caches between two
// of its calls, and a layer of a model that does not fit them runs slower there (torch, a 12 MB
// linear at 32 rows: 1.3 ms in a loop, 1.9 ms inside XTTS-like, 1.7 ms after a 150 MB
// eviction). profile() sets it to the model's weight bytes; entries so timed say evict_bytes=<n>.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mb {

// Bytes to write before each timed call (0: none). Throws BadInput on a malformed value.
uint64_t evict_bytes_from_env();
uint64_t parse_evict_bytes(const std::string& text);
// Writes a byte of every 64-byte line of `bytes` of the eviction buffer, on every OpenMP thread.
void evict_caches(uint64_t bytes);

}  // namespace mb
