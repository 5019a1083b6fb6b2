// Stubs of GPU impls that do not exist yet (others append make_<op>_gpu here).
#include "harness/status.hpp"
