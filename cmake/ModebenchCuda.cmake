# Decides whether the CUDA modes are built and which architectures they target.
#
# Default architectures: SASS for every major architecture the toolkit supports
# plus PTX for the lowest one, so forced PTX JIT works on every supported GPU
# and a GPU newer than the toolkit can still JIT. CMAKE_CUDA_ARCHITECTURES
# overrides. "native" is not used: it fails on machines without a GPU.
# One representative SASS per major architecture the toolkit supports and PTX for the
# lowest, for a toolkit of version major.minor.
function(mb_default_cuda_archs major minor out)
  if(major GREATER_EQUAL 13)
    set(_sass 75 80 90 100 110 120)
    set(_ptx 75)
  elseif(major EQUAL 12 AND minor GREATER_EQUAL 8)
    set(_sass 50 60 70 80 90 100 120)
    set(_ptx 50)
  elseif(major EQUAL 12)
    set(_sass 50 60 70 80 90)
    set(_ptx 50)
  else()
    set(_sass 35 50 60 70 80 90)
    set(_ptx 35)
  endif()
  set(_archs "")
  foreach(a IN LISTS _sass)
    list(APPEND _archs "${a}-real")
  endforeach()
  list(APPEND _archs "${_ptx}-virtual")
  set(${out} "${_archs}" PARENT_SCOPE)
endfunction()

set(MODEBENCH_HAVE_CUDA OFF)
set(MODEBENCH_SIM OFF)
if(MODEBENCH_CUDA STREQUAL "OFF")
  return()
endif()
if(MODEBENCH_CUDA STREQUAL "SIM")
  include(ModebenchSim)
  return()
endif()

include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(MODEBENCH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MODEBENCH_CUDA=ON but no CUDA compiler was found")
  endif()
  message(STATUS "modebench: no CUDA toolkit found, building CPU modes only")
  return()
endif()

# Version of the toolkit before enable_language so the default list can depend on it.
execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --version OUTPUT_VARIABLE _nvcc_out)
string(REGEX MATCH "release ([0-9]+)\\.([0-9]+)" _ "${_nvcc_out}")
set(_cuda_major ${CMAKE_MATCH_1})
set(_cuda_minor ${CMAKE_MATCH_2})

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  mb_default_cuda_archs(${_cuda_major} ${_cuda_minor} _archs)
  set(CMAKE_CUDA_ARCHITECTURES "${_archs}" CACHE STRING "CUDA architectures" FORCE)
endif()

# CMake 3.25 does not know nvcc's C++20 flag; device code needs no more than C++17.
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
# One CUDA runtime in the process: the shared one cuBLAS and cuDNN use too.
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(MODEBENCH_HAVE_CUDA ON)
message(STATUS "modebench: CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
