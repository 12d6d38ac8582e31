// op_rules.h — what the op families (reference/graph/ops/*.cpp) share: element counts for
// their FLOP rules, the common dtype checks of their shape rules, and the node builder behind
// the functions of gw/ops.h. Private to reference/graph/ops.
#pragma once

#include <utility>
#include <vector>

#include "gw/error.h"
#include "gw/graph.h"
#include "gw/op_table.h"

namespace gw::op_rules {

/// Elements of the node's output.
inline double elements(const Node& node) { return static_cast<double>(numel(node.shape)); }
/// Elements of the node's first input.
inline double input_elements(const Node& node) {
  return static_cast<double>(numel(node.inputs[0]->shape));
}
/// A FLOP rule of `PerElement` operations per output element.
template <int PerElement>
double per_element(const Node& node) { return PerElement * elements(node); }
/// The FLOP rule of an op that only moves or converts data (0): declared, so that counting
/// an op nobody gave a rule stays an error.
inline double no_arithmetic(const Node&) { return 0.0; }

/// Throws gw::DTypeError unless `x` is f32 or f64 (the fused ops' kernels compute in those);
/// `what` names the operand ("logits").
inline void check_f32_or_f64(const char* op, const Node* x, const char* what) {
  GW_CHECK_AS(DTypeError, x->dtype == DType::f32 || x->dtype == DType::f64, op, ": ", what, " ",
              x->str(), " must be f32 or f64");
}

/// Throws unless x and y have equal shapes and dtypes; `names` labels them ("q and k").
inline void check_same(const char* op, const Node* x, const Node* y, const char* names) {
  GW_CHECK_AS(ShapeError, x->shape == y->shape, op, ": ", names, " have shapes ",
              shape_str(x->shape), " and ", shape_str(y->shape), "; they must be equal");
  GW_CHECK_AS(DTypeError, x->dtype == y->dtype, op, ": ", names, " have dtypes ",
              dtype_name(x->dtype), " and ", dtype_name(y->dtype), "; they must be equal");
}

/// Appends `op` on `inputs` to the graph of the first input (Graph::add_node checks that the
/// others belong to it and runs the shape rule); `name` is the builder's, for the errors.
inline Node* build(Op op, std::vector<Node*> inputs, Attrs attrs, const char* name) {
  GW_CHECK(!inputs.empty(), name, ": no inputs");
  for (Node* in : inputs) GW_CHECK(in != nullptr, name, ": null input");
  Graph* graph = inputs[0]->graph;
  return graph->add_node(op, std::move(inputs), std::move(attrs));
}

}  // namespace gw::op_rules
