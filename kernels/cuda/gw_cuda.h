// gw_cuda.h — what the CUDA backend offers beyond gw/cuda_backend.h: its stream, the caching
// allocator's counters, the TF32 switch and a direct GEMM entry, for tests and benchmarks.
//
// Plain C++ (no CUDA headers), so .cpp files compiled by the host compiler can include it.
// Only present in a CUDA build: include it under `#if GW_HAVE_CUDA`.
#pragma once

#include <cstdint>
#include <string>

#include "gw/dtype.h"

namespace gw::cuda {

/// Counters of the caching device allocator (kernels/cuda/runtime.cu).
struct CachingStats {
  int64_t device_mallocs = 0;  ///< cudaMalloc calls so far
  int64_t device_frees = 0;    ///< cudaFree calls so far (only when emptying the cache)
  int64_t cache_hits = 0;      ///< allocations served from a free list
  int64_t reserved_bytes = 0;  ///< bytes held from cudaMalloc (in use + cached)
  int64_t cached_bytes = 0;    ///< bytes sitting in the free lists
};
/// The allocator's counters.
CachingStats caching_stats();
/// Returns every cached block to the driver (cudaFree); blocks in use stay.
void empty_cache();

/// Why no GPU is usable: CUDA's message when cudaGetDeviceCount failed (no driver, a driver
/// older than this toolkit needs), "" when it succeeded (possibly with zero devices).
std::string device_error();

/// The backend's one stream (a cudaStream_t); every kernel and copy runs on it
/// (gw::cuda::synchronize of gw/cuda_backend.h waits for it).
void* stream();

/// f32 GEMMs may use TF32 tensor cores (10-bit mantissa inputs, f32 accumulation). On by
/// default; GW_CUDA_TF32=0 in the environment turns it off at start-up. Tests that compare
/// with the CPU at f32 precision turn it off.
void set_tf32(bool on);
/// Whether f32 GEMMs use TF32.
bool tf32();

/// Row-major batched GEMM on device pointers through cuBLASLt, as the MatMul op does it:
/// c (batch, m, n) = op(a) (batch, m, k) · op(b) ((batch,) k, n); `shared_b` means b has no
/// batch axis. dtype f32, f64 or bf16 (bf16 inputs and output, f32 accumulation).
void gemm(DType dtype, bool transpose_a, bool transpose_b, int64_t batch, int64_t m, int64_t n,
          int64_t k, const void* a, const void* b, void* c, bool shared_b);

}  // namespace gw::cuda
