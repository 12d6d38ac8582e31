// op_profile.h — time per op type of one run of an executor, to find what limits a training
// step's tokens/s. It watches a real run through the executor's NodeObserver hook, so it
// measures the kernels of the executor's own device, arena and stream.
#pragma once

#include <string>
#include <vector>

#include "gw/executor.h"

namespace gw {

/// Time and work of one op type over a profiled run.
struct OpProfileEntry {
  std::string op;      ///< op name ("matmul")
  int64_t calls = 0;   ///< kernel launches
  double seconds = 0;  ///< wall time inside the kernels
  double flops = 0;    ///< op-table FLOPs
};

/// Runs `exec` twice on `feeds`, the first run to warm the arena and caches, the second
/// timed kernel by kernel (on a GPU each kernel is waited for, so its time is its own);
/// sorted by time, slowest first. Nodes that mutate their inputs (AdamW) do update their
/// state, twice, exactly as two real runs would.
std::vector<OpProfileEntry> profile_ops(Executor& exec, const Feeds& feeds);

/// A table of the entries with each one's share of the total and its GFLOP/s.
std::string op_profile_table(const std::vector<OpProfileEntry>& entries);

}  // namespace gw
