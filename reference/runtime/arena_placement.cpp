// arena_placement.cpp — where each buffer of an executor's arena goes (place_ranges of
// runtime/planning.h): offsets such that buffers alive at a common step never share bytes,
// in an arena as small as we can make it.
//
// The bound is the liveness peak: the most bytes alive at one step. Two ways to get near it:
//   - online: replay the steps with a best-fit offset allocator (free what died at the step
//     before, then take the step's buffers). O(n log n), but blind to the future: on
//     attention graphs it lost up to a third over the bound.
//   - offline and greedy (as TensorFlow Lite's arena planner, after Pisarchyk and Lee,
//     "Efficient memory management for deep neural net inference", 2020): place the buffers
//     one by one, large ones first, each in the smallest gap left between the already placed
//     buffers whose lifetimes overlap its own (or above them all). Tried in three orders: by
//     size, and twice "by breadth" (the fullest steps first). On the training graphs of the
//     tests it lands within a few percent of the bound, mostly on it.
// The offline way enumerates the placed buffers each new one overlaps, which is quadratic when
// thousands of buffers live at once (eval of every node of a 10⁵-node chain); it runs only
// when the lifetimes are not that crowded. The smallest arena found wins.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <utility>

#include "runtime/planning.h"

namespace gw::runtime {
namespace {

/// Best-fit placement of byte ranges in a growing arena.
class OffsetAllocator {
 public:
  /// Returns the offset of a new range of `bytes` (a multiple of the alignment).
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

/// The online way: replay the steps, freeing at each step what died at the step before, then
/// taking the ranges that start there in their listed order.
int64_t place_online(std::vector<ArenaRange>& ranges, size_t steps) {
  std::vector<std::vector<size_t>> starts_at(steps), ends_at(steps);
  for (size_t k = 0; k < ranges.size(); ++k) {
    starts_at[static_cast<size_t>(ranges[k].start)].push_back(k);
    ends_at[static_cast<size_t>(ranges[k].end)].push_back(k);
  }
  OffsetAllocator arena;
  for (size_t step = 0; step < steps; ++step) {
    if (step > 0)
      for (size_t k : ends_at[step - 1]) arena.give_back(ranges[k].offset, ranges[k].bytes);
    for (size_t k : starts_at[step]) ranges[k].offset = arena.take(ranges[k].bytes);
  }
  return arena.high_water();
}

/// The offline way in the order `order`: each range in the smallest gap between the placed
/// ranges whose lifetimes overlap its own, or above them all. The overlapping ones are found
/// by walking its steps through the short-lived ranges placed at each step, and by checking
/// the long-lived ones (gradients, outputs) one by one.
int64_t place_in_order(std::vector<ArenaRange>& ranges, const std::vector<size_t>& order,
                       size_t steps) {
  constexpr int64_t kLongLived = 64;                  // steps; longer ones are listed apart
  std::vector<std::vector<size_t>> placed_at(steps);  // placed short-lived ranges per step
  std::vector<size_t> placed_long;                    // placed long-lived ranges
  std::vector<size_t> seen(ranges.size(), SIZE_MAX);  // dedupe stamp per range
  std::vector<std::pair<int64_t, int64_t>> taken;      // (offset, end) of overlapping ones
  int64_t arena = 0;
  for (size_t k : order) {
    ArenaRange& r = ranges[k];
    if (r.bytes == 0) {
      r.offset = 0;  // never written
      continue;
    }
    taken.clear();
    auto take = [&](size_t other) {
      taken.emplace_back(ranges[other].offset, ranges[other].offset + ranges[other].bytes);
    };
    for (int64_t step = r.start; step <= r.end; ++step)
      for (size_t other : placed_at[static_cast<size_t>(step)])
        if (seen[other] != k) seen[other] = k, take(other);
    for (size_t other : placed_long)
      if (ranges[other].start <= r.end && ranges[other].end >= r.start) take(other);
    std::sort(taken.begin(), taken.end());
    int64_t best = -1, best_gap = INT64_MAX, top = 0;
    for (const auto& [offset, end] : taken) {
      const int64_t gap = offset - top;
      if (gap >= r.bytes && gap < best_gap) best = top, best_gap = gap;
      top = std::max(top, end);
    }
    r.offset = best >= 0 ? best : top;
    arena = std::max(arena, r.offset + r.bytes);
    if (r.end - r.start >= kLongLived) {
      placed_long.push_back(k);
    } else {
      for (int64_t step = r.start; step <= r.end; ++step)
        placed_at[static_cast<size_t>(step)].push_back(k);
    }
  }
  return arena;
}

/// Pisarchyk and Lee's "greedy by breadth" order: the steps with the most bytes alive first;
/// within a step, its unplaced ranges largest first, or (long_first) longest-lived first.
std::vector<size_t> breadth_order(const std::vector<ArenaRange>& ranges,
                                  const std::vector<size_t>& by_size, size_t steps,
                                  bool long_first) {
  std::vector<int64_t> breadth(steps, 0);
  std::vector<std::vector<size_t>> alive(steps);  // largest first, from by_size
  for (size_t k : by_size)
    for (int64_t t = ranges[k].start; t <= ranges[k].end; ++t) {
      breadth[static_cast<size_t>(t)] += ranges[k].bytes;
      alive[static_cast<size_t>(t)].push_back(k);
    }
  std::vector<size_t> step_order(steps);
  std::iota(step_order.begin(), step_order.end(), size_t{0});
  std::stable_sort(step_order.begin(), step_order.end(),
                   [&](size_t a, size_t b) { return breadth[a] > breadth[b]; });
  std::vector<size_t> order;
  std::vector<char> queued(ranges.size(), 0);
  for (size_t t : step_order) {
    std::vector<size_t>& here = alive[t];
    if (long_first)
      std::stable_sort(here.begin(), here.end(), [&](size_t a, size_t b) {
        return ranges[a].end - ranges[a].start > ranges[b].end - ranges[b].start;
      });
    for (size_t k : here)
      if (!queued[k]) queued[k] = 1, order.push_back(k);
  }
  return order;
}

}  // namespace

int64_t place_ranges(std::vector<ArenaRange>& ranges, size_t steps) {
  int64_t best = place_online(ranges, steps);
  // Σ over steps of the ranges alive there: the offline way's work grows with it.
  constexpr int64_t kMaxCrowding = 20'000'000;
  int64_t crowding = 0;
  for (const ArenaRange& r : ranges) crowding += r.end - r.start + 1;
  if (crowding > kMaxCrowding) return best;

  std::vector<size_t> by_size(ranges.size());
  std::iota(by_size.begin(), by_size.end(), size_t{0});
  // Ties keep schedule order, so the plan is deterministic.
  std::stable_sort(by_size.begin(), by_size.end(),
                   [&](size_t a, size_t b) { return ranges[a].bytes > ranges[b].bytes; });
  const std::vector<std::vector<size_t>> orders = {
      by_size, breadth_order(ranges, by_size, steps, false),
      breadth_order(ranges, by_size, steps, true)};
  for (const std::vector<size_t>& order : orders) {
    std::vector<ArenaRange> trial = ranges;
    const int64_t arena = place_in_order(trial, order, steps);
    if (arena < best) best = arena, ranges = std::move(trial);
  }
  return best;
}

}  // namespace gw::runtime
