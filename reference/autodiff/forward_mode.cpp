// forward_mode.cpp — lab 02: forward-mode autodiff over the graph, and full Jacobians.
//
// Forward mode carries the tangent v̇ᵢ = ∂vᵢ/∂x·ẋ from the inputs to the outputs, node by node
// in forward topological order, using each op's JVP rule (reference/autodiff/jvp_rules.cpp).
// For f: Rⁿ → Rᵏ a full Jacobian takes n forward passes (one per input direction) and k
// reverse passes; in ML k = 1 and n is huge, hence backprop (LABS.md, lab 02).
#include <unordered_map>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {
namespace {

// A one-hot f64 vector of n elements, converted to `dtype` and reshaped to `shape`.
Tensor one_hot(const Shape& shape, int64_t j, DType dtype) {
  std::vector<double> v(static_cast<size_t>(numel(shape)), 0.0);
  v[static_cast<size_t>(j)] = 1.0;
  return Tensor::from_values(shape, v, dtype);
}

// The nodes `output` depends on, in creation order. A node's inputs always exist before it,
// so creation order is already a topological order: forward mode needs no lab 03 sort, only
// one backward sweep over the ids that marks what `output` reaches.
std::vector<Node*> ancestors_in_creation_order(Node* output) {
  const Graph& graph = *output->graph;
  std::vector<bool> needed(static_cast<size_t>(output->id) + 1, false);
  needed[static_cast<size_t>(output->id)] = true;
  std::vector<Node*> order;
  for (int id = output->id; id >= 0; --id) {
    if (!needed[static_cast<size_t>(id)]) continue;
    Node* node = graph.node(id);
    order.push_back(node);
    for (const Node* in : node->inputs) needed[static_cast<size_t>(in->id)] = true;
  }
  return {order.rbegin(), order.rend()};
}

Feeds with_feed(const Feeds& feeds, const Node* node, const Tensor& value) {
  Feeds all = feeds;
  all[node] = value;
  return all;
}

}  // namespace

Node* jvp(Node* output, const std::vector<Node*>& inputs, const std::vector<Node*>& tangents) {
  GW_CHECK(output != nullptr, "jvp: null output");
  GW_CHECK(inputs.size() == tangents.size(), "jvp: ", inputs.size(), " inputs but ",
           tangents.size(), " tangents");
  std::unordered_map<const Node*, Node*> tangent;  // v̇ᵢ; absent or nullptr means zero
  for (size_t i = 0; i < inputs.size(); ++i) {
    GW_CHECK(inputs[i] != nullptr && tangents[i] != nullptr, "jvp: null input or tangent");
    GW_CHECK_AS(ShapeError, inputs[i]->shape == tangents[i]->shape, "jvp: tangent ",
                shape_str(tangents[i]->shape), " for input ", shape_str(inputs[i]->shape));
    tangent[inputs[i]] = tangents[i];
  }
  const std::vector<Node*> order = ancestors_in_creation_order(output);
  // BEGIN LAB 02: forward pass over the graph (forward topological order; collect input tangents; apply the op's JVP rule)
  for (Node* node : order) {
    if (tangent.count(node) || node->is_leaf()) continue;  // a given tangent, or a constant leaf
    std::vector<Node*> in_tangents;
    bool any = false;
    for (Node* in : node->inputs) {
      auto it = tangent.find(in);
      in_tangents.push_back(it != tangent.end() ? it->second : nullptr);
      any = any || in_tangents.back() != nullptr;
    }
    if (!any) continue;  // does not depend on an input: zero tangent, no rule applied
    if (node->def().jvp == nullptr) {
      // Compare is piecewise constant (zero tangent); any other op without a rule is an error.
      GW_CHECK(node->op == Op::Compare, "jvp: op ", node->def().name, " has no JVP rule (",
               node->str(), ")");
      continue;
    }
    Node* t = node->def().jvp(*node, in_tangents);
    GW_CHECK_AS(ShapeError, t == nullptr || t->shape == node->shape, "jvp: JVP of ",
                node->def().name, " gave a tangent of shape ", shape_str(t->shape), " for ",
                shape_str(node->shape));
    tangent[node] = t;
  }
  // END LAB 02
  auto it = tangent.find(output);
  if (it != tangent.end() && it->second != nullptr) return it->second;
  return output->graph->constant(Tensor::zeros(output->shape, output->dtype));
}

Tensor jacobian_forward(Node* output, Node* input, const Feeds& feeds, int64_t* passes) {
  GW_CHECK(output != nullptr && input != nullptr, "jacobian_forward: null node");
  Graph& graph = *output->graph;
  const int64_t k = numel(output->shape);
  const int64_t n = numel(input->shape);
  Tensor jac = Tensor::zeros({k, n}, DType::f64);
  Node* direction = graph.input("jacobian_forward.tangent", input->shape, input->dtype);
  Node* out_tangent = jvp(output, {input}, {direction});  // built once, run n times
  Executor executor(graph, {out_tangent});
  // BEGIN LAB 02: n JVP passes, pass j feeds the one-hot tangent eⱼ (one_hot, with_feed) and fills column j
  double* J = jac.data<double>();
  for (int64_t j = 0; j < n; ++j) {
    const Tensor ej = one_hot(input->shape, j, input->dtype);
    const std::vector<double> column =
        executor.run(with_feed(feeds, direction, ej))[0].to_doubles();
    for (int64_t i = 0; i < k; ++i) J[i * n + j] = column[static_cast<size_t>(i)];
  }
  // END LAB 02
  if (passes != nullptr) *passes = n;
  return jac;
}

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
    const Tensor ei = one_hot(output->shape, i, output->dtype);
    const std::vector<double> grad = executor.run(with_feed(feeds, seed, ei))[0].to_doubles();
    for (int64_t j = 0; j < n; ++j) J[i * n + j] = grad[static_cast<size_t>(j)];
  }
  if (passes != nullptr) *passes = k;
  return jac;
}

}  // namespace gw
