#pragma once
// A test hook: with MODEBENCH_TEST_TRACE=FILE in the environment, test_trace appends
// "<pid> <event>" to FILE as one O_APPEND write, so the lines of a parent and its children
// interleave whole. Tests read from it the order in which a run's processes start their
// children and ask for the device. Without the variable it does nothing.
#include <string>

namespace mb {

void test_trace(const std::string& event);

}  // namespace mb
