// op_shapes.h — the sizes a kernel reads off a node, worked out once for the op family (its
// FLOP count), the CPU kernels and the CUDA kernels: GEMM sizes of MatMul, head sizes of
// attention, and the (S, Z) slot of an element for quantization.
#pragma once

#include <cmath>
#include <cstdint>

#include "gw/graph.h"

#ifdef __CUDACC__
#define GW_HOST_DEVICE __host__ __device__  // callable from CUDA kernels too
#else
#define GW_HOST_DEVICE
#endif

namespace gw::kernels {

/// The GEMM sizes of a MatMul node: c (batch, m, n) = op(a) (batch, m, k) · op(b).
struct GemmShape {
  int64_t batch = 1, m = 0, k = 0, n = 0;
  bool shared_b = false;  ///< b is 2-D (k, n) and serves every batch
};
inline GemmShape gemm_shape(const Node& node) {
  const Shape& a = node.inputs[0]->shape;
  const Shape& b = node.inputs[1]->shape;
  const size_t ra = a.size(), rb = b.size();
  GemmShape g;
  g.m = node.attrs.transpose_a ? a[ra - 1] : a[ra - 2];
  g.k = node.attrs.transpose_a ? a[ra - 2] : a[ra - 1];
  g.n = node.attrs.transpose_b ? b[rb - 2] : b[rb - 1];
  for (size_t i = 0; i + 2 < ra; ++i) g.batch *= a[i];
  g.shared_b = rb == 2;
  return g;
}

/// The sizes of an attention node and where each head's rows lie. The naive ops take q, k, v
/// head-major, (b, n, s, d); the flash ops take them sequence-major, (b, s, n, d), the layout
/// the projections x·W_q produce, so the trainer needs no permute around them, or fused: one
/// (b, s, 3, n, d) tensor holding each position's q, k and v rows side by side, the layout of
/// x·[W_q | W_k | W_v] (one GEMM for the three projections). Either way head `h`
/// (0 ≤ h < b·n) is s rows of d elements, `ld` apart, from element offset(h) of q, k or v
/// (fused: k starts `part` elements after q, v 2·part); the flash ops' packed output rows
/// (d + 1 elements) are `ld_packed` apart from packed_offset(h). Plain data, so CUDA kernels
/// take it by value.
struct AttentionShape {
  int64_t heads = 0;    ///< b·n
  int64_t n = 1;        ///< heads per sequence
  int64_t s = 0, d = 0;
  double scale = 1.0;   ///< attrs.scale, or 1/√d when that is 0
  bool causal = false;
  bool seq_major = false;  ///< (b, s, n, d) or fused (b, s, 3, n, d): the flash ops
  bool fused = false;      ///< q, k, v are one (b, s, 3, n, d) input (and q̄, k̄, v̄ one output)
  int64_t ld = 0;          ///< elements between rows of one head: d, n·d, or 3·n·d when fused
  int64_t ld_packed = 0;   ///< the same for rows of d + 1 (the flash ops' packed output)
  /// Elements from q's first element to k's and from k's to v's: n·d inside a fused input,
  /// b·n·s·d between the parts of the backward's (3, b, s, n, d) output otherwise.
  int64_t part = 0;
  /// First element of head h in q, k, v (or their gradients).
  GW_HOST_DEVICE int64_t offset(int64_t h) const { return head_offset(h, d, ld); }
  /// First element of head h in the packed output (b, s, n, d + 1) or its adjoint.
  GW_HOST_DEVICE int64_t packed_offset(int64_t h) const { return head_offset(h, d + 1, ld_packed); }
  GW_HOST_DEVICE int64_t head_offset(int64_t h, int64_t row, int64_t row_ld) const {
    return seq_major ? h / n * s * row_ld + h % n * row : h * s * row;
  }
};
/// True for the ops that read q, k, v sequence-major, (b, s, n, d): the flash ops.
inline bool sequence_major(const Node& node) {
  return node.op == Op::FlashAttention || node.op == Op::FlashAttentionBackward;
}
/// True for a flash op whose q, k, v come fused, as one (b, s, 3, n, d) input.
inline bool fused_qkv(const Node& node) {
  return sequence_major(node) && node.inputs[0]->shape.size() == 5;
}
inline AttentionShape attention_shape(const Node& node) {
  const Shape& q = node.inputs[0]->shape;
  AttentionShape a;
  a.seq_major = sequence_major(node);
  a.fused = fused_qkv(node);
  const size_t e = a.fused ? 1 : 0;  // a fused input has its (3) axis before n
  a.n = a.seq_major ? q[2 + e] : q[1];
  a.heads = q[0] * a.n;
  a.s = a.seq_major ? q[1] : q[2];
  a.d = q[3 + e];
  a.ld = a.fused ? 3 * a.n * a.d : a.seq_major ? a.n * a.d : a.d;
  a.ld_packed = a.seq_major ? a.n * (a.d + 1) : a.d + 1;
  a.part = a.fused ? a.n * a.d : a.heads * a.s * a.d;
  a.scale = node.attrs.scale != 0.0 ? node.attrs.scale : 1.0 / std::sqrt(static_cast<double>(a.d));
  a.causal = node.attrs.causal;
  return a;
}

/// Maps element i of a quantized tensor of `shape` to its (S, Z) slot: 0 per tensor (param
/// shape ()), its index along `axis` per channel (param shape (shape[axis])), or its group's
/// slot per group of `group_size` along `axis` (param shape: `shape` with shape[axis]
/// replaced by ⌈shape[axis]/g⌉). Plain data, so CUDA kernels take it by value.
struct QuantParamMap {
  int mode = 0;  ///< 0 per tensor, 1 per channel, 2 per group
  int64_t inner = 1, dim = 1, group = 1, groups = 1;
  QuantParamMap(const Shape& shape, bool per_tensor, int64_t axis, int64_t group_size) {
    if (per_tensor && group_size == 0) return;
    const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(shape.size()) : axis);
    dim = shape[a];
    for (size_t k = a + 1; k < shape.size(); ++k) inner *= shape[k];
    mode = group_size > 0 ? 2 : 1;
    if (mode == 2) {
      group = group_size;
      groups = (dim + group - 1) / group;
    }
  }
  GW_HOST_DEVICE int64_t operator()(int64_t i) const {
    if (mode == 0) return 0;
    const int64_t j = (i / inner) % dim;
    if (mode == 1) return j;
    return ((i / (inner * dim)) * groups + j / group) * inner + i % inner;
  }
};

/// QuantizedLinear's activation codes are 7-bit, in [−63, 63] (scale max|x_row|/63): x86
/// CPUs without VNNI multiply u8 by s8 in int16 pairs that saturate above 32767, and codes
/// shifted by +64 into [1, 127] keep every pair sum exact (2·127·127 < 32767). CPU and GPU
/// use the same codes, so they compute the same function.
constexpr int kQuantizedLinearXMax = 63;

/// The map of a Quantize or Dequantize node's input of `shape` whose parameter has
/// `param_shape`.
inline QuantParamMap quant_param_map(const Shape& shape, const Shape& param_shape,
                                     const Attrs& attrs) {
  return QuantParamMap(shape, param_shape.empty(), attrs.axis, attrs.group_size);
}

}  // namespace gw::kernels
