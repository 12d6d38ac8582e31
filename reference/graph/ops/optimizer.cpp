// optimizer.cpp — AdamW, the optimizer's update as one op that writes its Parameter leaves in
// place: declaration and builder. It has no rules (an update is not differentiated).
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "op_rules.h"

namespace gw {
namespace {

// param, grad, m, v (same shape), scalars f32 (4) -> a scalar placeholder
void adamw_shape(Node& node) {
  const Node* p = node.inputs[0];
  op_rules::check_f32_or_f64("adamw", p, "param");
  const char* names[] = {"param", "param and grad", "param and m", "param and v"};
  for (int i : {0, 2, 3})
    GW_CHECK(node.inputs[i]->op == Op::Parameter, "adamw: ", i == 0 ? "param " : "state ",
             node.inputs[i]->str(), " must be a Parameter leaf (it is updated in place)");
  for (int i : {1, 2, 3}) op_rules::check_same("adamw", p, node.inputs[i], names[i]);
  const Node* s = node.inputs[4];
  GW_CHECK_AS(ShapeError, s->shape == Shape{4} && s->dtype == DType::f32, "adamw: scalars ",
              s->str(), " must be f32 (4) = [lr, 1-beta1^t, 1-beta2^t, grad_scale]");
  node.shape = {};
  node.dtype = DType::f32;
}
// g·scale, m and v updates, bias corrections, sqrt, eps, divide, decay, step: 17 per element
double adamw_flops(const Node& node) { return 17.0 * numel(node.inputs[0]->shape); }
double adamw_bytes(const Node& node) {  // reads p, g, m, v and writes p, m, v
  return 7.0 * numel(node.inputs[0]->shape) * dtype_size(node.inputs[0]->dtype);
}

}  // namespace

void define_optimizer_ops(OpRegistry& r) {
  r.define(Op::AdamW, "adamw", 5).shape(adamw_shape).flops(adamw_flops).bytes(adamw_bytes)
      .mutates_inputs();
}

Node* adamw(Node* param, Node* grad, Node* m, Node* v, Node* scalars, double beta1,
            double beta2, double eps, double weight_decay) {
  Attrs a;
  a.adamw = AdamWAttrs{beta1, beta2, eps, weight_decay};
  return op_rules::build(Op::AdamW, {param, grad, m, v, scalars}, a, "adamw");
}

}  // namespace gw
