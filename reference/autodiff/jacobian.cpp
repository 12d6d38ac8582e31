// jacobian.cpp — full Jacobians by reverse mode, the counterpart of lab 02's forward-mode
// jacobian_forward: k = numel(output) runs of one gradient graph (lab 04's gradients), one
// row each. For f: Rⁿ → R that is one run against forward mode's n.
#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

Tensor jacobian_reverse(Node* output, Node* input, const Feeds& feeds, int64_t* passes) {
  GW_CHECK(output != nullptr && input != nullptr, "jacobian_reverse: null node");
  Graph& graph = *output->graph;
  const int64_t k = numel(output->shape);
  const int64_t n = numel(input->shape);
  Tensor jac = Tensor::zeros({k, n}, DType::f64);
  // Row i is the gradient of outputᵢ = sum(output ∘ eᵢ): one reverse pass per output element.
  Node* seed = graph.input("jacobian_reverse.seed", output->shape, output->dtype);
  Node* row = gradients(sum(mul(output, seed)), {input})[0];
  Executor executor(graph, {row});
  double* J = jac.data<double>();
  for (int64_t i = 0; i < k; ++i) {
    Feeds all = feeds;
    all[seed] = one_hot(output->shape, i, output->dtype);
    const std::vector<double> grad = executor.run(all)[0].to_doubles();
    for (int64_t j = 0; j < n; ++j) J[i * n + j] = grad[static_cast<size_t>(j)];
  }
  if (passes != nullptr) *passes = executor.runs();
  return jac;
}

}  // namespace gw
