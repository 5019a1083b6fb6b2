#pragma once
// The mode table: where a mode keeps its data, where it computes, how a call is timed,
// which impls it runs, and the environment its process must start with. Everything the
// harness does differently per mode is read from here; a mode that needs more than a
// row has one file in harness/modes/. MODEBENCH_MODES (cmake/ModebenchLists.cmake) and
// the report's table (report/modebench_report/modes.py) are tested against this one.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mb {

class Device;
class Instance;
class OpCase;
class Problem;

enum class Mode { cpu, gpu, ptx_jit, hybrid };
enum class Side { host, device };

// Which rows of an op's impl table a mode runs. host: the cpu mode's; device: gpu and
// ptx-jit; hybrid: impls that do the hybrid pattern themselves (a provider's; the harness's
// own hybrid impls wrap host impls).
enum class Placement { host, device, hybrid };

// Variables a child process sets and removes before it starts (CUDA reads them when
// the context is created, so a mode that needs them cannot run in a process that has one).
struct ChildEnvironment {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
  std::string describe() const;  // "A=1 B=x -C"
  // What of this process's own environment the child does not inherit: "A=0 C=1" for the
  // variables it sets differently or removes; "none".
  std::string overridden_here() const;
};

struct ModeSpec {
  Mode mode;
  std::string_view name;
  Side data;       // where the op's tensors live between calls
  Side compute;    // where the arithmetic runs
  Side timed;      // device: CUDA events on the stream; host: steady clock around the call
  Placement rows;  // the rows of an op's impl table it runs
  // The impls of `c` this mode runs, in the order listed.
  std::vector<std::string> (*impl_names)(const OpCase& c);
  // Makes an instance of one of them bound to `p`. `dev` is null when data and compute are on the host.
  std::unique_ptr<Instance> (*make)(const OpCase& c, const std::string& impl, Problem& p, Device* dev);
  // Non-null when the mode must run in a child started with this environment (a fresh
  // scratch folder is passed for caches); null when it runs in the parent process.
  ChildEnvironment (*child_environment)(const std::string& scratch_dir);
  // In a process started with that environment: what of it is in effect, described
  // (the context's mode_env); nullopt elsewhere.
  std::optional<std::string> (*environment_in_effect)();

  bool touches_device() const { return data == Side::device || compute == Side::device; }
};

const std::vector<ModeSpec>& mode_table();

// An instance of the row `impl` of placement `where` in c's impl table: its own factory, or
// its provider's (unavailable where none is installed). BadInput for an unknown impl.
std::unique_ptr<Instance> make_from_table(const OpCase& c, const std::string& impl, Placement where, Problem& p,
                                          Device* dev);
const ModeSpec& spec_of(Mode m);
std::string_view to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view s);
std::vector<Mode> all_modes();

enum class Profile { quick, full };

}  // namespace mb
