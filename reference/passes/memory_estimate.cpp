// memory_estimate.cpp — lab 07: predict the peak memory of a run from its schedule
// (gw/memory_estimate.h), before anything runs.
//
// Two kinds of bytes: leaves (weights, optimizer state, fed inputs, constants) are allocated
// before the run and stay; every other value gets its buffer at the step that computes it
// and gives it back after the last step that reads it (liveness). The peak is the step where
// the live values plus that step's kernel workspace weigh the most. value_bytes,
// workspace_bytes and storage_root (storage.cpp) give the sizes and the buffer behind a view.
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "gw/cost_model.h"
#include "gw/memory_estimate.h"

namespace gw {

MemoryEstimate predict_memory(const std::vector<Node*>& schedule,
                              const std::vector<Node*>& outputs) {
  MemoryEstimate estimate;
  // BEGIN LAB 07: 1. each leaf behind an input of a scheduled node or an output (storage_root), once: trainable Parameter -> weights, other Parameter -> optimizer_state, Input or Constant -> inputs; 2. the last step reading each non-leaf buffer (read through views too; outputs: the last step; a value nobody reads: its own step); 3. sweep the steps: add each value at its step, find the first step with the most live bytes + workspace_bytes, split the live values there by phase_of (forward and recompute -> activations), then free the values whose last step it was; also record the largest workspace
  // 1. Leaves: allocated once, before the run.
  std::unordered_set<const Node*> leaves;
  auto count_leaf = [&](const Node* leaf) {
    if (!leaf->is_leaf() || !leaves.insert(leaf).second) return;
    const int64_t bytes = numel(leaf->shape) * static_cast<int64_t>(dtype_size(leaf->dtype));
    if (leaf->op == Op::Parameter)
      (leaf->is_trainable() ? estimate.weights : estimate.optimizer_state) += bytes;
    else
      estimate.inputs += bytes;
  };
  // 2. Liveness: the last step that reads each buffer.
  const size_t steps = schedule.size();
  std::unordered_map<const Node*, size_t> last_read;
  for (size_t step = 0; step < steps; ++step) {
    const Node* node = schedule[step];
    for (const Node* in : node->inputs) {
      const Node* root = storage_root(*in);
      if (root->is_leaf()) count_leaf(root);
      else last_read[root] = step;  // steps only grow: the last write wins
    }
    if (value_bytes(*node) > 0) last_read.emplace(node, step);  // unread: its own step
  }
  for (const Node* out : outputs) {
    const Node* root = storage_root(*out);
    if (root->is_leaf()) count_leaf(root);
    else if (steps > 0) last_read[root] = steps - 1;
  }
  std::vector<std::vector<const Node*>> dies_after(steps);
  for (const auto& [value, step] : last_read) dies_after[step].push_back(value);
  // 3. The sweep.
  std::array<int64_t, kPhaseCount> live{};  // bytes alive now, by phase
  int64_t best = -1;
  for (size_t step = 0; step < steps; ++step) {
    const Node* node = schedule[step];
    live[static_cast<size_t>(phase_of(*node))] += value_bytes(*node);
    const int64_t workspace = workspace_bytes(*node);
    if (workspace > estimate.largest_workspace) estimate.largest_workspace = workspace;
    int64_t total = workspace;
    for (int64_t bytes : live) total += bytes;
    if (total > best) {
      best = total;
      estimate.peak_step = static_cast<int64_t>(step);
      estimate.activations = live[static_cast<size_t>(Phase::forward)] +
                             live[static_cast<size_t>(Phase::recompute)];
      estimate.gradients = live[static_cast<size_t>(Phase::backward)];
      estimate.optimizer_values = live[static_cast<size_t>(Phase::optimizer)];
      estimate.workspace = workspace;
    }
    for (const Node* value : dies_after[step])
      live[static_cast<size_t>(phase_of(*value))] -= value_bytes(*value);
  }
  // END LAB 07
  return estimate;
}

}  // namespace gw
