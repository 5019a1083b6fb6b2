# The torch provider (issue 14): modebench-torch, the executable that runs the `torch…` impls
# with the user's own PyTorch (libtorch from the PyPI wheel), driven by modebench as a child.
#
# Main build:
#   -DMODEBENCH_TORCH=AUTO|ON|OFF   AUTO (default): built when the Python finds torch; ON: an
#                                   error when it does not; OFF: not built (its entries are then
#                                   `unavailable: built without the torch provider`).
#   -DMODEBENCH_TORCH_PYTHON=PATH   the Python whose torch is measured (default: python3 on PATH).
# The provider is a nested, CPU-only build of this same source tree (ExternalProject, folder
# torch-child/): compiled with the wheel's C++ ABI (torch <= 2.5 wheels use the pre-C++11 one,
# which Debian's Google Benchmark and GoogleTest cannot link with, so the child uses neither)
# and without our CUDA code, so the wheel's bundled CUDA libraries never share a process with
# the toolkit's. Its modebench-torch lands next to modebench.
#
# Nested build (MODEBENCH_TORCH_CHILD=ON, set by the main build): mb_libtorch, the wheel's
# headers and libraries. The facts Python alone knows come along: the version as
# torch.__version__ says it, and the architecture list torch.cuda.get_arch_list() reports on a
# device (torch._C._cuda_getArchFlags(): compiled into the wheel, so read once, here). Not find_package(Torch): its config links the CUDA toolkit's runtime
# and NVRTC (a second CUDA runtime in the process) and needs a toolkit at all; the wheel's own
# libraries find theirs through their RPATHs, as torch.utils.cpp_extension relies on.
include_guard(GLOBAL)

if(MODEBENCH_TORCH_CHILD)
  foreach(var MODEBENCH_TORCH_ROOT MODEBENCH_TORCH_VERSION MODEBENCH_TORCH_CXX11_ABI MODEBENCH_TORCH_ARCH_LIST
              MODEBENCH_TORCH_OUTPUT_DIR)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "the torch child build needs ${var} (it is configured by the main build)")
    endif()
  endforeach()
  # Every object of the child, ours and the harness's alike, with the wheel's ABI.
  add_compile_definitions(_GLIBCXX_USE_CXX11_ABI=${MODEBENCH_TORCH_CXX11_ABI})
  add_library(mb_libtorch INTERFACE)
  target_include_directories(mb_libtorch SYSTEM INTERFACE ${MODEBENCH_TORCH_ROOT}/include
                                                          ${MODEBENCH_TORCH_ROOT}/include/torch/csrc/api/include)
  set(_lib ${MODEBENCH_TORCH_ROOT}/lib)
  target_link_libraries(mb_libtorch INTERFACE ${_lib}/libtorch.so ${_lib}/libtorch_cpu.so ${_lib}/libc10.so)
  if(EXISTS ${_lib}/libtorch_cuda.so)
    # Nothing of ours names a torch_cuda symbol, but its load registers torch's CUDA backend.
    target_link_libraries(mb_libtorch INTERFACE -Wl,--no-as-needed ${_lib}/libtorch_cuda.so -Wl,--as-needed)
  endif()
  target_compile_definitions(mb_libtorch INTERFACE MODEBENCH_TORCH_VERSION="${MODEBENCH_TORCH_VERSION}")
  message(STATUS "modebench-torch: torch ${MODEBENCH_TORCH_VERSION} of ${MODEBENCH_TORCH_PYTHON} "
                 "(_GLIBCXX_USE_CXX11_ABI=${MODEBENCH_TORCH_CXX11_ABI})")
  return()
endif()

set(MODEBENCH_TORCH AUTO CACHE STRING "Build the torch provider (modebench-torch): AUTO, ON or OFF")
set_property(CACHE MODEBENCH_TORCH PROPERTY STRINGS AUTO ON OFF)
set(MODEBENCH_TORCH_PYTHON "" CACHE FILEPATH "Python whose torch the provider measures (default: python3 on PATH)")
set(MODEBENCH_HAVE_TORCH OFF)

# Sets MODEBENCH_HAVE_TORCH, or says why not (FATAL with MODEBENCH_TORCH=ON).
function(_mb_torch_not_found why)
  if(MODEBENCH_TORCH STREQUAL "ON")
    message(FATAL_ERROR "MODEBENCH_TORCH=ON but ${why}")
  endif()
  message(STATUS "modebench: ${why}: the torch provider is not built")
endfunction()

