// STUDENT COPY of reference/autodiff/backprop.cpp for lab 03, made by gw-labgen.
// Replace each GW_TODO("lab 03: ...") line with your code and keep the rest as it is:
// the build (GW_LABS=student) and the grader take this file in place of the reference.
// backprop.cpp — lab 03: reverse mode on concrete values (the Caffe style).
//
// First every value of the forward graph is computed. Then the nodes are visited in reverse
// topological order, and each node's VJP rule is applied to numbers: the rule's nodes are
// built in a scratch Graph whose leaves are Constants holding the concrete values, and
// evaluated at once. A value used by several consumers sums its partial adjoints,
// v̄ᵢ = Σⱼ v̄ᵢ→ⱼ (LABS.md, lab 03). Lab 04 builds the same computation as a graph instead.
#include <string>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {
namespace {

// a + b on concrete tensors of the same shape, through the Add op (any device).
[[maybe_unused]] Tensor add_tensors(const Tensor& a, const Tensor& b, Device device) {
  Graph scratch(device);
  return eval(add(scratch.constant(a), scratch.constant(b)));
}

// Adjoints ∂y/∂vₖ of the inputs of `node`, given its concrete input values and adjoint:
// the VJP rule applied to a copy of the node whose inputs are Constants (entries of inputs
// without a gradient are undefined tensors).
[[maybe_unused]] std::vector<Tensor> apply_vjp(const Node& node, const std::vector<Tensor>& input_values,
                              const Tensor& adjoint) {
  Graph scratch(node.device);
  std::vector<Node*> leaves;
  for (const Tensor& v : input_values) leaves.push_back(scratch.constant(v));
  Node* copy = scratch.add_node(node.op, leaves, node.attrs);
  const std::vector<Node*> partial = node.def().vjp(*copy, scratch.constant(adjoint));
  std::vector<Node*> wanted;
  for (Node* p : partial)
    if (p != nullptr) wanted.push_back(p);
  const std::vector<Tensor> values = eval(wanted, {});
  std::vector<Tensor> result(node.inputs.size());
  for (size_t k = 0, w = 0; k < partial.size() && k < result.size(); ++k)
    if (partial[k] != nullptr) result[k] = values[w++];
  return result;
}

}  // namespace

std::unordered_map<const Node*, Tensor> backprop(Node* output, const Feeds& feeds) {
  GW_CHECK(output != nullptr, "backprop: null output");
  GW_CHECK(is_floating(output->dtype), "backprop: output ", output->str(), " is not floating");
  const std::vector<Node*> order = topological_order({output});

  // Forward: the value of every node (leaves from feeds or their own tensor).
  std::unordered_map<const Node*, Tensor> value;
  std::vector<Node*> computed;
  for (Node* n : order) {
    if (n->op == Op::Input) {
      auto it = feeds.find(n);
      GW_CHECK(it != feeds.end(), "backprop: input ", n->str(), " not fed");
      value[n] = it->second;
    } else if (n->is_leaf()) {
      value[n] = n->value;
    } else {
      computed.push_back(n);
    }
  }
  const std::vector<Tensor> results = eval(computed, feeds);
  for (size_t i = 0; i < computed.size(); ++i) value[computed[i]] = results[i];

  std::unordered_map<const Node*, Tensor> adjoint;
  GW_TODO("lab 03: backward pass on concrete values (seed ȳ = 1, reverse topological order, apply_vjp, sum partial adjoints)");
  return adjoint;
}

}  // namespace gw
