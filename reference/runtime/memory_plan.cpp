// memory_plan.cpp — liveness analysis and arena placement of an Executor's values.
//
// Every value a kernel writes (and every kernel workspace) gets a byte range in one arena.
// Two values may share bytes when their lifetimes do not overlap. A lifetime is a closed
// range of schedule steps [producer's step, last reader's step]: at its last reader's step a
// value is still being read while the reader's output is written, so the two must not share.
// Views (Reshape) own nothing: they alias the buffer of their root (the first non-view
// ancestor along input 0), whose lifetime then covers the view's readers too. Outputs live
// to the last step, since run() hands them back. A workspace lives during its step only.
//
// Placement (arena_placement.cpp) then gives each buffer an offset such that buffers alive
// at the same step never share bytes, keeping the arena close to the liveness bound (the
// most bytes alive at one step), which lab 07's memory estimate predicts.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "gw/error.h"
#include "gw/op_table.h"
#include "runtime/planning.h"

namespace gw::runtime {
namespace {

constexpr int64_t kAlignment = 64;  // what gw::allocate guarantees on the CPU; cache lines

int64_t align_up(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

MemoryPlan plan_memory(const std::vector<Node*>& schedule, const std::vector<Node*>& outputs,
                       size_t node_count) {
  MemoryPlan plan;
  plan.offset.assign(node_count, -1);
  plan.size.assign(node_count, 0);
  plan.workspace_offset.assign(node_count, -1);
  plan.workspace_size.assign(node_count, 0);
  if (schedule.empty()) return plan;

  // root[id]: the node whose buffer holds id's bytes (id itself, a leaf, or a view's root).
  // end[id]: last step that reads the buffer of root id. Leaves are never roots of arena
  // buffers: their tensors live outside the arena.
  std::vector<int> root(node_count);
  for (size_t i = 0; i < node_count; ++i) root[i] = static_cast<int>(i);
  std::vector<int64_t> start(node_count, -1), end(node_count, -1);
  auto in_arena = [&](int id) { return start[static_cast<size_t>(id)] >= 0; };

  for (size_t step = 0; step < schedule.size(); ++step) {
    const Node* node = schedule[step];
    const size_t id = static_cast<size_t>(node->id);
    for (const Node* in : node->inputs) {
      const int r = root[static_cast<size_t>(in->id)];
      if (in_arena(r)) end[static_cast<size_t>(r)] = static_cast<int64_t>(step);
    }
    const OpDef& def = node->def();
    if (def.is_view) {
      root[id] = root[static_cast<size_t>(node->inputs.at(0)->id)];
      continue;
    }
    start[id] = end[id] = static_cast<int64_t>(step);
    plan.size[id] = numel(node->shape) * static_cast<int64_t>(dtype_size(node->dtype));
    if (def.workspace != nullptr)
      plan.workspace_size[id] = static_cast<int64_t>(def.workspace(*node));
  }
  const int64_t last_step = static_cast<int64_t>(schedule.size()) - 1;
  for (const Node* out : outputs) {
    const int r = root[static_cast<size_t>(out->id)];
    if (in_arena(r)) end[static_cast<size_t>(r)] = last_step;
  }

  // Every value and workspace as a range of the arena with its lifetime, then placed.
  std::vector<ArenaRange> ranges;
  std::vector<std::pair<size_t, bool>> owner;  // (node id, is workspace) of each range
  for (size_t step = 0; step < schedule.size(); ++step) {
    const size_t id = static_cast<size_t>(schedule[step]->id);
    if (!in_arena(static_cast<int>(id))) continue;  // a view
    ranges.push_back({align_up(plan.size[id]), start[id], end[id], -1});
    owner.emplace_back(id, false);
    plan.unplanned_bytes += plan.size[id];
    if (plan.workspace_size[id] > 0) {
      const int64_t s = static_cast<int64_t>(step);
      ranges.push_back({align_up(plan.workspace_size[id]), s, s, -1});
      owner.emplace_back(id, true);
      plan.unplanned_bytes += plan.workspace_size[id];
    }
  }
  const int64_t arena = place_ranges(ranges, schedule.size());
  for (size_t k = 0; k < ranges.size(); ++k) {
    // A zero-byte range is never written: any offset will do.
    const int64_t offset = std::max<int64_t>(ranges[k].offset, 0);
    (owner[k].second ? plan.workspace_offset : plan.offset)[owner[k].first] = offset;
  }
  plan.arena_bytes = arena;
  // run() allocates exactly one buffer, the arena, and nothing else: that is the peak.
  plan.predicted_peak_bytes = plan.arena_bytes;
  return plan;
}

}  // namespace gw::runtime
