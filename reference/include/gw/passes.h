// passes.h — analyses and rewrites of a graph before it runs. The graph is built first and run
// later, so its cost is known in advance and a pass can change it. Lab 07's passes:
//   gw/cost_model.h         count FLOPs and bytes, by node, part of the model and phase
//   gw/memory_estimate.h    predict the peak memory of a run from the schedule's liveness
//   gw/checkpointing.h      recompute activations in the backward pass instead of keeping them
//   gw/transformer_costs.h  the lecture's formulas for the same numbers, and MFU
// Lab 05's quantization passes are in gw/quantize.h; the int8 fast path is declared here.
// Later labs add mixed-precision casts.
#pragma once

#include "gw/checkpointing.h"
#include "gw/cost_model.h"
#include "gw/graph.h"
#include "gw/memory_estimate.h"
#include "gw/transformer_costs.h"

namespace gw {

/// Rewrites, in place, every matmul(x, W) whose W is dequantize(q, S, Z) of int8 codes q (k, n)
/// with one scale per output channel (S of shape (n), axis 1) and a constant zero point of
/// zeros into quantized_linear(x, q, S): the product then runs as an int8 GEMM, x quantized
/// row by row on the fly. Build executors after the rewrite. Returns how many were fused.
int fuse_int8_linear(Graph& graph);

}  // namespace gw
