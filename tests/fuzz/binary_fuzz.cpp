// libFuzzer target: `probe --binary`'s ELF and fatbin header readers (probe/binary/) on any bytes
// as a file (issue 23). Beyond "no sanitizer report": read_binary never reports an internal error
// (an exception it did not foresee, e.g. a header view read out of its bounds), never reads more
// than a bounded number of header bytes, and the verdict rules take whatever it found. Built and run
// by ci/fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "probe/binary/scan.hpp"
#include "probe/binary/verdict.hpp"

namespace {

int memfd = -1;
std::string path;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "binary_fuzz: %s\n", why.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  memfd = memfd_create("binary_fuzz", 0);
  if (memfd < 0) fail("memfd_create failed");
  path = "/proc/self/fd/" + std::to_string(memfd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != static_cast<ssize_t>(size)) fail("write failed");
  const mb::binary::BinaryReport r = mb::binary::read_binary(path);
  if (r.message.find("internal error") != std::string::npos) fail(r.message);
  // Headers, not payloads: every byte read is a header, and headers do not outnumber the file's bytes
  // by more than the fixed-size reads of an empty section table (tests/test_probe_binary.cpp's bound).
  if (r.bytes_read > 4 * size + 4096)
    fail("read " + std::to_string(r.bytes_read) + " bytes of a " + std::to_string(size) + "-byte file");
  if (r.status != mb::binary::FileStatus::ok && r.message.empty()) fail("a bad status without a message");
  for (int cc : {75, 90, 120})
    for (int driver : {0, 12080, 13000}) {
      const auto v = mb::binary::judge(r, mb::binary::Device{cc, driver, "fuzz"});
      (void)mb::binary::verdict_cell(v.normal);
      (void)mb::binary::verdict_cell(v.forced_ptx_jit);
    }
  (void)r.sass();
  (void)r.ptx();
  (void)r.lto_ir();
  return 0;
}
