#pragma once
// Will a binary's kernels load on a device? By cuda_rules/arch.hpp's rules (choose_image) over the file's
// images: native SASS, PTX the driver JIT-compiles (and whether that driver can compile its ISA), or
// no image. Module by module (a fatbin container, which the driver loads as a whole) the same rules
// count the modules that carry nothing for the device: in vendor libraries mostly kernels for one
// architecture, loaded only there. A PATH is as weak as its weakest file.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cuda_rules/arch.hpp"
#include "probe/binary/scan.hpp"

namespace mb::binary {

struct Device {
  int cc = 0;           // compute capability, major*10+minor (120)
  int driver_cuda = 0;  // the driver's CUDA version (12080, cudaDriverGetVersion); 0 = not known
  std::string source;   // "--cc 12.0", "device 0: NVIDIA GeForce RTX 5090"
  std::string name() const { return "sm_" + std::to_string(cc); }
};

enum class Verdict { no_image, jit, native };  // weakest first
const char* verdict_name(Verdict verdict);     // "no image", "jit", "native"
std::string ptx_isa_string(int isa);           // 90 -> "9.0"

// Whether the driver can compile the PTX ISA the JIT needs.
enum class JitSupport { not_needed, yes, no, unknown };

struct ModuleCounts {
  size_t native = 0, jit = 0, no_image = 0;
  size_t total() const { return native + jit + no_image; }
};

// One file on one device, loaded normally or under CUDA_FORCE_PTX_JIT=1.
struct Judgement {
  Verdict verdict = Verdict::no_image;
  std::optional<ArchTarget> image;  // the SASS that runs, or the PTX the driver JIT-compiles
  int ptx_isa = 0;                  // that PTX's ISA (major*10+minor); 0 without JIT
  JitSupport driver_jit = JitSupport::not_needed;
  ModuleCounts modules;  // each module judged alone
  std::string reason;    // sentences: what loads and why, the driver, modules without an image
  // For "the weakest": no image < jit the driver cannot compile < jit, driver not known < jit < native.
  int strength() const;
};

struct FileVerdict {
  Judgement normal;
  Judgement forced_ptx_jit;  // CUDA_FORCE_PTX_JIT=1: every SASS ignored
};

FileVerdict judge(const BinaryReport& file, const Device& device);
Judgement judge(const BinaryReport& file, const Device& device, bool force_ptx_jit);
// What a build's own list of its architectures claims for a device (torch.cuda.get_arch_list():
// "sm_75 sm_80 ... sm_120"), by the same rules as the binaries. Lists are written by hand and
// name "sm_120" for what was compiled as sm_120a; the binaries carry what was compiled, so where
// the two disagree the binaries win.
struct Claim {
  Verdict verdict = Verdict::no_image;
  std::optional<ArchTarget> image;
  std::string cell() const;  // "native sm_120", "jit compute_90", "no image"
};
Claim claimed_by(const std::vector<ArchTarget>& arch_list, int device_cc, bool force_ptx_jit);
// One sentence when a claim and the binaries' verdict differ on a device; nullopt when they agree.
std::optional<std::string> claim_disagreement(const Claim& claim, Verdict found, const std::string& found_cell,
                                              const Device& device);

// Short form for a table cell: "native sm_86", "jit compute_120 (PTX 9.0)", "no image"; a trailing
// " *" when some modules carry no image for the device.
std::string verdict_cell(const Judgement& judgement);

}  // namespace mb::binary
