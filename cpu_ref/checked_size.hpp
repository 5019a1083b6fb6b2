#pragma once
// Sizes made of a batch and a shape (element counts, bytes) in checked int64 arithmetic. A
// product that wraps is undefined and, in practice, a small or negative size that an
// allocation or a library then trusts: batches near 2^62 segfaulted linear and raised
// SIGFPE inside oneDNN (issue 23). Every size computed from a batch goes through here: the
// reference's shapes, the problems' buffers, the cases' byte counts and the selection's
// memory check. Here, the lowest layer, so that the reference and the harness share it
// while kernels/ and cpu_ref/ still share nothing.
#include <cstdint>
#include <initializer_list>
#include <stdexcept>

namespace mb {

// A size that 64-bit arithmetic cannot hold: a request no machine can serve. The selection
// turns it into bad input (exit 2) before anything is allocated.
struct SizeOverflow : std::overflow_error {
  using std::overflow_error::overflow_error;
};

inline int64_t checked_product(std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(p, f, &p)) throw SizeOverflow("a size overflows 64-bit arithmetic");
  return p;
}

inline int64_t checked_sum(std::initializer_list<int64_t> terms) {
  int64_t s = 0;
  for (int64_t t : terms)
    if (__builtin_add_overflow(s, t, &s)) throw SizeOverflow("a size overflows 64-bit arithmetic");
  return s;
}

}  // namespace mb
