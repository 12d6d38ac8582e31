// jvp_rules.cpp — lab 02: the JVP rules of eight ops.
//
// A rule gets a node vᵢ = op(v₁…vₖ) and the tangents v̇ₖ of its inputs (`t`, one per input)
// and returns v̇ᵢ = Σₖ ∂vᵢ/∂vₖ·v̇ₖ built with graph ops (gw/ops.h). A tangent is nullptr when
// that input does not depend on the variable: it is zero, and the rule must not build ops on
// it. Return nullptr when the result is zero. add_terms (gw/rules.h) adds two terms that may
// be nullptr. reference/autodiff/lab_rules.cpp registers these functions in the op table.
#include "gw/ops.h"
#include "gw/rules.h"

namespace gw::lab02 {

Node* jvp_exp(Node& y, const Tangents& t) {
  // BEGIN LAB 02: exp: ẏ = exp(x)·ẋ, and the node y itself is exp(x)
  return mul(t[0], &y);
  // END LAB 02
}
Node* jvp_log(Node& y, const Tangents& t) {
  // BEGIN LAB 02: log: ẏ = ẋ / x
  return div(t[0], y.inputs[0]);
  // END LAB 02
}
Node* jvp_sin(Node& y, const Tangents& t) {
  // BEGIN LAB 02: sin: ẏ = cos(x)·ẋ
  return mul(t[0], cos(y.inputs[0]));
  // END LAB 02
}
Node* jvp_relu(Node& y, const Tangents& t) {
  // BEGIN LAB 02: relu: ẏ = ẋ where x > 0, else 0 (a 0/1 mask from compare)
  Node* x = y.inputs[0];
  return mul(t[0], compare(x, scalar_like(x, 0.0), CompareOp::gt));
  // END LAB 02
}
Node* jvp_add(Node& /*y*/, const Tangents& t) {
  // BEGIN LAB 02: add: ẏ = ȧ + ḃ, where either tangent may be nullptr (zero)
  return add_terms(t[0], t[1]);
  // END LAB 02
}
Node* jvp_mul(Node& y, const Tangents& t) {
  // BEGIN LAB 02: mul: ẏ = ȧ·b + a·ḃ, where either tangent may be nullptr (zero)
  Node* a = y.inputs[0];
  Node* b = y.inputs[1];
  return add_terms(t[0] ? mul(t[0], b) : nullptr, t[1] ? mul(a, t[1]) : nullptr);
  // END LAB 02
}
Node* jvp_sum(Node& y, const Tangents& t) {
  // BEGIN LAB 02: sum, a linear op: ẏ = the same sum of ẋ (same axes and keepdims)
  return sum(t[0], y.attrs.axes, y.attrs.keepdims);
  // END LAB 02
}
Node* jvp_matmul(Node& y, const Tangents& t) {
  // BEGIN LAB 02: matmul, the product rule: Ċ = op(Ȧ)·op(B) + op(A)·op(Ḃ) with the node's transpose flags; either tangent may be nullptr
  Node* a = y.inputs[0];
  Node* b = y.inputs[1];
  const bool ta = y.attrs.transpose_a;
  const bool tb = y.attrs.transpose_b;
  return add_terms(t[0] ? matmul(t[0], b, ta, tb) : nullptr,
                   t[1] ? matmul(a, t[1], ta, tb) : nullptr);
  // END LAB 02
}

}  // namespace gw::lab02
