// Lab 04: your copy of this file. Replace each GW_TODO("lab 04: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 04: the step graph: check the weights are (n_in, h) and (h, n_out) (a ShapeError otherwise); Inputs x (b, n_in) and y (b, n_out) and Parameters w1, w2 (clones of the initial values) in the initial values' dtype; loss = mean((relu(x·w1)·w2 − y)²); grads by gradients(); new_params = θ − η·θ̄; fill every field of the SgdStepGraph", graph, batch, init_w1, init_w2, learning_rate);
}

double SgdStepGraph::step(const Tensor& x_batch, const Tensor& y_batch) {
  GW_CHECK(graph != nullptr && loss != nullptr, "sgd_step: step() on a graph not built");
  GW_TODO("lab 04: one step: on the first call make the executor of {loss, new params...} (planned once, reused by every step); run it on (x_batch, y_batch); copy the new weights into w1->value and w2->value (the outputs are views of the executor's memory); return the loss", x_batch, y_batch);
}

}  // namespace gw
