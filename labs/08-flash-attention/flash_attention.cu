// Lab 08: your copy of this file. Replace each GW_TODO("lab 08: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// Each "// TODO(lab 08)" comment marks code you write outside any function (kernels).
// flash_attention.cu — flash attention on the GPU, forward and backward, f32 and f64: the
// algorithm of lab 08's CPU kernels (flash_attention.cpp) with one thread per query row
// (forward, q̄) or key row (k̄, v̄) and the other side's rows staged through shared memory
// in tiles of kTile. No (s, s) buffer exists; causal blocks stop at their diagonal.
//
// q, k, v are (b, s, n, d) (kernels::AttentionShape: head h's row i at offset(h) + i·ld; its
// packed output row at packed_offset(h) + i·ld_packed).
// Forward: block (query tile, head), kBlock threads, one row each; the block walks key
// tiles (K and V in shared memory) with a running max m and sum l per row, rescaling the
// row's accumulator, which is its packed output row (d + 1 elements), when m grows. Row i
// ends as [o_i, LSE_i = m + log l].
// Backward: P_ij = exp(c·q_i·k_j − LSE_i), D_i = ō_i·o_i − L̄SE_i (ȳ's last column).
//   keys kernel:    thread j, tiles of queries (q, ō, LSE, D staged) → v̄_j = Σ_i P_ij ō_i,
//                   k̄_j = c·Σ_i dS_ij q_i with dS_ij = P_ij (ō_i·v_j − D_i)
//   queries kernel: thread i, tiles of keys (k, v staged) → q̄_i = c·Σ_j dS_ij k_j
// Each thread owns its output row, so no atomics. d ≤ kMaxDim (the shared tiles' size).
// bf16 q, k, v go to the tensor-core kernels of flash_attention_bf16.cu, f16 to these on
// widened f32 copies (see flash_attention below).
#include <cmath>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

namespace gw::cuda {

// The bf16 tensor-core kernels (flash_attention_bf16.cu).
void flash_attention_bf16(const KernelArgs& args);
void flash_attention_backward_bf16(const KernelArgs& args);

namespace {

constexpr int kBlock = 64;     // threads per block: query (or key) rows per block
[[maybe_unused]] constexpr int kTile = 16;  // rows of the other side staged in shared memory
constexpr int kMaxDim = 128;   // largest head dimension the shared tiles hold

using Dims = kernels::AttentionShape;  // where each head's rows are (op_shapes.h)

// TODO(lab 08): the three f32/f64 kernels, one thread per row and the other side's rows staged in shared memory kTile at a time (Dims g says where head h's rows are: offset(h) + i·ld, packed rows at packed_offset(h) + i·ld_packed). forward_kernel: block (query tile of kBlock rows, head); per key tile, per seen key, the online softmax of the row's scores with its running max m and sum l, rescaling the accumulator (the packed output row itself) when m grows; row i ends as [o_i, m + log l]; causal blocks stop at their diagonal. backward_keys_kernel: thread j owns k̄_j and v̄_j; per query tile (q, ō, LSE and D = ō·o − L̄SE staged), P = exp(c·q·k_j − LSE), dS = P(ō·v_j − D), v̄_j += P·ō, k̄_j += c·dS·q. backward_queries_kernel: thread i owns q̄_i = c·Σ_j dS_ij k_j over key tiles. No (s, s) buffer, no atomics

[[maybe_unused]] dim3 grid_of(const Dims& g) {  // (unused only in the lab's stub)
  GW_CHECK_AS(ShapeError, g.heads <= 65535, "flash_attention (cuda): b·n = ", g.heads,
              " heads, at most 65535");
  return dim3(static_cast<unsigned>((g.s + kBlock - 1) / kBlock), static_cast<unsigned>(g.heads));
}

void check_dim(const char* op, const KernelArgs& args) {
  const Shape& q = args.inputs[0].shape();
  GW_CHECK_AS(ShapeError, q[3] <= kMaxDim, op, " (cuda): q ", shape_str(q),
              " has head dimension d = ", q[3], "; the CUDA kernel takes d ≤ ", kMaxDim);
}

template <typename T>
void forward_typed(const KernelArgs& args) {
  GW_TODO("lab 08: launch forward_kernel<T> on grid_of(g) (g = kernels::attention_shape(args.node)) with kBlock threads and the shared memory of its K and V tiles, on stream_of(args); then CUDA_CHECK_LAUNCH()", args);
}

template <typename T>
void backward_typed(const KernelArgs& args) {
  GW_TODO("lab 08: launch backward_keys_kernel<T> (writes k̄, v̄: the second and third parts of the output) and backward_queries_kernel<T> (q̄, the first part) on grid_of(g), kBlock threads each, with the shared memory of their tiles, on stream_of(args)", args);
}

// By q's dtype: bf16 runs the tensor-core kernels (flash_attention_bf16.cu); f16 runs the f32
// kernels on widened copies (exact; the gradients rounded once to f16); f32 and f64 run here.
// The CUDA kernels take q, k, v as three (b, s, n, d) tensors: the bf16 backward stages ō
// and the row statistics in q's row layout, which a fused (b, s, 3, n, d) qkv does not have.
// (A GPU model runs three projections instead: Transformer::fused_flash.)
void check_three_tensors(const char* op, const KernelArgs& args) {
  GW_CHECK_AS(ShapeError, !kernels::fused_qkv(args.node), op, " (cuda): qkv ",
              shape_str(args.inputs[0].shape()),
              " is fused; the CUDA kernels take q, k, v as three (b, s, n, d) tensors");
}

void flash_attention(const KernelArgs& args) {
  check_three_tensors("flash_attention", args);
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention);
  check_dim("flash_attention", args);
  if (args.output.numel() == 0) return;  // b = 0: a grid of no blocks is a launch error
  switch (dt) {
    case DType::f32: return forward_typed<float>(args);
    case DType::f64: return forward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("flash_attention (cuda): dtype ", dtype_name(dt),
                                      " has no CUDA kernel (f32, f64, f16 or bf16)"));
  }
}

void flash_attention_backward(const KernelArgs& args) {
  check_three_tensors("flash_attention_backward", args);
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_backward_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention_backward);
  check_dim("flash_attention_backward", args);
  if (args.output.numel() == 0) return;  // b = 0: a grid of no blocks is a launch error
  switch (dt) {
    case DType::f32: return backward_typed<float>(args);
    case DType::f64: return backward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("flash_attention_backward (cuda): dtype ", dtype_name(dt),
                                      " has no CUDA kernel (f32, f64, f16 or bf16)"));
  }
}

}  // namespace

void define_flash_attention_kernels(OpRegistry& r) {
  r.define(Op::FlashAttention).cuda(flash_attention);
  r.define(Op::FlashAttentionBackward).cuda(flash_attention_backward);
}

}  // namespace gw::cuda
