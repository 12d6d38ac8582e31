// sgd_step.cpp — lab 04: the lecture's training-step graph, L = MSE(w2·ReLU(w1·x), y) with
// θ ← θ − η∇L, built once and run for many steps on new data.
//
// The graph holds the forward pass, the backward graph from gradients(), and the update
// nodes θ − η·θ̄. Each step runs them with one Executor (planned once) and copies the new
// values into the Parameter tensors, so no node is added after the build: the same graph
// serves every step. Row form: x (b, n_in), w1 (n_in, h), w2 (h, n_out).
#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

SgdStepGraph build_sgd_step(Graph& graph, int64_t batch, const Tensor& init_w1,
                            const Tensor& init_w2, double learning_rate) {
  // BEGIN LAB 04: the step graph: check the weights are (n_in, h) and (h, n_out) (a ShapeError otherwise); Inputs x (b, n_in) and y (b, n_out) and Parameters w1, w2 (clones of the initial values) in the initial values' dtype; loss = mean((relu(x·w1)·w2 − y)²); grads by gradients(); new_params = θ − η·θ̄; fill every field of the SgdStepGraph
  GW_CHECK_AS(ShapeError, init_w1.dim() == 2 && init_w2.dim() == 2 && init_w1.size(1) == init_w2.size(0),
              "sgd_step: w1 ", shape_str(init_w1.shape()), " and w2 ", shape_str(init_w2.shape()),
              " must be (n_in, h) and (h, n_out)");
  SgdStepGraph s;
  s.graph = &graph;
  s.learning_rate = learning_rate;
  const DType dtype = init_w1.dtype();
  s.x = graph.input("x", {batch, init_w1.size(0)}, dtype);
  s.y = graph.input("y", {batch, init_w2.size(1)}, dtype);
  s.w1 = graph.parameter("w1", init_w1.clone());
  s.w2 = graph.parameter("w2", init_w2.clone());
  Node* hidden = relu(matmul(s.x, s.w1));        // (b, h)
  Node* error = sub(matmul(hidden, s.w2), s.y);  // (b, n_out)
  s.loss = mean(mul(error, error));              // scalar
  s.grads = gradients(s.loss, {s.w1, s.w2});
  s.new_params = {sub(s.w1, mul(s.grads[0], learning_rate)),
                  sub(s.w2, mul(s.grads[1], learning_rate))};
  return s;
  // END LAB 04
}

double SgdStepGraph::step(const Tensor& x_batch, const Tensor& y_batch) {
  GW_CHECK(graph != nullptr && loss != nullptr, "sgd_step: step() on a graph not built");
  // BEGIN LAB 04: one step: on the first call make the executor of {loss, new params...} (planned once, reused by every step); run it on (x_batch, y_batch); copy the new weights into w1->value and w2->value (the outputs are views of the executor's memory); return the loss
  if (!executor) {
    std::vector<Node*> outputs = {loss};
    outputs.insert(outputs.end(), new_params.begin(), new_params.end());
    executor = std::make_shared<Executor>(*graph, outputs);
  }
  const std::vector<Tensor> out = executor->run({{x, x_batch}, {y, y_batch}});
  w1->value.copy_from(out[1]);
  w2->value.copy_from(out[2]);
  return out[0].item();
  // END LAB 04
}

}  // namespace gw
