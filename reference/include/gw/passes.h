// passes.h — analyses and rewrites of a graph before it runs. The graph is built first and run
// later, so its cost is known in advance and a pass can change it: count its FLOPs and bytes,
// run int8 weights as int8 GEMMs, and, in later labs, insert casts (mixed precision) or
// recompute activations (checkpointing). Lab 05's quantization passes are in gw/quantize.h.
#pragma once

#include <vector>

#include "gw/graph.h"

namespace gw {

/// What evaluating a set of nodes costs, by the op table's counts.
struct GraphCost {
  double flops = 0;    ///< floating-point operations (2 per multiply-add)
  double bytes = 0;    ///< bytes read and written by kernels that stream each operand once
  int64_t kernels = 0; ///< kernel launches (views and leaves launch none)
  /// FLOPs per byte moved: the arithmetic intensity (0 when nothing moves).
  double intensity() const { return bytes > 0 ? flops / bytes : 0.0; }
};

/// The cost of evaluating every node of `nodes` once (an executor's schedule, say). Leaves
/// and views cost nothing.
GraphCost count_cost(const std::vector<Node*>& nodes);

/// Rewrites, in place, every matmul(x, W) whose W is dequantize(q, S, Z) of int8 codes q (k, n)
/// with one scale per output channel (S of shape (n), axis 1) and a constant zero point of
/// zeros into quantized_linear(x, q, S): the product then runs as an int8 GEMM, x quantized
/// row by row on the fly. Build executors after the rewrite. Returns how many were fused.
int fuse_int8_linear(Graph& graph);

}  // namespace gw
