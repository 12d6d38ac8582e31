// planning.h — the executor's two planning steps, kept apart from run() so each can be read
// (and tested through gw::Executor) on its own: the schedule (which nodes run, in which
// order) and the liveness memory plan (where each value lives in the arena).
//
// Internal to reference/runtime: the public contract is gw/executor.h.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/executor.h"
#include "gw/graph.h"

namespace gw::runtime {

/// The non-leaf nodes that `outputs` need, in the order they run: a topological order found
/// with an explicit stack (a 10⁵-node chain must not overflow the call stack). Pure nodes
/// come first; nodes that mutate their inputs (OpDef::mutates_inputs, e.g. AdamW) and
/// anything that reads their results follow, in graph order, so every pure reader of a
/// parameter sees its value from before the update. Leaves are bound, not run, so they are
/// not in the schedule. Throws gw::Error for a null output or one from another graph.
std::vector<Node*> make_schedule(const Graph& graph, const std::vector<Node*>& outputs);

/// Liveness plan of `schedule` over a graph of `node_count` nodes. A value lives from its
/// producer's step to its last reader's step (outputs to the last step); a view (Reshape)
/// owns no bytes and stretches its root buffer's life over its own readers; a workspace
/// lives during its node's step only. Buffers are then placed in one arena, 64-byte
/// aligned, by place_ranges, so that values whose lifetimes are disjoint share bytes.
MemoryPlan plan_memory(const std::vector<Node*>& schedule, const std::vector<Node*>& outputs,
                       size_t node_count);

/// One buffer of the arena: `bytes` (aligned) alive over the steps [start, end]; placement
/// sets `offset`.
struct ArenaRange {
  int64_t bytes = 0;    ///< size, a multiple of the alignment (0: never written)
  int64_t start = 0;    ///< first step it is alive
  int64_t end = 0;      ///< last step it is alive
  int64_t offset = -1;  ///< where it goes (set by place_ranges)
};

/// Places `ranges` (listed in schedule order of their first step) over `steps` steps so that
/// two ranges alive at a common step never share bytes, and returns the arena size. Tries an
/// online best-fit allocator replayed over the steps, and, when the lifetimes are not too
/// crowded, offline greedy placement in three orders (arena_placement.cpp); keeps the smallest.
int64_t place_ranges(std::vector<ArenaRange>& ranges, size_t steps);

}  // namespace gw::runtime
