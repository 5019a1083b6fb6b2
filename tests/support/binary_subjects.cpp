#include "tests/support/binary_subjects.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "harness/subprocess.hpp"

namespace mb::binary::testing {

namespace fs = std::filesystem;

std::string shell_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return status == 0 ? out : std::string();
}

namespace {
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
}  // namespace

std::string modebench_executable() {
  if (const char* p = std::getenv("MODEBENCH_BIN"); p && *p) return p;
  return (fs::path(self_executable()).parent_path().parent_path() / "modebench").string();
}

std::string find_cuobjdump() {
  if (const char* p = std::getenv("CUOBJDUMP"); p && *p) return p;
  if (std::string on_path = trimmed(shell_output("command -v cuobjdump 2>/dev/null")); !on_path.empty()) return on_path;
  for (const char* p : {"/usr/local/cuda/bin/cuobjdump"})
    if (is_file(p)) return p;
  // PyPI's nvidia-cuda-cuobjdump puts it in site-packages/nvidia/<cuXX>/bin/.
  const std::string nvidia =
      trimmed(shell_output("python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null"));
  if (nvidia.empty()) return "";
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(nvidia, ec))
    if (is_file(dir.path() / "bin" / "cuobjdump")) return (dir.path() / "bin" / "cuobjdump").string();
  return "";
}

std::string find_toolkit_lib_dir() {
  std::vector<std::string> roots;
  if (const char* home = std::getenv("CUDA_HOME"); home && *home) roots.push_back(home);
  roots.push_back("/usr/local/cuda");
  for (const auto& root : roots)
    for (const char* sub : {"lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"})
      if (!shared_libraries(root + "/" + sub, "libcublas.").empty()) return root + "/" + sub;
  return "";
}

std::vector<std::string> shared_libraries(const std::string& dir, const std::string& prefix) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.find(".so") == std::string::npos) continue;
    const fs::path real = fs::canonical(e.path(), ec);
    if (!ec && is_file(real)) out.insert(real.string());
  }
  return {out.begin(), out.end()};
}

std::string find_torch_lib_dir() {
  const std::string dir =
      trimmed(shell_output("python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null"));
  return dir.empty() ? "" : dir + "/lib";
}

std::string find_torch_site_packages() {
  const std::string lib = find_torch_lib_dir();
  return lib.empty() ? "" : fs::path(lib).parent_path().parent_path().string();
}

std::map<std::string, int> cuobjdump_listing(const std::string& cuobjdump, const std::string& file) {
  // cuobjdump exits non-zero for a file without device code; its listing is then empty.
  const std::string text = shell_output("'" + cuobjdump + "' --list-elf --list-ptx '" + file + "' 2>/dev/null || true");
  static const std::regex line(R"(^(ELF|PTX) file +[0-9]+: .*\.(sm_[0-9]+[af]?)\.(cubin|ptx)$)");
  std::map<std::string, int> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) ++out[m[2].str() + " " + m[3].str()];
  }
  return out;
}

}  // namespace mb::binary::testing
