// vjp_rules.cpp — lab 03: the VJP rules of twenty ops.
//
// A rule gets a node vᵢ = op(v₁…vₖ) and its adjoint v̄ᵢ (`g`), and returns v̄ᵢ·∂vᵢ/∂vₖ for each
// input k, built with graph ops (gw/ops.h): the backward pass is made of the same ops as the
// forward one, so it can be run, counted and differentiated again. Return one entry per
// input, nullptr for an input without a gradient (integer targets). Binary ops see equal
// shapes (their builders insert Broadcast nodes first), so only Broadcast's rule sums back
// to a smaller shape. Reduction axes arrive normalized: y.attrs.axes lists every reduced
// axis, sorted and non-negative. reference/autodiff/lab_rules.cpp registers these functions
// in the op table.
#include "gw/ops.h"
#include "gw/rules.h"

namespace gw::lab03 {

// ---- elementwise ---------------------------------------------------------------------------
Adjoints vjp_exp(Node& y, Node* g) {
  // BEGIN LAB 03: exp: x̄ = ȳ·exp(x), and the node y itself is exp(x)
  return {mul(g, &y)};
  // END LAB 03
}
Adjoints vjp_log(Node& y, Node* g) {
  // BEGIN LAB 03: log: x̄ = ȳ / x
  return {div(g, y.inputs[0])};
  // END LAB 03
}
Adjoints vjp_sin(Node& y, Node* g) {
  // BEGIN LAB 03: sin: x̄ = ȳ·cos(x)
  return {mul(g, cos(y.inputs[0]))};
  // END LAB 03
}
Adjoints vjp_tanh(Node& y, Node* g) {
  // BEGIN LAB 03: tanh: x̄ = ȳ·(1 − y²)
  return {mul(g, add(neg(mul(&y, &y)), 1.0))};
  // END LAB 03
}
Adjoints vjp_relu(Node& y, Node* g) {
  // BEGIN LAB 03: relu: x̄ = ȳ where x > 0, else 0 (a 0/1 mask from compare)
  Node* x = y.inputs[0];
  return {mul(g, compare(x, scalar_like(x, 0.0), CompareOp::gt))};
  // END LAB 03
}
Adjoints vjp_rsqrt(Node& y, Node* g) {
  // BEGIN LAB 03: rsqrt, y = x^(−1/2): x̄ = −½·ȳ·y³
  return {mul(g, mul(pow(&y, 3.0), -0.5))};
  // END LAB 03
}
Adjoints vjp_pow_scalar(Node& y, Node* g) {
  // BEGIN LAB 03: pow by the constant c = y.attrs.c: x̄ = ȳ·c·x^(c−1)
  const double c = y.attrs.c;
  return {mul(g, mul(pow(y.inputs[0], c - 1.0), c))};
  // END LAB 03
}
Adjoints vjp_add(Node& /*y*/, Node* g) {
  // BEGIN LAB 03: add: ā = ȳ, b̄ = ȳ
  return {g, g};
  // END LAB 03
}
Adjoints vjp_mul(Node& y, Node* g) {
  // BEGIN LAB 03: mul: ā = ȳ·b, b̄ = ȳ·a
  return {mul(g, y.inputs[1]), mul(g, y.inputs[0])};
  // END LAB 03
}
Adjoints vjp_div(Node& y, Node* g) {
  // BEGIN LAB 03: div, y = a/b: ā = ȳ/b, b̄ = −ȳ·a/b² (= −ȳ·y/b)
  Node* b = y.inputs[1];
  return {div(g, b), neg(mul(g, div(&y, b)))};
  // END LAB 03
}

// ---- reductions ----------------------------------------------------------------------------
Adjoints vjp_sum(Node& y, Node* g) {
  // BEGIN LAB 03: sum over y.attrs.axes: x̄ = ȳ copied along the reduced axes (reshape ȳ to x's shape with 1 on each reduced axis, then broadcast_to)
  const Shape& x_shape = y.inputs[0]->shape;
  Shape kept = x_shape;
  for (int64_t a : y.attrs.axes) kept[static_cast<size_t>(a)] = 1;
  return {broadcast_to(reshape(g, kept), x_shape)};
  // END LAB 03
}
Adjoints vjp_mean(Node& y, Node* g) {
  // BEGIN LAB 03: mean: sum's adjoint divided by the number of elements averaged
  const Shape& x_shape = y.inputs[0]->shape;
  double count = 1.0;
  for (int64_t a : y.attrs.axes) count *= static_cast<double>(x_shape[static_cast<size_t>(a)]);
  return {mul(vjp_sum(y, g)[0], 1.0 / count)};
  // END LAB 03
}
Adjoints vjp_max(Node& y, Node* g) {
  // BEGIN LAB 03: max: ȳ goes to the elements equal to the maximum, shared evenly among ties (so it still sums to ȳ)
  Node* x = y.inputs[0];
  Shape kept = x->shape;
  for (int64_t a : y.attrs.axes) kept[static_cast<size_t>(a)] = 1;
  Node* mask = compare(x, broadcast_to(reshape(&y, kept), x->shape), CompareOp::eq);
  Node* ties = broadcast_to(sum(mask, y.attrs.axes, true), x->shape);
  return {mul(broadcast_to(reshape(g, kept), x->shape), div(mask, ties))};
  // END LAB 03
}

// ---- shape ---------------------------------------------------------------------------------
Adjoints vjp_broadcast(Node& y, Node* g) {
  // BEGIN LAB 03: broadcast: sum ȳ back to the input's shape (gw::sum_to)
  return {sum_to(g, y.inputs[0]->shape)};
  // END LAB 03
}
Adjoints vjp_reshape(Node& y, Node* g) {
  // BEGIN LAB 03: reshape: ȳ reshaped back to the input's shape
  return {reshape(g, y.inputs[0]->shape)};
  // END LAB 03
}
Adjoints vjp_permute(Node& y, Node* g) {
  // BEGIN LAB 03: permute by y.attrs.perm: ȳ permuted by the inverse permutation
  std::vector<int64_t> inverse(y.attrs.perm.size());
  for (size_t i = 0; i < inverse.size(); ++i)
    inverse[static_cast<size_t>(y.attrs.perm[i])] = static_cast<int64_t>(i);
  return {permute(g, inverse)};
  // END LAB 03
}

// ---- matmul --------------------------------------------------------------------------------
Adjoints vjp_matmul(Node& y, Node* g) {
  // BEGIN LAB 03: matmul Z = XW: X̄ = Z̄Wᵀ, W̄ = XᵀZ̄; mind the transpose flags, and a 2-D W shared by a batch gets the sum over the batch axes
  Node* a = y.inputs[0];
  Node* b = y.inputs[1];
  const bool ta = y.attrs.transpose_a;
  const bool tb = y.attrs.transpose_b;
  Node* op_a_bar = matmul(g, b, false, !tb);  // (..., m, k)
  Node* op_b_bar = matmul(a, g, !ta, false);  // (..., k, n)
  Node* a_bar = ta ? transpose(op_a_bar) : op_a_bar;
  Node* b_bar = tb ? transpose(op_b_bar) : op_b_bar;
  return {a_bar, sum_to(b_bar, b->shape)};
  // END LAB 03
}

// ---- softmax family (over the last axis) ---------------------------------------------------
Adjoints vjp_softmax(Node& y, Node* g) {
  // BEGIN LAB 03: softmax: x̄ = y ∘ (ȳ − Σⱼ ȳⱼ yⱼ), the sum over the last axis (keep it as size 1)
  return {mul(&y, sub(g, sum(mul(g, &y), {-1}, true)))};
  // END LAB 03
}
Adjoints vjp_log_softmax(Node& y, Node* g) {
  // BEGIN LAB 03: log-softmax: x̄ = ȳ − exp(y) · Σⱼ ȳⱼ, the sum over the last axis
  return {sub(g, mul(exp(&y), sum(g, {-1}, true)))};
  // END LAB 03
}
Adjoints vjp_softmax_cross_entropy(Node& y, Node* g) {
  // BEGIN LAB 03: softmax-cross-entropy: logits get (softmax(x) − onehot(t))·ḡ per row (the op softmax_cross_entropy_backward); targets get nothing
  return {softmax_cross_entropy_backward(y.inputs[0], y.inputs[1], g), nullptr};
  // END LAB 03
}

}  // namespace gw::lab03
