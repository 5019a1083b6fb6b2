#pragma once
// Test hooks, inert unless their variable is set.
//
// MODEBENCH_TEST_TRACE=FILE: test_trace appends "<pid> <event>" to FILE as one O_APPEND
// write, so the lines of a parent and its children interleave whole. Tests read from it the
// order in which a run's processes start their children and ask for the device.
//
// MODEBENCH_TEST_CRASH_AT='<entry glob>[=segv|abort|hang|nan][,…]': test_fault makes the
// process preparing an entry whose name matches the fnmatch glob die of SIGSEGV (the default),
// abort, or hang for good, so tests can drive a crashing or hanging entry (a run's, a probe
// row's) through the parent's handling; `nan` makes the timed entry report a NaN counter,
// which JSON cannot hold (the unreadable-output path).
#include <string>

namespace mb {

void test_trace(const std::string& event);

// Called as an entry starts to be prepared, in whichever process runs it.
void test_fault(const std::string& entry_name);
// The fault MODEBENCH_TEST_CRASH_AT names for this entry, or "".
std::string test_fault_for(const std::string& entry_name);

}  // namespace mb
