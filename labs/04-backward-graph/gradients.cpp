// STUDENT COPY of reference/autodiff/gradients.cpp for lab 04, made by gw-labgen.
// Replace each GW_TODO("lab 04: ...") line with your code and keep the rest as it is:
// the build (GW_LABS=student) and the grader take this file in place of the reference.
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
  GW_TODO("lab 04: the lecture's algorithm (node_to_grad = {out: [ones]}; reverse topo order; v̄ᵢ = Σ; append each input's VJP)");
  std::vector<Node*> result;
  for (Node* w : wrt) {
    auto it = grad.find(w);
    result.push_back(it != grad.end() ? it->second
                                      : graph.constant(Tensor::zeros(w->shape, w->dtype)));
  }
  return result;
}

}  // namespace gw
