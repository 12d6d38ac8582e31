// Lab 03: your copy of this file. Replace each GW_TODO("lab 03: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 03: exp: x̄ = ȳ·exp(x), and the node y itself is exp(x)", y, g);
}
Adjoints vjp_log(Node& y, Node* g) {
  GW_TODO("lab 03: log: x̄ = ȳ / x", y, g);
}
Adjoints vjp_sin(Node& y, Node* g) {
  GW_TODO("lab 03: sin: x̄ = ȳ·cos(x)", y, g);
}
Adjoints vjp_tanh(Node& y, Node* g) {
  GW_TODO("lab 03: tanh: x̄ = ȳ·(1 − y²)", y, g);
}
Adjoints vjp_relu(Node& y, Node* g) {
  GW_TODO("lab 03: relu: x̄ = ȳ where x > 0, else 0 (a 0/1 mask from compare)", y, g);
}
Adjoints vjp_rsqrt(Node& y, Node* g) {
  GW_TODO("lab 03: rsqrt, y = x^(−1/2): x̄ = −½·ȳ·y³", y, g);
}
Adjoints vjp_pow_scalar(Node& y, Node* g) {
  GW_TODO("lab 03: pow by the constant c = y.attrs.c: x̄ = ȳ·c·x^(c−1)", y, g);
}
Adjoints vjp_add(Node& /*y*/, Node* g) {
  GW_TODO("lab 03: add: ā = ȳ, b̄ = ȳ", g);
}
Adjoints vjp_mul(Node& y, Node* g) {
  GW_TODO("lab 03: mul: ā = ȳ·b, b̄ = ȳ·a", y, g);
}
Adjoints vjp_div(Node& y, Node* g) {
  GW_TODO("lab 03: div, y = a/b: ā = ȳ/b, b̄ = −ȳ·a/b² (= −ȳ·y/b)", y, g);
}

// ---- reductions ----------------------------------------------------------------------------
Adjoints vjp_sum(Node& y, Node* g) {
  GW_TODO("lab 03: sum over y.attrs.axes: x̄ = ȳ copied along the reduced axes (reshape ȳ to x's shape with 1 on each reduced axis, then broadcast_to)", y, g);
}
Adjoints vjp_mean(Node& y, Node* g) {
  GW_TODO("lab 03: mean: sum's adjoint divided by the number of elements averaged", y, g);
}
Adjoints vjp_max(Node& y, Node* g) {
  GW_TODO("lab 03: max: ȳ goes to the elements equal to the maximum, shared evenly among ties (so it still sums to ȳ)", y, g);
}

// ---- shape ---------------------------------------------------------------------------------
Adjoints vjp_broadcast(Node& y, Node* g) {
  GW_TODO("lab 03: broadcast: sum ȳ back to the input's shape (gw::sum_to)", y, g);
}
Adjoints vjp_reshape(Node& y, Node* g) {
  GW_TODO("lab 03: reshape: ȳ reshaped back to the input's shape", y, g);
}
Adjoints vjp_permute(Node& y, Node* g) {
  GW_TODO("lab 03: permute by y.attrs.perm: ȳ permuted by the inverse permutation", y, g);
}

// ---- matmul --------------------------------------------------------------------------------
Adjoints vjp_matmul(Node& y, Node* g) {
  GW_TODO("lab 03: matmul Z = XW: X̄ = Z̄Wᵀ, W̄ = XᵀZ̄; mind the transpose flags, and a 2-D W shared by a batch gets the sum over the batch axes", y, g);
}

// ---- softmax family (over the last axis) ---------------------------------------------------
Adjoints vjp_softmax(Node& y, Node* g) {
  GW_TODO("lab 03: softmax: x̄ = y ∘ (ȳ − Σⱼ ȳⱼ yⱼ), the sum over the last axis (keep it as size 1)", y, g);
}
Adjoints vjp_log_softmax(Node& y, Node* g) {
  GW_TODO("lab 03: log-softmax: x̄ = ȳ − exp(y) · Σⱼ ȳⱼ, the sum over the last axis", y, g);
}
Adjoints vjp_softmax_cross_entropy(Node& y, Node* g) {
  GW_TODO("lab 03: softmax-cross-entropy: logits get (softmax(x) − onehot(t))·ḡ per row (the op softmax_cross_entropy_backward); targets get nothing", y, g);
}

}  // namespace gw::lab03
