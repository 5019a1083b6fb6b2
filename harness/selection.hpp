#pragma once
// Turns the selection flags (--ops --modes --impls --cases --batches --profile)
// into the list of benchmark entries, rejecting bad input before any work.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/mode.hpp"
#include "harness/registry.hpp"

namespace mb {

struct Selection {
  std::vector<std::string> ops;     // empty = all
  std::vector<std::string> modes;   // empty = all
  std::vector<std::string> impls;   // empty = all
  std::vector<std::string> cases;   // "case" or "op/case"; empty = all (none when `shapes` is not)
  std::vector<std::string> shapes;  // --shape "op:k=v,...": ad-hoc cases (Registry::adhoc_case)
  std::vector<int64_t> batches;     // empty = the profile's
  Profile profile = Profile::quick;
  uint64_t seed = 42;
};

struct Entry {
  const OpCase* op_case;
  Mode mode;
  std::string impl;
  int64_t batch;
  // <op>/<case>/mode:<mode>/impl:<impl>/batch:<n>
  std::string name() const;
};

// Impls of a case in a mode (the mode table decides which of the case's impls, or its own).
std::vector<std::string> impls_for(const OpCase& c, Mode m);

// Throws BadInput with one clear sentence on unknown names, a value listed twice, batch <= 0,
// batches an op cannot take, or sizes whose buffers could never be allocated on this host.
std::vector<Entry> expand(const Registry& reg, const Selection& sel);

// Google Benchmark's --benchmark_filter=<regex> among `benchmark_flags` (the last one wins), applied
// by the harness itself, so that it also selects entries Google Benchmark never sees (a provider's
// child, entries folded as unavailable): an entry is kept when the regex is found in its name; a
// leading '-' keeps the others, as in Google Benchmark. No filter: all. Malformed: BadInput.
std::vector<Entry> filter_entries(std::vector<Entry> entries, const std::vector<std::string>& benchmark_flags);

// The value of Google Benchmark flag `name` ("--benchmark_x") among `benchmark_flags`, the last
// one winning: "" for the bare flag, nullopt when it is absent.
std::optional<std::string> benchmark_flag(const std::vector<std::string>& benchmark_flags, const std::string& name);

Profile parse_profile(const std::string& s);
std::string to_string(Profile p);

}  // namespace mb
