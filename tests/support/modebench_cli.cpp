#include "tests/support/modebench_cli.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/subprocess.hpp"

namespace mb {
namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string modebench_path() {
  if (const char* p = std::getenv("MODEBENCH_BIN"); p && *p) return p;
  namespace fs = std::filesystem;
  return (fs::path(self_executable()).parent_path().parent_path() / "modebench").string();
}

CmdResult run_modebench(const std::string& args, const std::string& tmp, const std::string& env) {
  const std::string out = tmp + "/stdout.txt", err = tmp + "/stderr.txt";
  const std::string cmd = env + " '" + modebench_path() + "' " + args + " > '" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  CmdResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace mb
