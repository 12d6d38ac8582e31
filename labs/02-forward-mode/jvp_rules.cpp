// STUDENT COPY of reference/autodiff/jvp_rules.cpp for lab 02, made by gw-labgen.
// Replace each GW_TODO("lab 02: ...") line with your code and keep the rest as it is:
// the build (GW_LABS=student) and the grader take this file in place of the reference.
// jvp_rules.cpp — the JVP rule of every differentiable op, registered into the op table.
//
// A rule gets a node vᵢ = op(v₁…vₖ) and the tangents v̇ₖ of its inputs (nullptr means zero)
// and returns v̇ᵢ = Σₖ ∂vᵢ/∂vₖ·v̇ₖ built with graph ops, or nullptr when the tangent is zero.
// Forward mode (autodiff/forward_mode.cpp) calls them in forward topological order. Ops
// without a rule are listed as exempt in tests/autodiff/test_rule_table.cpp.
#include <cmath>

#include "gw/ops.h"
#include "gw/op_table.h"

namespace gw {
namespace {

using Tangents = std::vector<Node*>;

// The sum of the terms that are not nullptr (nullptr when all are: a zero tangent).
Node* add_terms(Node* a, Node* b) {
  if (a == nullptr) return b;
  if (b == nullptr) return a;
  return add(a, b);
}

// A tangent that is zero (nullptr) as a zeros constant of x's shape.
Node* or_zeros(Node* t, const Node* x) {
  return t != nullptr ? t : x->graph->constant(Tensor::zeros(x->shape, x->dtype));
}

[[maybe_unused]] Node* relu_mask(Node* x) {
  return compare(x, x->graph->scalar(0.0, x->dtype), CompareOp::gt);
}

// ---- elementwise unary -----------------------------------------------------------------
Node* jvp_neg(Node&, const Tangents& t) { return neg(t[0]); }
Node* jvp_exp(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of exp (ẏ = exp(x)·ẋ, reuse the node's own value)");
}
Node* jvp_log(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of log (ẏ = ẋ / x)");
}
Node* jvp_sin(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of sin (ẏ = cos(x)·ẋ)");
}
Node* jvp_cos(Node& y, const Tangents& t) { return neg(mul(t[0], sin(y.inputs[0]))); }
Node* jvp_sqrt(Node& y, const Tangents& t) { return div(t[0], mul(&y, 2.0)); }
Node* jvp_rsqrt(Node& y, const Tangents& t) { return mul(t[0], mul(pow(&y, 3.0), -0.5)); }
Node* jvp_relu(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of relu (ẏ = ẋ where x > 0, else 0; use compare for the mask)");
}
Node* jvp_sigmoid(Node& y, const Tangents& t) { return mul(t[0], mul(&y, add(neg(&y), 1.0))); }
Node* jvp_silu(Node& y, const Tangents& t) {
  Node* x = y.inputs[0];
  Node* s = sigmoid(x);
  return mul(t[0], mul(s, add(mul(x, add(neg(s), 1.0)), 1.0)));
}
Node* jvp_tanh(Node& y, const Tangents& t) { return mul(t[0], add(neg(mul(&y, &y)), 1.0)); }
Node* jvp_cast(Node& y, const Tangents& t) { return cast(t[0], y.dtype); }

// ---- with a scalar -----------------------------------------------------------------------
Node* jvp_add_scalar(Node&, const Tangents& t) { return t[0]; }
Node* jvp_mul_scalar(Node& y, const Tangents& t) { return mul(t[0], y.attrs.scalar); }
Node* jvp_pow_scalar(Node& y, const Tangents& t) {
  const double c = y.attrs.scalar;
  return mul(t[0], mul(pow(y.inputs[0], c - 1.0), c));
}

// ---- elementwise binary --------------------------------------------------------------------
Node* jvp_add(Node&, const Tangents& t) {
  GW_TODO("lab 02: JVP of add (ẏ = ȧ + ḃ; a nullptr tangent is zero)");
}
Node* jvp_sub(Node&, const Tangents& t) {
  return add_terms(t[0], t[1] ? neg(t[1]) : nullptr);
}
Node* jvp_mul(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of mul (ẏ = ȧ·b + a·ḃ; a nullptr tangent is zero)");
}
Node* jvp_div(Node& y, const Tangents& t) {  // ẏ = ȧ/b − y·ḃ/b
  Node* b = y.inputs[1];
  return add_terms(t[0] ? div(t[0], b) : nullptr, t[1] ? neg(mul(&y, div(t[1], b))) : nullptr);
}

// ---- reductions ----------------------------------------------------------------------------
Node* jvp_sum(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of sum (a linear op: ẏ = sum of ẋ over the same axes)");
}
Node* jvp_mean(Node& y, const Tangents& t) { return mean(t[0], y.attrs.axes, y.attrs.keepdims); }
// The tangent of the max is the tangent of the maximal element (shared evenly among ties,
// matching vjp_max).
Node* jvp_max(Node& y, const Tangents& t) {
  Node* x = y.inputs[0];
  Node* kept = y.attrs.keepdims ? &y : max(x, y.attrs.axes, true);
  Node* mask = compare(x, broadcast_to(kept, x->shape), CompareOp::eq);
  Node* ties = sum(mask, y.attrs.axes, y.attrs.keepdims);
  return div(sum(mul(t[0], mask), y.attrs.axes, y.attrs.keepdims), ties);
}

// ---- shape (all linear: apply the same op to the tangent) ---------------------------------
Node* jvp_reshape(Node& y, const Tangents& t) { return reshape(t[0], y.shape); }
Node* jvp_permute(Node& y, const Tangents& t) { return permute(t[0], y.attrs.axes); }
Node* jvp_broadcast(Node& y, const Tangents& t) { return broadcast_to(t[0], y.shape); }
Node* jvp_slice(Node& y, const Tangents& t) {
  return slice(t[0], y.attrs.axis, y.attrs.start, y.attrs.end);
}
Node* jvp_concat(Node& y, const Tangents& t) {
  std::vector<Node*> parts;
  for (size_t i = 0; i < t.size(); ++i) parts.push_back(or_zeros(t[i], y.inputs[i]));
  return concat(parts, y.attrs.axis);
}

// ---- embedding -----------------------------------------------------------------------------
Node* jvp_embedding(Node& y, const Tangents& t) { return t[0] ? embedding(t[0], y.inputs[1]) : nullptr; }
Node* jvp_embedding_backward(Node& y, const Tangents& t) {
  return t[1] ? embedding_backward(y.inputs[0], t[1], y.attrs.count) : nullptr;
}

// ---- matmul --------------------------------------------------------------------------------
Node* jvp_matmul(Node& y, const Tangents& t) {
  GW_TODO("lab 02: JVP of matmul (product rule: Ċ = op(Ȧ)·op(B) + op(A)·op(Ḃ), same flags)");
}

// ---- fused ops -----------------------------------------------------------------------------
// The softmax Jacobian diag(y) − y yᵀ is symmetric, so its JVP is its VJP.
Node* jvp_softmax(Node& y, const Tangents& t) { return softmax_backward(&y, t[0]); }
// out = y ∘ (u − rowsum(u∘y)).
Node* jvp_softmax_backward(Node& out, const Tangents& t) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* dy = nullptr;
  if (t[0]) {
    Node* s = sum(mul(u, y), {-1}, true);
    dy = sub(mul(t[0], sub(u, s)), mul(y, sum(mul(u, t[0]), {-1}, true)));
  }
  return add_terms(dy, t[1] ? softmax_backward(y, t[1]) : nullptr);
}
// ẏ = ẋ − rowsum(softmax(x)∘ẋ), with softmax(x) = exp(y).
Node* jvp_log_softmax(Node& y, const Tangents& t) {
  return sub(t[0], sum(mul(exp(&y), t[0]), {-1}, true));
}
// out = u − exp(y)·rowsum(u).
Node* jvp_log_softmax_backward(Node& out, const Tangents& t) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* e = exp(y);
  Node* dy = t[0] ? neg(mul(mul(e, t[0]), sum(u, {-1}, true))) : nullptr;
  Node* du = t[1] ? sub(t[1], mul(e, sum(t[1], {-1}, true))) : nullptr;
  return add_terms(dy, du);
}
// loss = logsumexp(l) − l[t]: its gradient per row is p − onehot(t).
Node* jvp_softmax_cross_entropy(Node& y, const Tangents& t) {
  if (!t[0]) return nullptr;
  Node* logits = y.inputs[0];
  Node* ones = y.graph->constant(Tensor::full(y.shape, 1.0, y.dtype));
  return sum(mul(softmax_cross_entropy_backward(logits, y.inputs[1], ones), t[0]), {-1});
}
// out = (p − onehot)·ḡ per row: ṗ = softmax_backward(p, l̇) (the Jacobian is symmetric).
Node* jvp_softmax_cross_entropy_backward(Node& out, const Tangents& t) {
  Node* logits = out.inputs[0];
  Node* g = out.inputs[2];
  Node* col = reshape(g, {g->shape[0], 1});
  Node* dl = t[0] ? mul(softmax_backward(softmax(logits), t[0]), col) : nullptr;
  Node* dg = t[2] ? softmax_cross_entropy_backward(logits, out.inputs[1], t[2]) : nullptr;
  return add_terms(dl, dg);
}
// y = x·r·w with r = (mean(x²) + eps)^(−½): ẏ = ẋ·r·w + x·ṙ·w + x·r·ẇ, ṙ = −r³·mean(x·ẋ).
Node* jvp_rms_norm(Node& y, const Tangents& t) {
  Node* x = y.inputs[0];
  Node* w = y.inputs[1];
  Node* r = rsqrt(add(mean(mul(x, x), {-1}, true), y.attrs.scalar));  // (..., 1)
  Node* dx = nullptr;
  if (t[0]) {
    Node* dr = mul(neg(pow(r, 3.0)), mean(mul(x, t[0]), {-1}, true));
    dx = mul(add(mul(t[0], r), mul(x, dr)), w);
  }
  return add_terms(dx, t[1] ? mul(mul(x, r), t[1]) : nullptr);
}
Node* jvp_rope(Node& y, const Tangents& t) { return rope(t[0], y.attrs.theta, y.attrs.flag); }
// o = P·v with P = softmax(S), S = scale·q kᵀ (+ a causal mask). The fused op does not expose
// P, so the rule recomputes it from primitives (the op's composed reference):
// ȯ = Ṗ·v + P·v̇, Ṗ = softmax_backward(P, Ṡ) (symmetric Jacobian), Ṡ = scale·(q̇ kᵀ + q k̇ᵀ).
// Masked scores have P = 0, so their Ṡ never matters.
Node* jvp_attention(Node& o, const Tangents& t) {
  Node* q = o.inputs[0];
  Node* k = o.inputs[1];
  Node* v = o.inputs[2];
  const int64_t s = q->shape[2];
  const double scale = o.attrs.scalar != 0.0 ? o.attrs.scalar : 1.0 / std::sqrt(static_cast<double>(q->shape[3]));
  Node* scores = mul(matmul(q, k, false, true), scale);  // (b, n, s, s)
  if (o.attrs.flag) {
    std::vector<double> mask(static_cast<size_t>(s * s), 0.0);
    for (int64_t i = 0; i < s; ++i)
      for (int64_t j = i + 1; j < s; ++j) mask[static_cast<size_t>(i * s + j)] = -1e30;
    scores = add(scores, o.graph->constant(Tensor::from_values({s, s}, mask, q->dtype)));
  }
  Node* p = softmax(scores);
  Node* ds = add_terms(t[0] ? matmul(t[0], k, false, true) : nullptr,
                       t[1] ? matmul(q, t[1], false, true) : nullptr);
  Node* dp = ds ? matmul(softmax_backward(p, mul(ds, scale)), v) : nullptr;
  return add_terms(dp, t[2] ? matmul(p, t[2]) : nullptr);
}
Node* jvp_all_reduce(Node& y, const Tangents& t) { return all_reduce(t[0], y.attrs.flag); }

}  // namespace

