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
/// aligned, by simulating a best-fit offset allocator in schedule order, so that values
/// whose lifetimes are disjoint share bytes.
MemoryPlan plan_memory(const std::vector<Node*>& schedule, const std::vector<Node*>& outputs,
                       size_t node_count);

}  // namespace gw::runtime
