// cost_model.h — lab 07's counting pass: the FLOPs, bytes and arithmetic intensity of a graph,
// node by node, by part of the model (category) and by phase of a training step.
//
// The graph is built before it runs, so its cost is known in advance: every op declares its
// FLOP and byte counts in the op table (gw/op_table.h), and a pass adds them up over the
// nodes an executor will run. Categories and phases come from the scope each node was built
// in (Node::scope): the model names its parts ("layer0/attention", "layer0/mlp",
// "layer0/attn_norm", "embedding", "head"), every node a VJP rule builds is under "backward/"
// plus its forward node's scope, the optimizer builds under "optimizer", and the
// activation-checkpointing rewrite (gw/checkpointing.h) under "recompute/".
//
// FLOP convention: every arithmetic operation counts once, so a product of an m×n by an n×h
// matrix is m·h·(2n − 1) (n multiplies and n − 1 adds per output), about 2mnh.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gw/graph.h"

namespace gw {

/// What evaluating a set of nodes costs, by the op table's counts.
struct GraphCost {
  double flops = 0;    ///< floating-point operations (lab 07's convention)
  double bytes = 0;    ///< bytes read and written by kernels that stream each operand once
  int64_t kernels = 0; ///< kernel launches (views and leaves launch none)
  /// FLOPs per byte moved: the arithmetic intensity (0 when nothing moves).
  double intensity() const { return bytes > 0 ? flops / bytes : 0.0; }
  /// Adds another cost to this one.
  GraphCost& operator+=(const GraphCost& other);
};

/// The phase of a training step that a node belongs to (from the first part of its scope).
enum class Phase {
  forward,    ///< anything not under one of the names below
  backward,   ///< scope "backward/...": built by gradients() and the VJP rules
  recompute,  ///< scope "recompute/...": activation checkpointing's second forward
  optimizer,  ///< scope "optimizer/...": gradient norm, clipping, AdamW
};
/// Number of phases.
constexpr size_t kPhaseCount = 4;

/// The part of the model a node belongs to (from the last part of its scope that names one).
enum class Category { embedding, attention, mlp, norm, head, optimizer, other };
/// Number of categories.
constexpr size_t kCategoryCount = 7;

/// "forward", "backward", "recompute", "optimizer".
const char* phase_name(Phase phase);
/// "embedding", "attention", "mlp", "norm", "head", "optimizer", "other".
const char* category_name(Category category);
/// The phase of a node: Phase::backward when its scope starts with "backward", and so on;
/// Phase::forward otherwise.
Phase phase_of(const Node& node);
/// The category of a node: the last component of its scope that is a category's name or
/// ends in "_" + that name ("layer3/attn_norm" is norm); Category::other when none is.
Category category_of(const Node& node);

/// The op table's FLOP count of one evaluation of `node`. Throws gw::Error naming the op when
/// its declaration has no FLOP rule: a missing rule must not count as 0.
double node_flops(const Node& node);
/// The op table's byte count of one evaluation of `node`.
double node_bytes(const Node& node);
/// True for a node that launches a kernel (not a leaf, not a view).
bool runs_a_kernel(const Node& node);

/// The cost of one kernel launch in a CostReport.
struct NodeCost {
  const Node* node = nullptr;  ///< the node
  double flops = 0;            ///< its FLOPs
  double bytes = 0;            ///< its bytes
  /// Its arithmetic intensity (FLOPs per byte; 0 when it moves nothing).
  double intensity() const { return bytes > 0 ? flops / bytes : 0.0; }
};

/// What the counting pass finds: every kernel's cost, and their sums by phase and category.
struct CostReport {
  /// Every node that runs a kernel, in schedule order.
  std::vector<NodeCost> nodes;
  /// by_part[phase][category]: the sum over the nodes of that phase and category.
  std::array<std::array<GraphCost, kCategoryCount>, kPhaseCount> by_part{};

  /// The sum for one phase and one category.
  const GraphCost& at(Phase phase, Category category) const;
  /// The sum over every category of a phase.
  GraphCost phase(Phase phase) const;
  /// The sum over every phase of a category.
  GraphCost category(Category category) const;
  /// The whole schedule.
  GraphCost total() const;
};

/// The cost of evaluating every node of `nodes` once (an executor's schedule, say): the total
/// of count_costs(nodes). Leaves and views cost nothing.
GraphCost count_cost(const std::vector<Node*>& nodes);

// ---- lab 07: reference/passes/count.cpp ---------------------------------------------------

/// The counting pass: for each node of `schedule` that runs a kernel, its FLOPs and bytes
/// (node_flops, node_bytes), listed in order and added to the sum of its phase and category.
/// Leaves and views are skipped. Throws gw::Error naming the op of a node without a FLOP rule.
CostReport count_costs(const std::vector<Node*>& schedule);

/// The cost of running `nodes` (distinct, in a topological order) as one fused kernel: the
/// FLOPs of all of them, but only the bytes that cross the kernel's boundary: each value made
/// outside the set and read inside it is read once; each value made inside and needed
/// outside (read by a node not in the set, or in `outputs`) is written once. Intermediate
/// values stay in registers. E = D + (A + B)·C costs 3 FLOPs over 5 values: intensity 3/5 in
/// elements, against 1/3 for each unfused op.
GraphCost fused_cost(const std::vector<Node*>& nodes, const std::vector<Node*>& outputs);

}  // namespace gw
