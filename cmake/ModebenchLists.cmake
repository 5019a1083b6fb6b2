# The one list of ops and modes. Ops: each names a folder ops/<op>/ whose register_<op>()
# is called by the generated registry; bench tests are one per op x mode. Modes: the C++
# mode table (harness/mode.cpp) and the report's (report/modebench_report/modes.py) are
# checked against this list by their tests. Host modes compute on the host with host data;
# the rest touch a device and take the bench tests' GPU lock.
set(MODEBENCH_OPS linear conv2d conv1d ssim knn model)
set(MODEBENCH_MODES cpu gpu ptx-jit hybrid)
set(MODEBENCH_HOST_MODES cpu)
