// training_step.cpp — one training step as one graph (gw/training_step.h): the model's
// forward pass and loss, its gradients (with or without activation checkpointing) and AdamW.
#include "gw/training_step.h"

#include "gw/allocator.h"
#include "gw/autocast.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/rng.h"

namespace gw {
namespace {

// Random token ids in [0, vocab) for a (b, s) batch, from `seed` and `stream`.
Tensor random_ids(int64_t b, int64_t s, int64_t vocab, uint64_t seed, uint64_t stream) {
  std::vector<int32_t> ids(static_cast<size_t>(b * s));
  for (size_t j = 0; j < ids.size(); ++j)
    ids[j] = static_cast<int32_t>(uniform_int(seed, stream, j, static_cast<uint64_t>(vocab)));
  return Tensor::from_vector<int32_t>({b, s}, ids);
}

}  // namespace

std::vector<Node*> last_layer_first(const std::vector<Node*>& nodes) {
  return std::vector<Node*>(nodes.rbegin(), nodes.rend());
}

TrainingStep build_training_step(Graph& graph, const ModelShape& shape,
                                 const TrainingStepOptions& options) {
  GW_CHECK_AS(UsageError, options.batch > 0 && options.sequence > 0,
              "training step: batch ", options.batch, " and sequence ", options.sequence,
              " must be positive");
  TrainingStep step;
  step.model = make_transformer(graph, shape, options.seed, options.init_std);
  step.x = graph.input("x", {options.batch, options.sequence}, DType::i32);
  step.y = graph.input("y", {options.batch, options.sequence}, DType::i32);
  step.forward = step.model.forward(step.x, step.y);
  step.grads = model_gradients(step.model, step.forward, options.checkpoint_activations,
                               &step.rewrite);
  step.optimizer = build_adamw(step.model.params, step.grads, options.adamw);
  step.outputs = {step.forward.loss};
  for (Node* g : last_layer_first(step.grads)) step.outputs.push_back(g);
  for (Node* update : step.optimizer.updates) step.outputs.push_back(update);
  return step;
}


MeasuredStep measure_training_step(const ModelShape& shape, const TrainingStepOptions& options,
                                   uint64_t data_seed) {
  MeasuredStep out;
  const int64_t b = options.batch, s = options.sequence;
  // The probe starts before the graph exists, so the peak includes the weights, the
  // optimizer state and the batch: what the prediction's persistent() counts.
  const int64_t before = memory_stats().current;
  MemoryProbe probe;
  Graph graph;
  const TrainingStep step = build_training_step(graph, shape, options);
  Feeds feeds;
  feeds[step.x] = random_ids(b, s, shape.vocab_size, data_seed, 0);
  feeds[step.y] = random_ids(b, s, shape.vocab_size, data_seed, 1);
  feeds[step.optimizer.hyper] = adamw_hyper(1e-3, 1, options.adamw.beta1, options.adamw.beta2);
  Executor executor(graph, step.outputs);
  out.predicted = predict_memory(executor.schedule(), step.outputs);
  out.cost = count_costs(executor.schedule());
  out.rewrite = step.rewrite;
  out.measured_persistent = memory_stats().current - before;
  const std::vector<Tensor> results = executor.run(feeds);
  out.measured_peak = probe.peak_extra_bytes();
  out.loss = results[0].item();
  // The gradients are outputs already (TrainingStep::outputs), last layer first; the results
  // are views of the executor's arena, which dies with it.
  for (const Node* g : step.grads)
    for (size_t k = 0; k < step.outputs.size(); ++k)
      if (step.outputs[k] == g) out.grads.push_back(results[k].clone());
  return out;
}

int64_t measure_activation_memory(const ModelShape& shape, const TrainingStepOptions& options,
                                  uint64_t data_seed) {
  const int64_t b = options.batch, s = options.sequence;
  Graph graph;
  Transformer model = make_transformer(graph, shape, options.seed, options.init_std);
  Node* x = graph.input("x", {b, s}, DType::i32);
  Node* y = graph.input("y", {b, s}, DType::i32);
  ForwardPass forward = model.forward(x, y);
  if (options.precision != DType::f32) {  // as the trainer does (gw/trainer.h)
    forward.loss = autocast({forward.loss}, options.precision).outputs[0];
    std::vector<Node*> masters;
    for (const ModelParameter& p : model.params) masters.push_back(p.node);
    const LowPrecisionWeights lw =
        keep_low_precision_copies({forward.loss}, masters, options.precision);
    for (size_t k = 0; k < model.params.size(); ++k) model.params[k].node = lw.trainable[k];
  }
  const std::vector<Node*> grads =
      model_gradients(model, forward, options.checkpoint_activations);
  std::vector<Node*> outputs = {forward.loss};
  for (Node* g : last_layer_first(grads)) outputs.push_back(sum(g));
  Executor executor(graph, outputs);
  const Feeds feeds = {{x, random_ids(b, s, shape.vocab_size, data_seed, 0)},
                       {y, random_ids(b, s, shape.vocab_size, data_seed, 1)}};
  MemoryProbe probe;
  executor.run(feeds);
  return probe.peak_extra_bytes();
}

}  // namespace gw
