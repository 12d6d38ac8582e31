// memory_plan.cpp — liveness analysis and arena placement of an Executor's values.
//
// Every value a kernel writes (and every kernel workspace) gets a byte range in one arena.
// Two values may share bytes when their lifetimes do not overlap. A lifetime is a closed
// range of schedule steps [producer's step, last reader's step]: at its last reader's step a
// value is still being read while the reader's output is written, so the two must not share.
// Views (Reshape) own nothing: they alias the buffer of their root (the first non-view
// ancestor along input 0), whose lifetime then covers the view's readers too. Outputs live
// to the last step, since run() hands them back.
//
// Placement simulates an offset allocator over the schedule: at each step the buffers whose
// life ended at the step before are freed (merged with free neighbours), then the step's
// output and workspace take the smallest free block that fits (best fit), or grow the arena
// at its top. That is O(n log n) in the number of buffers, so 10⁵-node graphs plan quickly.
// The arena size is the top's high-water mark.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "gw/error.h"
#include "gw/op_table.h"
#include "runtime/planning.h"

namespace gw::runtime {
namespace {

constexpr int64_t kAlignment = 64;  // what gw::allocate guarantees on the CPU; cache lines

int64_t align_up(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

/// Best-fit placement of byte ranges in a growing arena.
class OffsetAllocator {
 public:
  /// Returns the offset of a new range of `bytes` (a multiple of kAlignment).
  int64_t take(int64_t bytes) {
    if (bytes == 0) return 0;  // nothing is written: any offset will do
    auto fit = by_size_.lower_bound({bytes, -1});
    if (fit != by_size_.end()) {
      const auto [size, offset] = *fit;
      erase(offset, size);
      if (size > bytes) insert(offset + bytes, size - bytes);
      return offset;
    }
    // No free block fits: grow the arena, starting inside a free block that ends at the top.
    int64_t offset = top_;
    if (!by_offset_.empty()) {
      const auto last = std::prev(by_offset_.end());
      if (last->first + last->second == top_) {
        offset = last->first;
        erase(last->first, last->second);
      }
    }
    top_ = offset + bytes;
    return offset;
  }

  /// Gives a range back, merging it with free neighbours.
  void give_back(int64_t offset, int64_t bytes) {
    if (bytes == 0) return;
    auto after = by_offset_.lower_bound(offset);
    if (after != by_offset_.end() && offset + bytes == after->first) {
      bytes += after->second;
      erase(after->first, after->second);
    }
    auto before = by_offset_.lower_bound(offset);
    if (before != by_offset_.begin()) {
      --before;
      if (before->first + before->second == offset) {
        offset = before->first;
        bytes += before->second;
        erase(before->first, before->second);
      }
    }
    insert(offset, bytes);
  }

  /// Bytes the arena needs: the highest end of a range ever handed out.
  int64_t high_water() const { return top_; }

 private:
  void insert(int64_t offset, int64_t bytes) {
    by_offset_[offset] = bytes;
    by_size_.insert({bytes, offset});
  }
  void erase(int64_t offset, int64_t bytes) {
    by_offset_.erase(offset);
    by_size_.erase({bytes, offset});
  }

  std::map<int64_t, int64_t> by_offset_;           // free blocks: offset -> bytes
  std::set<std::pair<int64_t, int64_t>> by_size_;  // the same blocks as (bytes, offset)
  int64_t top_ = 0;
};

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

  // Buffers to free at the start of each step (those whose life ended at the step before).
  std::vector<std::vector<int>> ends_at(schedule.size());
  for (const Node* node : schedule)
    if (in_arena(node->id))
      ends_at[static_cast<size_t>(end[static_cast<size_t>(node->id)])].push_back(node->id);

  OffsetAllocator arena;
  int64_t previous_workspace = -1;  // node id whose workspace is still held
  for (size_t step = 0; step < schedule.size(); ++step) {
    if (step > 0) {
      for (int id : ends_at[step - 1])
        arena.give_back(plan.offset[static_cast<size_t>(id)],
                        align_up(plan.size[static_cast<size_t>(id)]));
      if (previous_workspace >= 0) {
        const size_t w = static_cast<size_t>(previous_workspace);
        arena.give_back(plan.workspace_offset[w], align_up(plan.workspace_size[w]));
        previous_workspace = -1;
      }
    }
    const Node* node = schedule[step];
    const size_t id = static_cast<size_t>(node->id);
    if (!in_arena(node->id)) continue;  // a view
    plan.offset[id] = arena.take(align_up(plan.size[id]));
    plan.unplanned_bytes += plan.size[id];
    if (plan.workspace_size[id] > 0) {
      plan.workspace_offset[id] = arena.take(align_up(plan.workspace_size[id]));
      plan.unplanned_bytes += plan.workspace_size[id];
      previous_workspace = node->id;
    }
  }
  plan.arena_bytes = arena.high_water();
  // run() allocates exactly one buffer, the arena, and nothing else: that is the peak.
  plan.predicted_peak_bytes = plan.arena_bytes;
  return plan;
}

}  // namespace gw::runtime
