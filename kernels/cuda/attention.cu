// attention.cu — naive CUDA attention, forward and backward: the baseline of lab 08's flash
// attention, built from batched cuBLASLt GEMMs and two row kernels.
//
// q, k, v, o (b, n, s, d). Per head, with c = scale (1/sqrt(d) by default):
//   S = q kᵀ (s, s);  P = softmax_rows(c·S), masked above the diagonal when causal;  o = P v
// Backward, given ō, recomputing P (the forward saves nothing, as on the CPU):
//   v̄ = Pᵀ ō;  dP = ō vᵀ;  D_i = Σ_j P_ij dP_ij;  dS = c·P ∘ (dP − D);  q̄ = dS k;  k̄ = dSᵀ q
// The (s, s) matrices of all heads live in the op's workspace (b·n·s² elements forward, twice
// that backward), which the executor's memory plan counts: the T² memory flash attention
// removes. The gradient output is packed (3, b, n, s, d) = q̄, k̄, v̄.
#include <cmath>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

constexpr int kRowThreads = 256;

// One block per row i of one head: P_i = softmax(c·S_i) over the keys it may see, 0 after.
template <typename T>
__global__ void masked_softmax_kernel(T* s_then_p, int64_t s, T scale, bool causal) {
  __shared__ T shared[32];
  const int64_t row = blockIdx.x, i = row % s;
  T* r = s_then_p + row * s;
  const int64_t seen = causal ? i + 1 : s;
  T m = -INFINITY;
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) m = fmax(m, scale * r[j]);
  m = block_max(m, shared);
  T sum = 0;
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) sum += exp(scale * r[j] - m);
  sum = block_sum(sum, shared);
  const T inv = T(1) / sum;
  for (int64_t j = threadIdx.x; j < s; j += blockDim.x)
    r[j] = j < seen ? exp(scale * r[j] - m) * inv : T(0);
}

// One block per row: dS_i = c·P_i ∘ (dP_i − D_i) with D_i = Σ_j P_ij dP_ij, in place of P.
template <typename T>
__global__ void softmax_grad_kernel(T* p_then_ds, const T* dp, int64_t s, T scale) {
  __shared__ T shared[32];
  const int64_t base = blockIdx.x * s;
  T d = 0;
  for (int64_t j = threadIdx.x; j < s; j += blockDim.x) d += p_then_ds[base + j] * dp[base + j];
  d = block_sum(d, shared);
  for (int64_t j = threadIdx.x; j < s; j += blockDim.x)
    p_then_ds[base + j] = scale * p_then_ds[base + j] * (dp[base + j] - d);
}

using Dims = kernels::AttentionShape;

template <typename T>
void probabilities(const KernelArgs& args, const Dims& g, T* p) {
  const DType dt = args.output.dtype();
  const cudaStream_t st = stream_of(args);
  gemm_on(st, dt, false, true, g.heads, g.s, g.s, g.d, args.inputs[0].raw(), args.inputs[1].raw(),
          p, false);  // S = q kᵀ
  masked_softmax_kernel<T><<<static_cast<unsigned>(g.heads * g.s), kRowThreads, 0, st>>>(
      p, g.s, static_cast<T>(g.scale), g.causal);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void attention_typed(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  T* p = static_cast<T*>(args.workspace);
  probabilities<T>(args, g, p);
  gemm_on(stream_of(args), args.output.dtype(), false, false, g.heads, g.s, g.d, g.s, p,
          args.inputs[2].raw(), args.output.raw(), false);  // o = P v
}

template <typename T>
void attention_backward_typed(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  const DType dt = args.output.dtype();
  const int64_t all = g.heads * g.s * g.d;
  T* gq = static_cast<T*>(args.output.raw());
  T* gk = gq + all;
  T* gv = gk + all;
  T* p = static_cast<T*>(args.workspace);  // P, then dS in place
  T* dp = p + g.heads * g.s * g.s;
  const void* q = args.inputs[0].raw();
  const void* k = args.inputs[1].raw();
  const void* v = args.inputs[2].raw();
  const void* go = args.inputs[3].raw();
  const cudaStream_t st = stream_of(args);
  probabilities<T>(args, g, p);
  gemm_on(st, dt, true, false, g.heads, g.s, g.d, g.s, p, go, gv, false);  // v̄ = Pᵀ ō
  gemm_on(st, dt, false, true, g.heads, g.s, g.s, g.d, go, v, dp, false);  // dP = ō vᵀ
  softmax_grad_kernel<T><<<static_cast<unsigned>(g.heads * g.s), kRowThreads, 0, st>>>(
      p, dp, g.s, static_cast<T>(g.scale));
  CUDA_CHECK_LAUNCH();
  gemm_on(st, dt, false, false, g.heads, g.s, g.d, g.s, p, k, gq, false);  // q̄ = dS k
  gemm_on(st, dt, true, false, g.heads, g.s, g.d, g.s, p, q, gk, false);   // k̄ = dSᵀ q
}

void attention(const KernelArgs& args) {
  if (args.output.numel() == 0) return;
  GW_CHECK(args.workspace != nullptr, "attention (cuda): the kernel needs its (b·n·s·s) workspace");
  if (needs_widening(args)) return run_widened(args, attention);  // f16/bf16: f32 inside
  switch (args.output.dtype()) {
    case DType::f32: return attention_typed<float>(args);
    case DType::f64: return attention_typed<double>(args);
    default:
      throw DTypeError(detail::concat("attention (cuda): dtype ", dtype_name(args.output.dtype()),
                                      " has no CUDA kernel (f32 or f64)"));
  }
}

void attention_backward(const KernelArgs& args) {
  if (args.output.numel() == 0) return;
  GW_CHECK(args.workspace != nullptr,
           "attention_backward (cuda): the kernel needs its (2·b·n·s·s) workspace");
  if (needs_widening(args)) return run_widened(args, attention_backward);
  switch (args.output.dtype()) {
    case DType::f32: return attention_backward_typed<float>(args);
    case DType::f64: return attention_backward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("attention_backward (cuda): dtype ",
                                      dtype_name(args.output.dtype()),
                                      " has no CUDA kernel (f32 or f64)"));
  }
}

}  // namespace

void define_attention_kernels(OpRegistry& r) {
  r.define(Op::Attention).cuda(attention);
  r.define(Op::AttentionBackward).cuda(attention_backward);
}

}  // namespace gw::cuda
