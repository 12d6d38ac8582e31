// checkpointing.h — lab 07: activation checkpointing as a graph rewrite.
//
// Without it, the backward pass reads the activations of every block, so all of them stay
// alive from the forward pass to their block's backward: about N blocks' worth at the peak.
// With it, only each block's input is kept. The rewrite copies the block's forward nodes
// ("recompute/" scope) and points every backward reader of a block activation at the copy,
// so the original dies right after the forward pass and the copy is computed again from the
// kept input when the backward pass needs it, one block at a time: about one extra forward
// pass of FLOPs for N − 1 blocks' worth of activation memory. Gradients are bit-identical,
// since the copies compute the same values from the same inputs with the same kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/graph.h"

namespace gw {

/// One block whose activations are recomputed: the nodes that depend on `input` and that
/// `output` depends on. Both ends are kept (the output is the next block's input).
struct RecomputeBlock {
  Node* input = nullptr;   ///< the block input (kept: the checkpoint)
  Node* output = nullptr;  ///< the block output
};

/// What the rewrite changed.
struct CheckpointRewrite {
  int64_t cloned = 0;   ///< forward nodes copied for recomputation
  int64_t rewired = 0;  ///< inputs of backward nodes pointed at a copy
};

/// Lab 07 (reference/passes/checkpointing.cpp): rewrites the graph of `blocks` (built with
/// its backward pass already, by gradients()) so that the backward pass recomputes each
/// block's activations. For each block: the block's nodes are those that depend on its input
/// and that its output depends on, both ends excluded; each is copied in graph order
/// (Graph::add_node with the same op and attributes, in scope "recompute/" + its own scope),
/// reading the copies of its inputs from the block, and the other inputs as they are; then
/// every input of a backward node (phase_of == Phase::backward) that is one of the block's
/// nodes is replaced by its copy. Blocks must not overlap.
CheckpointRewrite checkpoint_activations(const std::vector<RecomputeBlock>& blocks);

}  // namespace gw
