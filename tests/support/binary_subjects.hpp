#pragma once
// Real CUDA binaries for the probe --binary tests, and cuobjdump as the reference reader. Each finder
// returns "" when the thing is not on this machine; the test then says what is missing.
#include <map>
#include <string>
#include <vector>

namespace mb::binary::testing {

// build/tests/unit_tests -> build/modebench; MODEBENCH_BIN overrides.
std::string modebench_executable();
// CUOBJDUMP, then PATH, the toolkit, and PyPI's nvidia-cuda-cuobjdump in python3's site-packages.
std::string find_cuobjdump();
// The toolkit's library folder holding libcublas (CUDA_HOME, /usr/local/cuda).
std::string find_toolkit_lib_dir();
// Distinct real files (symlinks resolved) in `dir` whose names start with `prefix` and contain ".so".
std::vector<std::string> shared_libraries(const std::string& dir, const std::string& prefix);
// torch's lib folder, when python3 can import torch.
std::string find_torch_lib_dir();
// python3's site-packages holding torch ("" without torch).
std::string find_torch_site_packages();

// `cuobjdump --list-elf --list-ptx FILE`, counted by "sm_75 cubin" / "sm_100f ptx" as it names them.
std::map<std::string, int> cuobjdump_listing(const std::string& cuobjdump, const std::string& file);

// stdout of a shell command; "" when it fails.
std::string shell_output(const std::string& command);

}  // namespace mb::binary::testing
