# ctest -L tsan: the ThreadSanitizer job (MODEBENCH_SANITIZE=thread with MODEBENCH_CUDA=SIM; ci/test.sh
# builds only tsan_tests). Our kernels at small odd shapes, the device's on OS threads
# (sim/simt.cpp), the host's OpenMP ones at 3 threads on libomp with Archer (CMakeLists.txt), and
# two planted races TSan must report: ssim_nosync.cu (planted.cmake) and the copy below.

# The host SSIM kernel with every strip on thread 0's scratch: its threads write one ring.
mb_planted_copy(kernels/cpu/ssim.hpp ssim_cpu_shared_scratch.hpp "namespace mb::cpu {" "namespace mb::cpu::planted_scratch {")
mb_planted_copy(kernels/cpu/ssim.cpp ssim_cpu_shared_scratch.cpp
  "#include \"kernels/cpu/ssim.hpp\"" "#include \"ssim_cpu_shared_scratch.hpp\""
  "#define HWY_TARGET_INCLUDE \"kernels/cpu/ssim.cpp\"" "#define HWY_TARGET_INCLUDE \"ssim_cpu_shared_scratch.cpp\""
  "const int thread = omp_get_thread_num();" "const int thread = 0;"
  "namespace mb::cpu {" "namespace mb::cpu::planted_scratch {")

add_executable(tsan_tests ${CMAKE_CURRENT_SOURCE_DIR}/tsan_tests.cpp ${_mb_planted_dir}/ssim_nosync.cu
                          ${_mb_planted_dir}/ssim_cpu_shared_scratch.cpp ${PROJECT_SOURCE_DIR}/ops/knn/stream.cpp)
target_link_libraries(tsan_tests PRIVATE mb_sim mb_cuda_kernels mb_cpu_kernels mb_ref mb_harness GTest::gtest_main
                                         mb_warnings)
target_include_directories(tsan_tests PRIVATE ${_mb_planted_dir})
# What is not our code is left to its own tests: tsan_suppressions.txt says what and why. The
# binary names it itself (__tsan_default_options), so TSAN_OPTIONS only adds to it.
target_compile_definitions(tsan_tests PRIVATE MB_TSAN_SUPPRESSIONS="${CMAKE_CURRENT_SOURCE_DIR}/tsan_suppressions.txt")
gtest_discover_tests(tsan_tests TEST_PREFIX "tsan:" DISCOVERY_TIMEOUT 120
                     PROPERTIES LABELS tsan ENVIRONMENT OMP_NUM_THREADS=3)
