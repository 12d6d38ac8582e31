// passes.h — analyses and rewrites of a graph before it runs. The graph is built first and run
// later, so its cost is known in advance and a pass can change it: count its FLOPs and bytes
// (here), and, in later labs, insert casts (mixed precision), recompute activations
// (checkpointing) or quantize weights.
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

}  // namespace gw
