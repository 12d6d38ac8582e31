// gradients.cpp — lab 04: build the backward graph (the TensorFlow/PyTorch way).
//
// Instead of numbers, gradients() appends nodes that compute the adjoints to the same Graph,
// made of the same ops as the forward graph. The backward graph can then be run again for
// new inputs, optimized, counted and differentiated again. The lecture's algorithm:
//   node_to_grad = {out: [1]}
//   for i in reverse_topo_order: v̄ᵢ = sum(node_to_grad[i]);
//                                 for each input k: append v̄ᵢ·∂vᵢ/∂vₖ to node_to_grad[k]
// where v̄ᵢ·∂vᵢ/∂vₖ is the op's VJP rule (reference/autodiff/vjp_rules.cpp). LABS.md, lab 04.
#include <unordered_map>
#include <unordered_set>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

std::vector<Node*> gradients(Node* output, const std::vector<Node*>& wrt) {
  GW_CHECK(output != nullptr, "gradients: null output");
  GW_CHECK(is_floating(output->dtype), "gradients: output ", output->str(), " is not floating");
  Graph& graph = *output->graph;
  for (Node* w : wrt) {
    GW_CHECK(w != nullptr && w->graph == &graph, "gradients: a wrt node is null or in another graph");
  }
  const std::vector<Node*> order = topological_order({output});
  // Only nodes on a path from a wrt node to the output need their rule applied: those that
  // depend on some wrt node (every node of `order` already reaches the output).
  std::unordered_set<const Node*> needed(wrt.begin(), wrt.end());
  for (Node* n : order)
    for (Node* in : n->inputs)
      if (needed.count(in)) {
        needed.insert(n);
        break;
      }

  std::unordered_map<const Node*, Node*> grad;  // v̄ᵢ, once summed
  // BEGIN LAB 04: the lecture's algorithm (node_to_grad = {out: [ones]}; reverse topo order; v̄ᵢ = Σ; append each input's VJP)
  std::unordered_map<const Node*, std::vector<Node*>> node_to_grad;
  // Seed: ones of the output's shape, so a non-scalar output gives the gradient of its sum.
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
    if (node->def().vjp == nullptr) {
      // Compare is piecewise constant (zero gradient); any other op without a rule is an error.
      GW_CHECK(node->op == Op::Compare, "gradients: op ", node->def().name, " has no VJP rule (",
               node->str(), ")");
      continue;
    }
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
  // END LAB 04
  std::vector<Node*> result;
  for (Node* w : wrt) {
    auto it = grad.find(w);
    result.push_back(it != grad.end() ? it->second
                                      : graph.constant(Tensor::zeros(w->shape, w->dtype)));
  }
  return result;
}

}  // namespace gw
