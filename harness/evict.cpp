#include "harness/evict.hpp"

#include <cstdlib>
#include <vector>

#include "harness/status.hpp"

namespace mb {

uint64_t parse_evict_bytes(const std::string& text) {
  constexpr uint64_t kMax = uint64_t{64} << 30;  // far beyond any last-level cache
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] < '0' || text[0] > '9' || end != text.c_str() + text.size() || v > kMax)
    throw BadInput("MODEBENCH_EVICT_BYTES: '" + text + "' is not a byte count from 0 to 64 GiB");
  return v;
}

uint64_t evict_bytes_from_env() {
  static std::string parsed_text;
  static uint64_t bytes = 0;
  const char* v = std::getenv("MODEBENCH_EVICT_BYTES");
  const std::string text = v ? v : "";
  if (text != parsed_text) {
    bytes = text.empty() ? 0 : parse_evict_bytes(text);
    parsed_text = text;
  }
  return bytes;
}

void evict_caches(uint64_t bytes) {
  static std::vector<unsigned char> buffer;
  if (buffer.size() < bytes) buffer.assign(bytes, 1);  // written once: real pages, not the zero page
  // Written, not read, on every thread, as a model's other layers write their outputs: a linear
  // of 12 MB at 32 rows took 1.42 ms hot, 1.87 after reading 150 MB, 2.30 after writing it and
  // 2.14 after 11 other such linears (torch, 2 threads), so writing is the closer stand-in.
  const auto lines = static_cast<int64_t>(bytes / 64);
  unsigned char* data = buffer.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < lines; ++i) data[static_cast<uint64_t>(i) * 64] = static_cast<unsigned char>(i);
  asm volatile("" : : "r"(data) : "memory");  // the writes are the point: keep them
}

}  // namespace mb
