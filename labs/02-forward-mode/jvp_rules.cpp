// Lab 02: your copy of this file. Replace each GW_TODO("lab 02: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 02: exp: ẏ = exp(x)·ẋ, and the node y itself is exp(x)", y, t);
}
Node* jvp_log(Node& y, const Tangents& t) {
  GW_TODO("lab 02: log: ẏ = ẋ / x", y, t);
}
Node* jvp_sin(Node& y, const Tangents& t) {
  GW_TODO("lab 02: sin: ẏ = cos(x)·ẋ", y, t);
}
Node* jvp_relu(Node& y, const Tangents& t) {
  GW_TODO("lab 02: relu: ẏ = ẋ where x > 0, else 0 (a 0/1 mask from compare)", y, t);
}
Node* jvp_add(Node& /*y*/, const Tangents& t) {
  GW_TODO("lab 02: add: ẏ = ȧ + ḃ, where either tangent may be nullptr (zero)", t);
}
Node* jvp_mul(Node& y, const Tangents& t) {
  GW_TODO("lab 02: mul: ẏ = ȧ·b + a·ḃ, where either tangent may be nullptr (zero)", y, t);
}
Node* jvp_sum(Node& y, const Tangents& t) {
  GW_TODO("lab 02: sum, a linear op: ẏ = the same sum of ẋ (same axes and keepdims)", y, t);
}
Node* jvp_matmul(Node& y, const Tangents& t) {
  GW_TODO("lab 02: matmul, the product rule: Ċ = op(Ȧ)·op(B) + op(A)·op(Ḃ) with the node's transpose flags; either tangent may be nullptr", y, t);
}

}  // namespace gw::lab02
