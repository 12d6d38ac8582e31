// autocast.h — lab 06's graph passes for mixed precision: run a graph's products in f16 or
// bf16 while what is sensitive to range and rounding stays in f32, and keep the weights as
// 16-bit copies of f32 master weights.
//
// Both passes rewrite a forward graph in place, before gradients() differentiates it, so
// that the backward pass inherits the precisions: the VJP of a bf16 matmul is two bf16
// matmuls, the VJP of cast(x, bf16) is cast(x̄, f32). Passes may append nodes, so after one
// the graph's creation order need not be a topological order any more; executors and
// gradients() walk from their outputs and do not care.
#pragma once

#include <string>
#include <vector>

#include "gw/graph.h"

namespace gw {

/// What autocast does with the inputs of an op.
enum class CastPolicy {
  low,     ///< compute in the low dtype: every f32/f16/bf16 input is cast to it (the kernel
           ///< accumulates in f32): MatMul, Attention, FlashAttention (whose packed output,
           ///< with the log-sum-exp, stays f32)
  f32,     ///< compute in f32: every f16/bf16 input is cast to f32 (norms, softmax, the loss,
           ///< reductions, exp/log/sqrt/division, RoPE's rotations)
  follow,  ///< compute in the inputs' dtype; when f32/f16/bf16 inputs differ, those narrower
           ///< than the widest are cast to it (f32 when f16 meets bf16): elementwise
           ///< arithmetic, activations, shape ops, Embedding
  keep,    ///< untouched: leaves, Cast, backward ops, AdamW, communication, quantization
};

/// The policy of `op` (the table above, one entry per op).
CastPolicy cast_policy(Op op);

/// The nodes reachable from `outputs` (through inputs), each once, every node after its
/// inputs (a depth-first post-order from each output in turn).
std::vector<Node*> reachable_nodes(const std::vector<Node*>& outputs);

/// Points every input slot of `nodes` that holds `from` at `to` instead; returns how many.
int replace_uses(const std::vector<Node*>& nodes, Node* from, Node* to);

/// The nodes among `nodes` that read `node` (each once, in the order of `nodes`).
std::vector<Node*> consumers(const std::vector<Node*>& nodes, const Node* node);

/// Sets a graph's scope outright while it lives (Graph::set_scope), restoring the previous
/// one when it goes: passes build a node in the scope of the node it serves.
class ScopeAs {
 public:
  /// Enters `scope` (a full path, not nested inside the current one).
  ScopeAs(Graph& graph, const std::string& scope) : graph_(graph), previous_(graph.set_scope(scope)) {}
  /// Restores the previous scope.
  ~ScopeAs() { graph_.set_scope(previous_); }
  ScopeAs(const ScopeAs&) = delete;
  ScopeAs& operator=(const ScopeAs&) = delete;

 private:
  Graph& graph_;
  std::string previous_;
};

/// What autocast did.
struct AutocastResult {
  /// The outputs to run: outputs[k] as given, or cast(outputs[k], f32) when the pass made an
  /// f32 output 16-bit (the graph's f32 outputs stay f32).
  std::vector<Node*> outputs;
  /// Nodes of the graph as given (reachable, not leaves; Casts already there count, those
  /// the pass adds do not) whose dtype is the low one after the rewrite, before folding.
  int low_nodes = 0;
  /// Cast nodes the pass created (one per (value, dtype) pair), even those folded later.
  int casts_inserted = 0;
  /// fold_casts' count: reachable Casts before folding minus after (the pass's own casts
  /// and those already in the graph alike).
  int casts_folded = 0;
};

/// Rewrites the graph reachable from `outputs` for mixed precision in `low` (f16 or bf16):
/// visits every reachable non-leaf node after its inputs, applies its cast_policy (inserting
/// Cast nodes into its input slots; one Cast per (value, dtype), shared by every consumer,
/// built in the scope of the first consumer that needs it; an output's cast back to f32, if
/// no consumer made it already, in the output's own scope), then re-runs the node's shape
/// and dtype inference, since its inputs' dtypes may have changed. f64 values are left
/// alone. Ends with fold_casts. gw::DTypeError when `low` is not f16 or bf16.
AutocastResult autocast(const std::vector<Node*>& outputs, DType low);

/// What fold_casts did.
struct FoldResult {
  std::vector<Node*> outputs;  ///< the outputs, with folded casts replaced
  int folded = 0;              ///< reachable Cast nodes before, minus reachable ones after
};

/// Removes redundant casts reachable from `outputs`: cast(cast(z, t₁), t₂) reads z directly
/// (becomes cast(z, t₂)) when the inner cast is exact (t₁ holds every value of z's dtype:
/// f16/bf16 → f32 → f64, i8 → i32, i8 → any float, i32 → f64), and a cast to its input's own
/// dtype is replaced by its input everywhere. Inexact pairs stay (cast(cast(x, bf16), f32)
/// rounds x). Rewrites in place: the outer Cast's input slot is pointed at z, and every
/// input slot that read a removed cast reads its input instead.
FoldResult fold_casts(const std::vector<Node*>& outputs);

/// A weight kept twice: an f32 master and the 16-bit copy the model computes with.
struct WeightCopy {
  Node* master = nullptr;   ///< the f32 Parameter the optimizer updates
  Node* copy = nullptr;     ///< a trainable Parameter (dtype low) holding round(master)
  Node* refresh = nullptr;  ///< cast(master, low), the first of the master's casts in
                            ///< reachable order: run it after each optimizer step and copy
                            ///< its value into `copy`
};

/// The result of keep_low_precision_copies.
struct LowPrecisionWeights {
  DType dtype = DType::bf16;      ///< the copies' dtype
  std::vector<WeightCopy> copies; ///< one per master that got a copy, in masters' order
  /// One per master, in order: its copy, or the master itself when it got none. These are
  /// what gradients() differentiates.
  std::vector<Node*> trainable;
};

/// After autocast: every f32 Parameter of `masters` whose reachable consumers are all
/// cast(master, low) nodes gets a persistent, trainable 16-bit copy (named master->name +
/// "." + dtype_name(low), value master's rounded to low, or no value in a shapes-only graph),
/// and every use of those casts reads the copy instead. The model then holds 2 bytes per
/// such weight, its gradients come out in `low`, and the optimizer updates the f32 master,
/// from which `refresh` rounds the next copy: an update smaller than half a 16-bit step is
/// not lost, it accumulates in the master. Masters with any other consumer keep being read
/// directly (norm weights, read in f32). An output that is itself such a cast keeps reading
/// the master. The masters keep their trainable flag (gradients() differentiates whatever
/// it is given: pass `trainable`). gw::UsageError when a master is not an f32 Parameter.
LowPrecisionWeights keep_low_precision_copies(const std::vector<Node*>& outputs,
                                              const std::vector<Node*>& masters, DType low);

}  // namespace gw
