#!/usr/bin/env bash
# Rebuilds the ELF/fatbin seeds of tests/fuzz/binary_fuzz.cpp from tiny.cu with the CUDA toolkit
# (nvcc 13.0 made the committed ones): real nvcc output, small enough to mutate quickly, covering
# several architectures and suffixes, PTX beside SASS, relocatable device code (__nv_relfatbin),
# compressed entries and a linked shared library (.nvFatBinSegment wrappers).
set -euo pipefail
cd "$(dirname "$0")"
nvcc -c tiny.cu -o multi_arch.o -gencode arch=compute_75,code=[sm_75,compute_75] -gencode arch=compute_90a,code=sm_90a
nvcc -c tiny.cu -o rdc.o -rdc=true -gencode arch=compute_80,code=sm_80
nvcc -c tiny.cu -o compressed.o -Xfatbin=-compress-all -gencode arch=compute_100f,code=[sm_100f,compute_100f]
nvcc -shared -Xcompiler -fPIC tiny.cu -o libtiny.so -cudart shared \
  -gencode arch=compute_86,code=sm_86 -gencode arch=compute_120,code=compute_120
