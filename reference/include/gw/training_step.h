// training_step.h — one training step of the reference model as a single graph: forward,
// backward (optionally with activation checkpointing) and AdamW, run by one executor.
//
// This is the graph lab 07 counts and whose memory it predicts: gw-count builds it (in a
// shapes-only graph for models too large to allocate), and the memory tests run it and
// compare the allocator's measured peak with the prediction. The trainer (gw/trainer.h) runs
// the same nodes split over three executors, so that it can skip the update of a step whose
// loss is not finite.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/checkpointing.h"
#include "gw/cost_model.h"
#include "gw/graph.h"
#include "gw/memory_estimate.h"
#include "gw/model.h"
#include "gw/optim.h"
#include "gw/tensor.h"

namespace gw {

/// How to build a training step.
struct TrainingStepOptions {
  int64_t batch = 1;                    ///< b
  int64_t sequence = 1;                 ///< s (at most the model's block_size)
  bool checkpoint_activations = false;  ///< recompute each block in the backward pass
  /// f32, or bf16/f16 for mixed precision (lab 06): autocast and 16-bit weight copies of the
  /// f32 weights, before the gradients (measure_activation_memory only)
  DType precision = DType::f32;
  AdamWOptions adamw;                   ///< optimizer settings
  uint64_t seed = 1337;                 ///< weight init
  double init_std = 0.02;               ///< weight init
};

/// The nodes of one training step.
struct TrainingStep {
  Transformer model;                ///< the weights
  Node* x = nullptr;                ///< Input i32 (b, s): token ids
  Node* y = nullptr;                ///< Input i32 (b, s): targets
  ForwardPass forward;              ///< logits, loss and the residual stream
  std::vector<Node*> grads;         ///< one per model.params, same order
  OptimizerNodes optimizer;         ///< AdamW's nodes (optimizer.hyper is fed each step)
  CheckpointRewrite rewrite;        ///< what checkpointing changed (zeros without it)
  /// What an executor runs: the loss, the gradients last layer first, then the updates. The
  /// schedule follows this order (a depth-first walk from each output in turn), so the
  /// backward pass runs block by block from the last, and each block's activations (or
  /// their recomputed copies) die once its gradients are made. (Starting from the updates
  /// instead would not do: the clipping norm reads every gradient in the weights' order,
  /// first layer first, and the walk would make every input adjoint before any weight's.)
  std::vector<Node*> outputs;
};

/// Builds a training step of a model of `shape` into `graph` (a shapes-only graph allocates
/// nothing).
TrainingStep build_training_step(Graph& graph, const ModelShape& shape,
                                 const TrainingStepOptions& options);

/// One training step run once on the CPU with the allocator watching (gw/allocator.h): the
/// prediction of lab 07 beside what the run took.
struct MeasuredStep {
  MemoryEstimate predicted;         ///< predict_memory on the step's schedule, before the run
  int64_t measured_peak = 0;        ///< the allocator's peak, from before the graph was built
  int64_t measured_persistent = 0;  ///< bytes held once the graph and the feeds were made
  double loss = 0;                  ///< the step's loss
  CostReport cost;                  ///< count_costs of the schedule
  CheckpointRewrite rewrite;        ///< what checkpointing changed
  std::vector<Tensor> grads;        ///< every weight's gradient, in model.params order

  /// Bytes of the run itself (values and workspace), as measured: peak − persistent.
  int64_t measured_values() const { return measured_peak - measured_persistent; }
};

/// Builds one training step of `shape` (forward, backward, AdamW), predicts its memory, and
/// runs it once on random token ids drawn from `data_seed`, measuring the allocator's peak.
/// Everything the run allocates counts, so run nothing else meanwhile.
MeasuredStep measure_training_step(const ModelShape& shape, const TrainingStepOptions& options,
                                   uint64_t data_seed = 7);

/// The activation memory of a forward and backward pass, measured: the allocator's peak above
/// the weights and the batch during a run in which each weight's gradient is reduced to a
/// number as soon as it is made (as an optimizer that steps each weight during the backward
/// pass would), so that gradients do not pile up and the peak is what the backward pass keeps
/// of the forward one. With options.precision bf16 or f16 the forward pass is autocast and
/// differentiated through 16-bit weight copies first, as gw-train --precision does. Weights
/// from `options.seed`, token ids from `data_seed`.
int64_t measure_activation_memory(const ModelShape& shape, const TrainingStepOptions& options,
                                  uint64_t data_seed = 7);

/// `nodes` in reverse order: gradients and updates listed last layer first make the
/// executor's schedule run the backward pass block by block (see TrainingStep::outputs).
std::vector<Node*> last_layer_first(const std::vector<Node*>& nodes);

}  // namespace gw
