// training_step.cpp — one training step as one graph (gw/training_step.h): the model's
// forward pass and loss, its gradients (with or without activation checkpointing) and AdamW.
#include "gw/training_step.h"

#include "gw/error.h"

namespace gw {

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

}  // namespace gw
