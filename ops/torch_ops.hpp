#pragma once

namespace mb {

// Installs the torch impls of every op that has them (ops/<op>/torch.cpp defines
// install_torch_<op>()); generated from MODEBENCH_OPS (torch_ops.cpp.in).
void install_torch_ops();

}  // namespace mb
