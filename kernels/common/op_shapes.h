// op_shapes.h — the sizes a kernel reads off a node, worked out once for the op family (its
// FLOP count), the CPU kernels and the CUDA kernels: GEMM sizes of MatMul, head sizes of
// attention, and the channel of an element for per-channel quantization.
#pragma once

#include <cmath>
#include <cstdint>

#include "gw/graph.h"

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

/// The sizes of an attention node whose q is (b, n, s, d).
struct AttentionShape {
  int64_t heads = 0;    ///< b·n
  int64_t s = 0, d = 0;
  double scale = 1.0;   ///< attrs.scale, or 1/√d when that is 0
  bool causal = false;
};
inline AttentionShape attention_shape(const Node& node) {
  const Shape& q = node.inputs[0]->shape;
  AttentionShape a;
  a.heads = q[0] * q[1];
  a.s = q[2];
  a.d = q[3];
  a.scale = node.attrs.scale != 0.0 ? node.attrs.scale : 1.0 / std::sqrt(static_cast<double>(a.d));
  a.causal = node.attrs.causal;
  return a;
}

/// Maps element i of a tensor of `shape` to the index of its scale and zero point: its
/// channel along `axis` when they are per channel (`per_channel`), else 0.
struct ChannelMap {
  int64_t inner = 1, channels = 1;
  bool per_channel = false;
  ChannelMap(const Shape& shape, bool per_channel_params, int64_t axis)
      : per_channel(per_channel_params) {
    if (!per_channel) return;
    const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(shape.size()) : axis);
    channels = shape[a];
    for (size_t i = a + 1; i < shape.size(); ++i) inner *= shape[i];
  }
#ifdef __CUDACC__
  __host__ __device__
#endif
  int64_t operator()(int64_t i) const { return per_channel ? (i / inner) % channels : 0; }
};

}  // namespace gw::kernels