function(_mb_find_torch)
  set(python "${MODEBENCH_TORCH_PYTHON}")
  if(python STREQUAL "")
    find_program(_mb_python3 NAMES python3 NO_CACHE)
    if(NOT _mb_python3)
      _mb_torch_not_found("no python3 on PATH")
      return()
    endif()
    set(python "${_mb_python3}")
  endif()
  execute_process(
    COMMAND "${python}" -c "import os, torch, torch.utils; print(torch.__version__); \
print(os.path.dirname(os.path.dirname(os.path.realpath(torch.utils.cmake_prefix_path)))); \
print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); \
print(getattr(torch._C, '_cuda_getArchFlags', lambda: None)() or 'none')"
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    string(REGEX REPLACE ".*\n([^\n]+)\n?$" "\\1" last "${err}")
    _mb_torch_not_found("${python} cannot import torch (${last})")
    return()
  endif()
  string(REPLACE "\n" ";" out "${out}")
  list(GET out 0 version)
  list(GET out 1 root)
  list(GET out 2 abi)
  list(GET out 3 archs)
  if(NOT EXISTS ${root}/include/ATen/ATen.h OR NOT EXISTS ${root}/lib/libtorch.so)
    _mb_torch_not_found("torch ${version} at ${root} has no libtorch headers or libraries")
    return()
  endif()
  set(MODEBENCH_HAVE_TORCH ON PARENT_SCOPE)
  set(MODEBENCH_TORCH_PYTHON_USED "${python}" PARENT_SCOPE)
  set(MODEBENCH_TORCH_VERSION "${version}" PARENT_SCOPE)
  set(MODEBENCH_TORCH_ROOT "${root}" PARENT_SCOPE)
  set(MODEBENCH_TORCH_CXX11_ABI "${abi}" PARENT_SCOPE)
  set(MODEBENCH_TORCH_ARCH_LIST "${archs}" PARENT_SCOPE)
endfunction()

if(NOT MODEBENCH_TORCH STREQUAL "OFF")
  _mb_find_torch()
endif()
if(NOT MODEBENCH_HAVE_TORCH)
  return()
endif()
message(STATUS "modebench: torch ${MODEBENCH_TORCH_VERSION} (${MODEBENCH_TORCH_PYTHON_USED}), "
               "_GLIBCXX_USE_CXX11_ABI=${MODEBENCH_TORCH_CXX11_ABI}: building modebench-torch")

include(ExternalProject)
cmake_host_system_information(RESULT _cores QUERY NUMBER_OF_LOGICAL_CORES)
set(MODEBENCH_TORCH_CHILD_DIR ${PROJECT_BINARY_DIR}/torch-child)
# GoogleTest from Debian is built with the C++11 ABI: the torch-side tests build with such wheels only.
set(_tests OFF)
if(BUILD_TESTING AND MODEBENCH_TORCH_CXX11_ABI)
  set(_tests ON)
endif()
ExternalProject_Add(modebench_torch_child
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${MODEBENCH_TORCH_CHILD_DIR}
  CMAKE_ARGS -DMODEBENCH_TORCH_CHILD=ON
             -DMODEBENCH_TORCH_ROOT=${MODEBENCH_TORCH_ROOT}
             -DMODEBENCH_TORCH_VERSION=${MODEBENCH_TORCH_VERSION}
             -DMODEBENCH_TORCH_CXX11_ABI=${MODEBENCH_TORCH_CXX11_ABI}
             "-DMODEBENCH_TORCH_ARCH_LIST=${MODEBENCH_TORCH_ARCH_LIST}"
             -DMODEBENCH_TORCH_PYTHON=${MODEBENCH_TORCH_PYTHON_USED}
             -DMODEBENCH_TORCH_OUTPUT_DIR=${PROJECT_BINARY_DIR}
             -DMODEBENCH_CUDA=OFF
             -DMODEBENCH_NATIVE_CPU=${MODEBENCH_NATIVE_CPU}
             -DBUILD_TESTING=${_tests}
             -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
             -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
             -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${MODEBENCH_TORCH_CHILD_DIR} --target modebench_torch_all --parallel ${_cores}
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON)  # its own build decides what is out of date
# ctest in this build runs the child's torch-side tests (labelled unit) too, when they were built.
file(WRITE ${PROJECT_BINARY_DIR}/torch_child_tests.cmake
     "if(EXISTS \"${MODEBENCH_TORCH_CHILD_DIR}/tests/CTestTestfile.cmake\")\n"
     "  include(\"${MODEBENCH_TORCH_CHILD_DIR}/tests/CTestTestfile.cmake\")\n"
     "endif()\n")
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY TEST_INCLUDE_FILES
             ${PROJECT_BINARY_DIR}/torch_child_tests.cmake)
