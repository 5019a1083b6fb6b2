#pragma once
// The probe's advice: plain sentences, each naming its fix, computed from the
// facts only (no CUDA calls, no I/O), so every rule is testable on any machine.
#include <string>
#include <vector>

#include "cuda_rules/arch.hpp"
#include "harness/status.hpp"

namespace mb {

// One row of the compatibility matrix, as the advice needs it.
struct MatrixFinding {
  std::string op, case_name, mode, impl;
  Status status;
};

struct AdviceInput {
  bool built_with_cuda = true;
  int toolkit = 0;                // build toolkit, 13000 = 13.0
  std::vector<ArchTarget> built;  // SASS and PTX the binary carries
  int driver = 0;                 // cudaDriverGetVersion (12080); 0 = no driver
  int driver_branch = 0;          // Linux driver branch (565) when known, else 0
  std::vector<int> device_ccs;    // one per visible device (120 = 12.0)
  int cudnn = 0;                  // cudnnGetVersion (91200 = 9.12.0); 0 = unknown
  int cudnn_max_device_cc = 0;    // cudnnGetMaxDeviceVersion as a CC (120); 0 = unknown
  std::vector<MatrixFinding> matrix;
};

struct Advice {
  std::string id;    // stable rule name, e.g. "jit_from_ptx"
  std::string text;  // one or two sentences naming the fix
};

std::vector<Advice> advise(const AdviceInput& in);

// cudnnGetMaxDeviceVersion -> CC as major*10+minor (accepts 1200 or 120 style values).
int cudnn_max_device_cc(long v);

}  // namespace mb
