// gradients.cpp — lab 04: build the backward graph (the TensorFlow/PyTorch way).
//
// Instead of numbers, gradients() appends nodes that compute the adjoints to the same Graph,
// made of the same ops as the forward graph. The backward graph can then be run again for
// new inputs, optimized, counted and differentiated again. The lecture's algorithm:
//   node_to_grad = {out: [1]}
//   for i in reverse_topo_order: v̄ᵢ = sum(node_to_grad[i]);
//                                 for each input k: append v̄ᵢ·∂vᵢ/∂vₖ to node_to_grad[k]
// where v̄ᵢ·∂vᵢ/∂vₖ is the op's VJP rule (gw/op_table.h).
#include <unordered_map>
#include <unordered_set>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

std::vector<Node*> gradients(Node* output, const std::vector<Node*>& wrt) {
  check_differentiable("gradients", output, wrt);
  // BEGIN LAB 04: the lecture's algorithm on topological_order({output}): node_to_grad = {out: [ones of its shape]}; in reverse order, for each node that depending_on(order, wrt) holds: v̄ᵢ = the sum of node_to_grad[i]; for a non-leaf, append its VJP rule's partials (no rule: an error naming the op; check each partial's shape) to node_to_grad of its inputs; return for each wrt node its v̄, or zeros of its shape when the output does not depend on it
  Graph& graph = *output->graph;
  const std::vector<Node*> order = topological_order({output});
  const std::unordered_set<const Node*> needed = depending_on(order, wrt);
  std::unordered_map<const Node*, std::vector<Node*>> node_to_grad;
  std::unordered_map<const Node*, Node*> grad;  // v̄ᵢ, once summed
  node_to_grad[output] = {output->shape.empty()
                              ? graph.scalar(1.0, output->dtype)
                              : graph.constant(Tensor::full(output->shape, 1.0, output->dtype))};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = node_to_grad.find(node);
    if (!needed.count(node) || found == node_to_grad.end()) continue;
    Node* total = found->second[0];
    for (size_t j = 1; j < found->second.size(); ++j) total = add(total, found->second[j]);
    grad[node] = total;
    if (node->is_leaf()) continue;
    GW_CHECK(node->def().vjp != nullptr, "gradients: op ", node->def().name,
             " has no VJP rule (", node->str(), ")");
    const std::vector<Node*> partial = node->def().vjp(*node, total);
    for (size_t k = 0; k < node->inputs.size() && k < partial.size(); ++k) {
      Node* in = node->inputs[k];
      if (partial[k] == nullptr || !needed.count(in)) continue;
      GW_CHECK_AS(ShapeError, partial[k]->shape == in->shape, "gradients: VJP of ",
                  node->def().name, " gave an adjoint of shape ", shape_str(partial[k]->shape),
                  " for input ", k, " of shape ", shape_str(in->shape));
      node_to_grad[in].push_back(partial[k]);
    }
  }
  std::vector<Node*> result;
  for (Node* w : wrt) {
    auto it = grad.find(w);
    result.push_back(it != grad.end() ? it->second
                                      : graph.constant(Tensor::zeros(w->shape, w->dtype)));
  }
  return result;
  // END LAB 04
}

}  // namespace gw
