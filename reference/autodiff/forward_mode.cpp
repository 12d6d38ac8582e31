// forward_mode.cpp — lab 02: forward-mode autodiff over the graph, and full Jacobians.
//
// Forward mode carries the tangent v̇ᵢ = ∂vᵢ/∂x·ẋ from the inputs to the outputs, node by node
// in forward topological order, using each op's JVP rule (gw/op_table.h; lab 02 writes some
// of them in jvp_rules.cpp). For f: Rⁿ → Rᵏ a full Jacobian takes n forward passes (one per
// input direction) against k reverse passes; in ML k = 1 and n is huge, hence backprop.
#include <unordered_map>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

Node* jvp(Node* output, const std::vector<Node*>& inputs, const std::vector<Node*>& tangents) {
  GW_CHECK(output != nullptr, "jvp: null output");
  GW_CHECK(inputs.size() == tangents.size(), "jvp: ", inputs.size(), " inputs but ",
           tangents.size(), " tangents");
  // BEGIN LAB 02: the tangent sweep: start from the given tangents (check each is non-null and has its input's shape); for each node of ancestors(output), in order, collect its inputs' tangents (nullptr for zero), skip nodes whose inputs all have zero tangents, apply the op's JVP rule (no rule: an error naming the op); return output's tangent, or zeros of its shape
  std::unordered_map<const Node*, Node*> tangent;  // v̇ᵢ; absent or nullptr means zero
  for (size_t i = 0; i < inputs.size(); ++i) {
    GW_CHECK(inputs[i] != nullptr && tangents[i] != nullptr, "jvp: null input or tangent");
    GW_CHECK_AS(ShapeError, inputs[i]->shape == tangents[i]->shape, "jvp: tangent ",
                shape_str(tangents[i]->shape), " for input ", shape_str(inputs[i]->shape));
    tangent[inputs[i]] = tangents[i];
  }
  for (Node* node : ancestors(output)) {
    if (tangent.count(node) || node->is_leaf()) continue;  // a given tangent, or a constant leaf
    std::vector<Node*> in_tangents;
    bool any = false;
    for (Node* in : node->inputs) {
      auto it = tangent.find(in);
      in_tangents.push_back(it != tangent.end() ? it->second : nullptr);
      any = any || in_tangents.back() != nullptr;
    }
    if (!any) continue;  // does not depend on an input: zero tangent, no rule applied
    GW_CHECK(node->def().jvp != nullptr, "jvp: op ", node->def().name, " has no JVP rule (",
             node->str(), ")");
    Node* t = node->def().jvp(*node, in_tangents);
    GW_CHECK_AS(ShapeError, t == nullptr || t->shape == node->shape, "jvp: JVP of ",
                node->def().name, " gave a tangent of shape ", shape_str(t->shape), " for ",
                shape_str(node->shape));
    tangent[node] = t;
  }
  auto it = tangent.find(output);
  if (it != tangent.end() && it->second != nullptr) return it->second;
  return output->graph->constant(Tensor::zeros(output->shape, output->dtype));
  // END LAB 02
}

Tensor jacobian_forward(Node* output, Node* input, const Feeds& feeds, int64_t* passes) {
  GW_CHECK(output != nullptr && input != nullptr, "jacobian_forward: null node");
  Node* direction = output->graph->input("jacobian_forward.tangent", input->shape, input->dtype);
  Executor executor(*output->graph, {jvp(output, {input}, {direction})});  // built once
  Tensor jac = Tensor::zeros({numel(output->shape), numel(input->shape)}, DType::f64);
  // BEGIN LAB 02: n = numel(input) runs of the executor: run j feeds the one-hot direction eⱼ (one_hot) besides `feeds`, and its output (the tangent, k values) is column j of jac (k × n, row-major)
  const int64_t k = jac.size(0), n = jac.size(1);
  double* J = jac.data<double>();
  for (int64_t j = 0; j < n; ++j) {
    Feeds all = feeds;
    all[direction] = one_hot(input->shape, j, input->dtype);
    const std::vector<double> column = executor.run(all)[0].to_doubles();
    for (int64_t i = 0; i < k; ++i) J[i * n + j] = column[static_cast<size_t>(i)];
  }
  // END LAB 02
  if (passes != nullptr) *passes = executor.runs();
  return jac;
}

}  // namespace gw
