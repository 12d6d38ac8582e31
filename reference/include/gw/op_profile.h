// op_profile.h — time per op type of one run of an executor's schedule, to find what limits
// a training step's tokens/s.
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

/// Runs `exec`'s schedule once node by node with fresh buffers (not the executor's arena),
/// timing each kernel; sorted by time, slowest first. Mutating nodes (AdamW) do update their
/// state, exactly as a real run would.
std::vector<OpProfileEntry> profile_ops(const Executor& exec, const Feeds& feeds);

/// A table of the entries with each one's share of the total and its GFLOP/s.
std::string op_profile_table(const std::vector<OpProfileEntry>& entries);

}  // namespace gw