void register_jvp_rules(OpDef* t) {
  auto set = [t](Op op, JvpRule rule) { t[static_cast<size_t>(op)].jvp = rule; };
  set(Op::Neg, jvp_neg);
  set(Op::Exp, jvp_exp);
  set(Op::Log, jvp_log);
  set(Op::Sin, jvp_sin);
  set(Op::Cos, jvp_cos);
  set(Op::Sqrt, jvp_sqrt);
  set(Op::Rsqrt, jvp_rsqrt);
  set(Op::Relu, jvp_relu);
  set(Op::Sigmoid, jvp_sigmoid);
  set(Op::Silu, jvp_silu);
  set(Op::Tanh, jvp_tanh);
  set(Op::Cast, jvp_cast);
  set(Op::AddScalar, jvp_add_scalar);
  set(Op::MulScalar, jvp_mul_scalar);
  set(Op::PowScalar, jvp_pow_scalar);
  set(Op::Add, jvp_add);
  set(Op::Sub, jvp_sub);
  set(Op::Mul, jvp_mul);
  set(Op::Div, jvp_div);
  set(Op::Sum, jvp_sum);
  set(Op::Max, jvp_max);
  set(Op::Mean, jvp_mean);
  set(Op::Reshape, jvp_reshape);
  set(Op::Permute, jvp_permute);
  set(Op::Broadcast, jvp_broadcast);
  set(Op::Slice, jvp_slice);
  set(Op::Concat, jvp_concat);
  set(Op::Embedding, jvp_embedding);
  set(Op::EmbeddingBackward, jvp_embedding_backward);
  set(Op::MatMul, jvp_matmul);
  set(Op::Softmax, jvp_softmax);
  set(Op::SoftmaxBackward, jvp_softmax_backward);
  set(Op::LogSoftmax, jvp_log_softmax);
  set(Op::LogSoftmaxBackward, jvp_log_softmax_backward);
  set(Op::SoftmaxCrossEntropy, jvp_softmax_cross_entropy);
  set(Op::SoftmaxCrossEntropyBackward, jvp_softmax_cross_entropy_backward);
  set(Op::RMSNorm, jvp_rms_norm);
  set(Op::RoPE, jvp_rope);
  set(Op::Attention, jvp_attention);
  set(Op::AllReduce, jvp_all_reduce);
}

}  // namespace gw
