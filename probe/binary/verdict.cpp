#include "probe/binary/verdict.hpp"

#include <algorithm>

namespace mb::binary {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::no_image: return "no image";
    case Verdict::jit: return "jit";
    case Verdict::native: return "native";
  }
  return "unknown";
}

int Judgement::strength() const {
  switch (verdict) {
    case Verdict::no_image: return 0;
    case Verdict::jit: return driver_jit == JitSupport::no ? 1 : driver_jit == JitSupport::unknown ? 2 : 3;
    case Verdict::native: return 4;
  }
  return 0;
}

std::string ptx_isa_string(int isa) { return std::to_string(isa / 10) + "." + std::to_string(isa % 10); }

namespace {

void add_distinct(std::vector<ArchTarget>& list, const ArchTarget& t) {
  if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
}

// The fatbins a linked module (Fatbin::linked) was device-linked from: the file's other modules and
// its relocatable ones. Their PTX stands in for the linked module's own images when none fits.
std::vector<const Fatbin*> link_inputs(const BinaryReport& file) {
  std::vector<const Fatbin*> out;
  for (const auto& m : file.modules)
    if (!m.linked) out.push_back(&m);
  for (const auto& m : file.relocatable) out.push_back(&m);
  return out;
}

std::vector<ArchTarget> ptx_of(const std::vector<const Fatbin*>& fatbins) {
  std::vector<ArchTarget> out;
  for (const Fatbin* f : fatbins)
    for (const auto& t : f->targets())
      if (!t.sass) add_distinct(out, t);
  return out;
}

JitSupport driver_support(const Device& device, int isa) {
  if (device.driver_cuda == 0 || isa == 0) return JitSupport::unknown;
  const auto can = driver_can_jit_ptx(device.driver_cuda, isa);
  return !can ? JitSupport::unknown : *can ? JitSupport::yes : JitSupport::no;
}

std::string driver_sentence(const Judgement& j, const Device& device) {
  const std::string driver = "a CUDA " + cuda_version_string(device.driver_cuda) + " driver";
  const int needs = first_cuda_for_ptx_isa(j.ptx_isa);
  switch (j.driver_jit) {
    case JitSupport::yes: return "; " + driver + " compiles PTX ISA " + ptx_isa_string(j.ptx_isa);
    case JitSupport::no:
      return "; " + driver + " cannot compile PTX ISA " + ptx_isa_string(j.ptx_isa) + " (needs " +
             (needs ? cuda_version_string(needs) : std::string("a newer driver")) + "): cudaErrorUnsupportedPtxVersion";
    case JitSupport::unknown:
      return device.driver_cuda == 0
                 ? "; give --driver X.Y to check the driver compiles PTX ISA " + ptx_isa_string(j.ptx_isa)
                 : "; not known whether " + driver + " compiles PTX ISA " + ptx_isa_string(j.ptx_isa);
    case JitSupport::not_needed: break;
  }
  return "";
}

}  // namespace

Judgement judge(const BinaryReport& file, const Device& device, bool force_ptx_jit) {
  const std::vector<const Fatbin*> inputs = link_inputs(file);
  const std::vector<ArchTarget> input_ptx = ptx_of(inputs);
  const bool any_linked =
      std::any_of(file.modules.begin(), file.modules.end(), [](const Fatbin& m) { return m.linked; });

  // The file as a whole: everything it can load.
  std::vector<ArchTarget> all;
  for (const auto& m : file.modules)
    for (const auto& t : m.targets()) add_distinct(all, t);
  if (any_linked)
    for (const auto& t : input_ptx) add_distinct(all, t);
  const ImageChoice choice = choose_image(all, device.cc, force_ptx_jit);

  Judgement j;
  j.image = choice.target;
  j.reason = choice.reason;
  if (choice.kind == ImageKind::sass) j.verdict = Verdict::native;
  if (choice.kind == ImageKind::ptx) {
    j.verdict = Verdict::jit;
    for (const auto& m : file.modules) j.ptx_isa = std::max(j.ptx_isa, m.ptx_isa_of(*choice.target));
    if (any_linked)
      for (const Fatbin* f : inputs) j.ptx_isa = std::max(j.ptx_isa, f->ptx_isa_of(*choice.target));
    j.driver_jit = driver_support(device, j.ptx_isa);
    j.reason += " (ISA " + ptx_isa_string(j.ptx_isa) + ")" + driver_sentence(j, device);
  }

  // Module by module.
  for (const auto& m : file.modules) {
    if (!m.has_code()) continue;
    std::vector<ArchTarget> targets = m.targets();
    if (m.linked)
      for (const auto& t : input_ptx) add_distinct(targets, t);
    switch (choose_image(targets, device.cc, force_ptx_jit).kind) {
      case ImageKind::sass: ++j.modules.native; break;
      case ImageKind::ptx: ++j.modules.jit; break;
      case ImageKind::none: ++j.modules.no_image; break;
    }
  }
  if (j.verdict != Verdict::no_image && j.modules.no_image > 0)
    j.reason += "; " + std::to_string(j.modules.no_image) + " of " + std::to_string(j.modules.total()) +
                " modules carry no image for " + device.name() +
                " (kernels built for other architectures only: a library loads them only there, anything else fails)";
  return j;
}

FileVerdict judge(const BinaryReport& file, const Device& device) {
  return {judge(file, device, false), judge(file, device, true)};
}

std::string Claim::cell() const {
  return image ? std::string(verdict_name(verdict)) + " " + image->name() : "no image";
}

Claim claimed_by(const std::vector<ArchTarget>& arch_list, int device_cc, bool force_ptx_jit) {
  const ImageChoice choice = choose_image(arch_list, device_cc, force_ptx_jit);
  Claim c;
  c.image = choice.target;
  c.verdict = choice.kind == ImageKind::sass  ? Verdict::native
              : choice.kind == ImageKind::ptx ? Verdict::jit
                                              : Verdict::no_image;
  return c;
}

std::optional<std::string> claim_disagreement(const Claim& claim, Verdict found, const std::string& found_cell,
                                              const Device& device) {
  if (claim.verdict == found) return std::nullopt;
  return device.name() + ": the arch list says " + claim.cell() + ", the binaries say " + found_cell +
         ": the binaries win (they carry what was compiled; the list is what the build says of itself)";
}

std::string verdict_cell(const Judgement& j) {
  std::string cell = verdict_name(j.verdict);
  if (j.image) cell += " " + j.image->name();
  if (j.verdict == Verdict::jit)
    cell += " (PTX " + ptx_isa_string(j.ptx_isa) + (j.driver_jit == JitSupport::no ? ", driver too old)" : ")");
  if (j.verdict != Verdict::no_image && j.modules.no_image > 0) cell += " *";
  return cell;
}

}  // namespace mb::binary
