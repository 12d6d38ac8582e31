// memory_estimate.h — lab 07: the peak memory of a run, predicted from the schedule before
// anything runs.
//
// Training memory = what lives for the whole run (weights, optimizer state, the fed batch) +
// the values alive at the worst step of the schedule (activations kept for the backward
// pass, gradients, the kernel workspace of that step). A value is alive from the step that
// computes it to the last step that reads it; a view (Reshape) owns no bytes and keeps its
// root value alive while the view is read; the values handed back (the outputs) live to the
// end. The executor's allocator then measures the same run (gw/allocator.h, MemoryProbe):
// the prediction must be within a few percent of the measurement.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/graph.h"

namespace gw {

/// The bytes a run needs at its peak, by kind.
struct MemoryEstimate {
  // Held for the whole run: the leaves the schedule reads.
  int64_t weights = 0;          ///< trainable Parameters
  int64_t optimizer_state = 0;  ///< other Parameters (AdamW's m and v, accumulators)
  int64_t inputs = 0;           ///< Inputs (the fed batch) and Constants
  // Alive at the peak step, by the phase of the node that computed them (gw/cost_model.h).
  int64_t activations = 0;      ///< forward and recompute values
  int64_t gradients = 0;        ///< backward values: adjoints and weight gradients
  int64_t optimizer_values = 0; ///< optimizer values (gradient norm, squares)
  int64_t workspace = 0;        ///< the kernel workspace of the peak step
  int64_t largest_workspace = 0;  ///< the largest workspace of any step
  int64_t peak_step = -1;       ///< the schedule index of the peak (−1: empty schedule)

  /// Leaves: what is allocated before the run and stays.
  int64_t persistent() const { return weights + optimizer_state + inputs; }
  /// Values and workspace alive at the peak step.
  int64_t at_peak() const { return activations + gradients + optimizer_values + workspace; }
  /// The predicted peak: persistent() + at_peak().
  int64_t total() const { return persistent() + at_peak(); }
};

/// Bytes of the buffer a node's kernel writes: numel × dtype size (0 for a leaf or a view).
int64_t value_bytes(const Node& node);
/// Bytes of the scratch a node's kernel needs (OpDef::workspace; 0 when none).
int64_t workspace_bytes(const Node& node);
/// The node whose buffer holds `node`'s bytes: itself, or for a view the root of input 0.
const Node* storage_root(const Node& node);

/// Lab 07 (reference/passes/memory_estimate.cpp): the peak memory of running `schedule` (an
/// executor's schedule, gw/executor.h) with `outputs` handed back. Each leaf the schedule reads
/// counts once for the whole run. Each value that runs a kernel lives from its step to its
/// last reader's step (its root's readers through views included; an output to the last
/// step); a workspace lives during its own step only. The peak step is the first step where
/// the bytes alive (values + that step's workspace) are largest; the estimate splits them by
/// phase there. Alignment padding is not counted.
MemoryEstimate predict_memory(const std::vector<Node*>& schedule,
                              const std::vector<Node*>& outputs);

}  // namespace gw
