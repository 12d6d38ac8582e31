// backprop.cpp — lab 03: reverse mode on concrete values (the Caffe style).
//
// First every value of the forward graph is computed (forward_values). Then the nodes are
// visited in reverse topological order, and each node's VJP rule is applied to numbers: the
// rule's nodes are built in a scratch Graph whose leaves are Constants holding the concrete
// values, and evaluated at once. A value used by several consumers sums its partial
// adjoints, v̄ᵢ = Σⱼ v̄ᵢ→ⱼ. Lab 04 builds the same computation as a graph instead.
#include <string>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

std::unordered_map<const Node*, Tensor> backprop(Node* output, const Feeds& feeds) {
  check_differentiable("backprop", output, {});
  const std::vector<Node*> order = topological_order({output});
  const std::unordered_map<const Node*, Tensor> value = forward_values(order, feeds);
  // BEGIN LAB 03: the backward pass on concrete values: seed ȳ = ones of the output's shape; walk `order` backwards; for each non-leaf node with an adjoint, apply its op's VJP rule (no rule: an error naming the op) to a copy of the node whose inputs are Constants holding value[...], in a scratch Graph on the node's device, and eval the partials; check each partial's shape; sum the partials of each floating input (v̄ᵢ = Σⱼ v̄ᵢ→ⱼ); return every adjoint
  std::unordered_map<const Node*, Tensor> adjoint;
  adjoint[output] = Tensor::full(output->shape, 1.0, output->dtype, output->device);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = adjoint.find(node);
    if (node->is_leaf() || found == adjoint.end()) continue;
    GW_CHECK(node->def().vjp != nullptr, "backprop: op ", node->def().name, " has no VJP rule (",
             node->str(), ")");
    // The rule on concrete values: a copy of the node over Constants, in a scratch graph.
    Graph scratch(node->device);
    std::vector<Node*> leaves;
    for (Node* in : node->inputs) leaves.push_back(scratch.constant(value.at(in)));
    Node* copy = scratch.add_node(node->op, leaves, node->attrs);
    const std::vector<Node*> partial = node->def().vjp(*copy, scratch.constant(found->second));
    std::vector<Node*> wanted;  // the partials that exist, evaluated in one run
    for (Node* p : partial)
      if (p != nullptr) wanted.push_back(p);
    const std::vector<Tensor> values = eval(wanted);
    for (size_t k = 0, w = 0; k < node->inputs.size() && k < partial.size(); ++k) {
      if (partial[k] == nullptr) continue;
      const Tensor& v = values[w++];
      Node* in = node->inputs[k];
      if (!is_floating(in->dtype)) continue;
      GW_CHECK_AS(ShapeError, v.shape() == in->shape, "backprop: VJP of ", node->def().name,
                  " gave an adjoint of shape ", shape_str(v.shape()), " for input ", k,
                  " of shape ", shape_str(in->shape));
      auto acc = adjoint.find(in);
      if (acc == adjoint.end()) {
        adjoint[in] = v;  // first consumer
      } else {            // v̄ᵢ += v̄ᵢ→ⱼ, through the Add op (any device)
        Graph sum_graph(in->device);
        acc->second = eval(add(sum_graph.constant(acc->second), sum_graph.constant(v)));
      }
    }
  }
  return adjoint;
  // END LAB 03
}

}  // namespace gw
