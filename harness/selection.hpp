#pragma once
// Turns the selection flags (--ops --modes --impls --cases --batches --profile)
// into the list of benchmark entries, rejecting bad input before any work.
#include <cstdint>
#include <string>
#include <vector>

#include "harness/mode.hpp"
#include "harness/registry.hpp"

namespace mb {

struct Selection {
  std::vector<std::string> ops;    // empty = all
  std::vector<std::string> modes;  // empty = all
  std::vector<std::string> impls;  // empty = all
  std::vector<std::string> cases;  // "case" or "op/case"; empty = all
  std::vector<int64_t> batches;    // empty = the profile's
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

// Throws BadInput with one clear sentence on unknown names, batch <= 0, batches an op
// cannot take, or sizes whose buffers could never be allocated on this host.
std::vector<Entry> expand(const Registry& reg, const Selection& sel);

Profile parse_profile(const std::string& s);
std::string to_string(Profile p);

}  // namespace mb
