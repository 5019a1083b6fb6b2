# MODEBENCH_CUDA=SIM: the device sources compiled by the host compiler against the CUDA headers
# (runtime, cuBLAS, cuDNN) and linked against the simulated device in sim/. No driver, no CUDA
# library and no nvcc are needed: the headers come from an installed toolkit, or from PyPI's
# nvidia-* packages (ci/setup.sh installs them where no toolkit is found).
set(_mb_header_hints /usr/local/cuda/include)
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_FOUND)
  # PyPI's nvidia-cuda-runtime / nvidia-cublas / nvidia-cudnn ship their headers in site-packages.
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c
            "import glob,site,os;print(';'.join(d for p in site.getsitepackages() for d in glob.glob(os.path.join(p,'nvidia','*','include'))))"
    OUTPUT_VARIABLE _mb_py_includes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  list(APPEND _mb_header_hints ${_mb_py_includes})
endif()
find_path(MB_SIM_CUDART_INCLUDE cuda_runtime.h HINTS ${_mb_header_hints} NO_DEFAULT_PATH)
find_path(MB_SIM_CUBLAS_INCLUDE cublas_v2.h HINTS ${_mb_header_hints} NO_DEFAULT_PATH)
find_path(MB_SIM_CUDNN_INCLUDE cudnn.h HINTS ${_mb_header_hints} NO_DEFAULT_PATH)
if(NOT MB_SIM_CUDART_INCLUDE OR NOT MB_SIM_CUBLAS_INCLUDE OR NOT MB_SIM_CUDNN_INCLUDE)
  message(FATAL_ERROR "MODEBENCH_CUDA=SIM needs the CUDA runtime, cuBLAS and cuDNN headers (a CUDA toolkit in "
                      "/usr/local/cuda, or PyPI's nvidia-* packages: ci/setup.sh installs them); found: "
                      "cuda_runtime.h '${MB_SIM_CUDART_INCLUDE}', cublas_v2.h '${MB_SIM_CUBLAS_INCLUDE}', "
                      "cudnn.h '${MB_SIM_CUDNN_INCLUDE}'")
endif()
set(MB_SIM_CUDA_INCLUDE_DIRS ${MB_SIM_CUDART_INCLUDE} ${MB_SIM_CUBLAS_INCLUDE} ${MB_SIM_CUDNN_INCLUDE})
list(REMOVE_DUPLICATES MB_SIM_CUDA_INCLUDE_DIRS)

# The headers' version stands for the toolkit's: the arch list the real build would embed, which
# the simulated driver picks images from (a device the binary has no image for fails as on a GPU).
file(STRINGS ${MB_SIM_CUDART_INCLUDE}/cuda_runtime_api.h _mb_ver REGEX "^#define CUDART_VERSION +[0-9]+")
string(REGEX MATCH "[0-9]+" _mb_ver "${_mb_ver}")
math(EXPR _cuda_major "${_mb_ver} / 1000")
math(EXPR _cuda_minor "(${_mb_ver} % 1000) / 10")
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  mb_default_cuda_archs(${_cuda_major} ${_cuda_minor} _archs)
  set(CMAKE_CUDA_ARCHITECTURES "${_archs}")
endif()
set(CUDAToolkit_VERSION "${_cuda_major}.${_cuda_minor} (simulated device)")
set(MODEBENCH_HAVE_CUDA ON)
set(MODEBENCH_SIM ON)
message(STATUS "modebench: simulated CUDA device, headers ${_cuda_major}.${_cuda_minor} from ${MB_SIM_CUDA_INCLUDE_DIRS}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES}")
