#pragma once
// MB_HD marks functions compiled for both host and device: the same source
// is unit-tested on the host and used by the CUDA kernels.
#if defined(__CUDACC__)
#define MB_HD __host__ __device__ __forceinline__
#else
#define MB_HD inline
#endif
