// Lab 02: your copy of this file. Replace each GW_TODO("lab 02: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 02: the tangent sweep: start from the given tangents (check each is non-null and has its input's shape); for each node of ancestors(output), in order, collect its inputs' tangents (nullptr for zero), skip nodes whose inputs all have zero tangents, apply the op's JVP rule (no rule: an error naming the op); return output's tangent, or zeros of its shape", output, inputs, tangents);
}

Tensor jacobian_forward(Node* output, Node* input, const Feeds& feeds, int64_t* passes) {
  GW_CHECK(output != nullptr && input != nullptr, "jacobian_forward: null node");
  Node* direction = output->graph->input("jacobian_forward.tangent", input->shape, input->dtype);
  Executor executor(*output->graph, {jvp(output, {input}, {direction})});  // built once
  Tensor jac = Tensor::zeros({numel(output->shape), numel(input->shape)}, DType::f64);
  GW_TODO("lab 02: n = numel(input) runs of the executor: run j feeds the one-hot direction eⱼ (one_hot) besides `feeds`, and its output (the tangent, k values) is column j of jac (k × n, row-major)", output, input, feeds, passes);
  if (passes != nullptr) *passes = executor.runs();
  return jac;
}

}  // namespace gw
