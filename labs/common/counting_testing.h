// counting_testing.h — what lab 07's public and hidden tests share: run one training step of
// the reference model with the allocator watching, so that the prediction of
// gw::predict_memory can be compared with the measured peak, and the gradients with and
// without activation checkpointing can be compared bit by bit; and measure the activation
// memory of a forward and backward pass.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gw/allocator.h"
#include "gw/cost_model.h"
#include "gw/executor.h"
#include "gw/memory_estimate.h"
#include "gw/ops.h"
#include "gw/optim.h"
#include "gw/rng.h"
#include "gw/trainer.h"
#include "gw/training_step.h"
#include "gw/transformer_costs.h"

namespace gw::labs {

/// A model of `layers` blocks, `heads` heads, width `width`, SwiGLU width `mlp`, vocabulary
/// `vocab` and context `context`.
inline ModelShape model_of(int64_t layers, int64_t heads, int64_t width, int64_t mlp,
                           int64_t vocab, int64_t context) {
  ModelShape m;
  m.n_layer = layers, m.n_head = heads, m.n_embd = width, m.mlp_hidden = mlp;
  m.vocab_size = vocab, m.block_size = context;
  return m;
}

/// The trainer's cpu-tiny model: 4 layers, 4 heads, h 128, i 352, s 64, with tinyshakespeare's
/// 65 characters.
inline ModelShape cpu_tiny() { return model_of(4, 4, 128, 352, 65, 64); }

/// The course's letters of a model and a batch.
inline LlamaShape letters_of(const ModelShape& m, int64_t b, int64_t s) {
  return {b, s, m.n_embd, m.n_head, m.mlp_hidden, m.vocab_size, m.n_layer};
}

/// Random token ids in [0, vocab) for a (b, s) batch, from `seed` and `stream`.
inline Tensor random_ids(int64_t b, int64_t s, int64_t vocab, uint64_t seed, uint64_t stream) {
  std::vector<int32_t> ids(static_cast<size_t>(b * s));
  for (size_t j = 0; j < ids.size(); ++j)
    ids[j] = static_cast<int32_t>(uniform_int(seed, stream, j, static_cast<uint64_t>(vocab)));
  return Tensor::from_vector<int32_t>({b, s}, ids);
}

/// One measured training step.
struct MeasuredStep {
  MemoryEstimate predicted;       ///< gw::predict_memory on the step's schedule, before the run
  int64_t measured_peak = 0;      ///< the allocator's peak, from before the graph was built
  int64_t measured_persistent = 0;  ///< bytes held once the graph and the feeds were made
  double loss = 0;                ///< the step's loss
  std::vector<std::vector<float>> grads;  ///< every weight's gradient, in model.params order
  CostReport cost;                ///< gw::count_costs of the schedule
  CheckpointRewrite rewrite;      ///< what checkpointing changed

  /// Bytes of the run itself (values and workspace), as measured: peak − persistent.
  int64_t measured_values() const { return measured_peak - measured_persistent; }
};

/// Builds one training step (forward, backward, AdamW) of `shape` on a batch of b rows of s
/// tokens, predicts its memory, runs it once with the allocator watching, and keeps the
/// gradients. Token ids come from `seed`.
inline MeasuredStep measure_training_step(const ModelShape& shape, int64_t b, int64_t s,
                                          bool checkpoint, uint64_t seed = 7) {
  MeasuredStep out;
  std::vector<Tensor> grads;
  set_thread_count(1);  // small GEMMs: one thread is fastest, and a loaded machine stays fast
  {
    const int64_t before = memory_stats().current;
    MemoryProbe probe;
    Graph graph;
    TrainingStepOptions options;
    options.batch = b;
    options.sequence = s;
    options.checkpoint_activations = checkpoint;
    TrainingStep step = build_training_step(graph, shape, options);
    std::vector<Node*> outputs = step.outputs;
    // The gradients are outputs already (TrainingStep::outputs): hand them back.
    Feeds feeds;
    feeds[step.x] = random_ids(b, s, shape.vocab_size, seed, 0);
    feeds[step.y] = random_ids(b, s, shape.vocab_size, seed, 1);
    feeds[step.optimizer.hyper] = adamw_hyper(1e-3, 1, 0.9, 0.95);
    Executor executor(graph, outputs);
    out.predicted = predict_memory(executor.schedule(), outputs);
    out.cost = count_costs(executor.schedule());
    out.rewrite = step.rewrite;
    out.measured_persistent = memory_stats().current - before;  // weights, state, feeds
    const std::vector<Tensor> results = executor.run(feeds);
    out.measured_peak = probe.peak_extra_bytes();
    out.loss = results[0].item();
    for (const Node* g : step.grads)
      for (size_t k = 0; k < outputs.size(); ++k)
        if (outputs[k] == g) grads.push_back(results[k]);
    for (const Tensor& g : grads) {
      const float* p = g.data<float>();
      out.grads.emplace_back(p, p + g.numel());
    }
  }
  return out;
}

/// The activation memory of a forward and backward pass, measured: the allocator's peak
/// during a run in which every weight's gradient is reduced to a number as soon as it is made
/// (as an optimizer that steps each weight during the backward pass would), so that gradients
/// do not pile up and the peak is what the backward pass keeps of the forward one. Bytes
/// above what was held before the run (weights and the batch).
inline int64_t measure_activation_memory(const ModelShape& shape, int64_t b, int64_t s,
                                         bool checkpoint, uint64_t seed = 7) {
  set_thread_count(1);
  Graph graph;
  const Transformer model = make_transformer(graph, shape, seed);
  Node* x = graph.input("x", {b, s}, DType::i32);
  Node* y = graph.input("y", {b, s}, DType::i32);
  const ForwardPass forward = model.forward(x, y);
  const std::vector<Node*> grads = model_gradients(model, forward, checkpoint);
  std::vector<Node*> outputs = {forward.loss};
  for (Node* g : last_layer_first(grads)) outputs.push_back(sum(g));
  Executor executor(graph, outputs);
  const Feeds feeds = {{x, random_ids(b, s, shape.vocab_size, seed, 0)},
                       {y, random_ids(b, s, shape.vocab_size, seed, 1)}};
  MemoryProbe probe;
  executor.run(feeds);
  return probe.peak_extra_bytes();
}

/// |a − b| ≤ tolerance·b, with a message giving both numbers and the ratio.
inline ::testing::AssertionResult within(const std::string& what, double a, double b,
                                         double tolerance) {
  const double ratio = b != 0 ? a / b : 0.0;
  if (b > 0 && std::abs(a - b) <= tolerance * b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << a << " against " << b << " (ratio "
                                       << ratio << ", allowed 1 ± " << tolerance << ")";
}

}  // namespace gw::labs
