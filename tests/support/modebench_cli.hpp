#pragma once
// Runs the built modebench executable from a test (its children re-execute it, so some
// paths cannot run inside unit_tests): build/tests/unit_tests -> build/modebench, or
// MODEBENCH_BIN.
#include <string>

namespace mb {

std::string modebench_path();

struct CmdResult {
  int exit_code = -1;
  std::string out, err;
};

// `args` and `env` ("A=1 B=2") are spliced into a shell command line; stdout and stderr go
// through files in `tmp`.
CmdResult run_modebench(const std::string& args, const std::string& tmp, const std::string& env = "");

}  // namespace mb
