// cuda_common.cuh — what every CUDA kernel file shares: CUDA_CHECK, the stream of a run,
// launch sizes, typed loads and stores (bf16/f16 computed in f32), the storage types of the
// dtype dispatch, the device error flag, block reductions and the registration of each
// kernel family.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "common/dtype_dispatch.h"
#include "common/widening.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw_cuda.h"

/// Throws gw::DeviceError with file:line and CUDA's message when a runtime call fails.
#define CUDA_CHECK(call)                                                                  \
  do {                                                                                    \
    const cudaError_t gw_cuda_status_ = (call);                                           \
    if (gw_cuda_status_ != cudaSuccess)                                                   \
      throw ::gw::DeviceError(::gw::detail::concat(__FILE__, ":", __LINE__, ": ", #call,  \
                                                   ": ", cudaGetErrorString(gw_cuda_status_))); \
  } while (0)

/// Checks the launch of the kernel just queued (bad configuration, missing device code).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace gw::cuda {

/// The stream kernels of this run go to: the run's (RunContext::cuda_stream) or the backend's.
inline cudaStream_t stream_of(const KernelArgs& args) {
  return args.context.cuda_stream ? static_cast<cudaStream_t>(args.context.cuda_stream)
                                  : static_cast<cudaStream_t>(stream());
}

/// Blocks of `threads` to cover n items, capped so grid-stride loops take the rest.
inline unsigned blocks_for(int64_t n, int threads = 256, int64_t cap = 65535LL * 8) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b);
}

/// Scratch memory that persists between kernels (grows, never shrinks): the partial sums of
/// two-pass reductions. Stream-ordered, so one op may use it at a time, which is all a
/// single-stream run does. Not counted in gw::memory_stats (it is the backend's, like
/// cuBLAS's workspace).
void* scratch(size_t bytes);

// ---- device-side error reports --------------------------------------------------------------
// A kernel cannot throw. One that meets bad input (an id outside the vocabulary, a scale
// that is not positive) records the first failure in host-mapped memory; the host checks it
// after the next synchronization (every copy to the host) and throws a gw::Error naming it.
enum ErrorCode : int {
  kNoError = 0,
  kEmbeddingId = 1,
  kEmbeddingBackwardId = 2,
  kCrossEntropyTarget = 3,
  kQuantizeScale = 4,
  kAdamWBiasCorrection = 5,  ///< `at` 1 or 2: which of 1 − β1ᵗ, 1 − β2ᵗ is not positive
};
struct DeviceErrorFlag {
  int code;      ///< ErrorCode of the first failure, 0 when none
  long long at;  ///< element index of the failure
  double value;  ///< offending value
  long long bound;  ///< the limit it broke (vocabulary size)
};
/// Device pointer of the flag (host-mapped memory).
DeviceErrorFlag* error_flag();
/// Throws gw::Error when a kernel recorded a failure since the last check, and clears it.
void check_error_flag();

__device__ inline void report_error(DeviceErrorFlag* flag, int code, long long at, double value,
                                    long long bound) {
  if (atomicCAS(&flag->code, 0, code) == 0) {
    flag->at = at;
    flag->value = value;
    flag->bound = bound;
  }
}

// ---- typed loads and stores: 16-bit floats compute in f32 ----------------------------------
template <typename T> struct ComputeOf { using type = float; };
template <> struct ComputeOf<double> { using type = double; };
template <> struct ComputeOf<int8_t> { using type = double; };
template <> struct ComputeOf<int32_t> { using type = double; };
template <typename T> using Compute = typename ComputeOf<T>::type;

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ double load(const double* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ double load(const int8_t* p, int64_t i) { return p[i]; }
__device__ __forceinline__ double load(const int32_t* p, int64_t i) { return p[i]; }

// Integers round to nearest even and saturate; NaN becomes 0 (as the CPU kernels do).
__device__ __forceinline__ double saturate(double v, double lo, double hi) {
  if (isnan(v)) return 0.0;
  return rint(v < lo ? lo : v > hi ? hi : v);
}
template <typename V> __device__ __forceinline__ void store(float* p, int64_t i, V v) {
  p[i] = static_cast<float>(v);
}
template <typename V> __device__ __forceinline__ void store(double* p, int64_t i, V v) {
  p[i] = static_cast<double>(v);
}
template <typename V> __device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, V v) {
  p[i] = __float2bfloat16_rn(static_cast<float>(v));
}
template <typename V> __device__ __forceinline__ void store(__half* p, int64_t i, V v) {
  p[i] = __float2half_rn(static_cast<float>(v));
}
template <typename V> __device__ __forceinline__ void store(int8_t* p, int64_t i, V v) {
  p[i] = static_cast<int8_t>(saturate(static_cast<double>(v), -128.0, 127.0));
}
template <typename V> __device__ __forceinline__ void store(int32_t* p, int64_t i, V v) {
  p[i] = static_cast<int32_t>(saturate(static_cast<double>(v), -2147483648.0, 2147483647.0));
}

/// The GPU's storage type of each dtype, for kernels::dispatch_dtype.
struct CudaStorage {
  using f64 = double;
  using f32 = float;
  using f16 = __half;
  using bf16 = __nv_bfloat16;
  using i8 = int8_t;
  using i32 = int32_t;
  static constexpr const char* name = "cuda";
};
using kernels::Accepts;
using kernels::dispatch_dtype;

// ---- block reductions (blockDim.x a multiple of 32, at most 1024) ----------------------------
template <typename C>
__device__ __forceinline__ C warp_sum(C v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename C>
__device__ __forceinline__ C warp_max(C v) {
  for (int o = 16; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
/// Sum over the block; every thread gets the result. `shared` holds 32 values.
template <typename C>
__device__ C block_sum(C v, C* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : C(0);
  return warp_sum(v);
}
/// Max over the block; every thread gets the result.
template <typename C>
__device__ C block_max(C v, C* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : C(-INFINITY);
  return warp_max(v);
}

// One function per kernel family, each in the .cu file of the same name (register.cu calls
// them).
void define_elementwise_kernels(OpRegistry& r);
void define_reduce_kernels(OpRegistry& r);
void define_shape_kernels(OpRegistry& r);
void define_gemm_kernels(OpRegistry& r);
void define_nn_kernels(OpRegistry& r);
void define_attention_kernels(OpRegistry& r);
void define_flash_attention_kernels(OpRegistry& r);
void define_optimizer_kernels(OpRegistry& r);
void define_comm_kernels(OpRegistry& r);
void define_quant_kernels(OpRegistry& r);

/// gemm() of gw_cuda.h on `stream` (gemm.cu): MatMul and attention pass their run's stream.
void gemm_on(cudaStream_t stream, DType dtype, bool transpose_a, bool transpose_b, int64_t batch,
             int64_t m, int64_t n, int64_t k, const void* a, const void* b, void* c,
             bool shared_b);

using kernels::needs_widening;  // common/widening.h
/// Runs an f32-only kernel on device f32 copies of the 16-bit inputs and rounds its f32
/// result into args.output (widen.cu): f32 arithmetic, 16-bit storage.
void run_widened(const KernelArgs& args, Kernel f32_kernel);

/// Strided gather (shape.cu): out (contiguous, `shape`) element at multi-index i reads
/// in[offset + Σ i[k]·stride[k]]; any element size. Used by reduce.cu to permute.
void strided_gather(const void* in, void* out, size_t element_size, const Shape& shape,
                    const std::vector<int64_t>& stride, int64_t offset, cudaStream_t stream);

}  // namespace gw::cuda
