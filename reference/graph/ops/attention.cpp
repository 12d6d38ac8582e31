// attention.cpp — attention softmax(q kᵀ · scale + mask) v over q, k, v (b, n, s, d), and its
// fused backward op: declarations, rules and builders.
//
// The kernels behind these ops are naive: they materialize the (s, s) scores of every head
// in their workspace. The forward's FLOP count is lab 07's (reference/passes/cost_rules.cpp);
// the backward's, here, uses the same convention (a product of m×n by n×h costs
// m·h·(2n − 1)): per head S = QKᵀ again, dV = Pᵀ dO, dP = dO Vᵀ, dQ = dS K, dK = dSᵀ Q (five
// GEMMs), then P from S (3s², softmax's count) and dS = P ∘ (dP − rowsum) (3s²).
#include "common/op_shapes.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;

void check_qkv(const char* op, const Node& node) {
  const Node* q = node.inputs[0];
  op_rules::check_f32_or_f64(op, q, "q");
  GW_CHECK_AS(ShapeError, q->shape.size() == 4, op, ": q ", shape_str(q->shape),
              " must be (b, n, s, d)");
  const char* names[] = {"", "q and k", "q and v", "q and the output adjoint"};
  for (size_t i = 1; i < node.inputs.size(); ++i)
    op_rules::check_same(op, q, node.inputs[i], names[i]);
}
void attention_shape(Node& node) {
  check_qkv("attention", node);
  node.shape = node.inputs[0]->shape;
  node.dtype = node.inputs[0]->dtype;
}
void attention_backward_shape(Node& node) {  // q, k, v, ō -> (3, b, n, s, d)
  check_qkv("attention_backward", node);
  node.shape = node.inputs[0]->shape;
  node.shape.insert(node.shape.begin(), 3);
  node.dtype = node.inputs[0]->dtype;
}
// b·n heads times s² scores.
double heads_s2(const Node& node) {
  const kernels::AttentionShape a = kernels::attention_shape(node);
  return static_cast<double>(a.heads) * a.s * a.s;
}
double attention_backward_flops(const Node& node) {
  const kernels::AttentionShape a = kernels::attention_shape(node);
  const double s = static_cast<double>(a.s), d = static_cast<double>(a.d);
  const double per_head = 2 * s * s * (2 * d - 1) + 3 * s * d * (2 * s - 1) + 6 * s * s;
  return static_cast<double>(a.heads) * per_head;
}
// The naive kernels keep the (s, s) scores of every head (P, and dP for the backward).
size_t attention_workspace(const Node& node) {
  return static_cast<size_t>(heads_s2(node)) * dtype_size(node.dtype);
}
size_t attention_backward_workspace(const Node& node) {
  return 2 * static_cast<size_t>(heads_s2(node)) * dtype_size(node.dtype);
}

// ---- rules ---------------------------------------------------------------------------------
Adjoints vjp_attention(Node& y, Node* g) {
  Node* packed = attention_backward(y.inputs[0], y.inputs[1], y.inputs[2], g, y.attrs.causal,
                                    y.attrs.scale);  // (3, b, n, s, d)
  Adjoints out;
  for (int64_t i = 0; i < 3; ++i)
    out.push_back(reshape(slice(packed, 0, i, i + 1), y.inputs[static_cast<size_t>(i)]->shape));
  return out;
}
// o = P·v with P = softmax(S), S = scale·q kᵀ (+ a causal mask). The fused op does not expose
// P, so the rule recomputes it from primitives (the op's composed reference):
// ȯ = Ṗ·v + P·v̇, Ṗ = softmax_backward(P, Ṡ) (symmetric Jacobian), Ṡ = scale·(q̇ kᵀ + q k̇ᵀ).
// Masked scores have P = 0, so their Ṡ never matters.
Node* jvp_attention(Node& o, const Tangents& t) {
  Node* q = o.inputs[0];
  Node* k = o.inputs[1];
  Node* v = o.inputs[2];
  const kernels::AttentionShape a = kernels::attention_shape(o);
  Node* scores = mul(matmul(q, k, false, true), a.scale);  // (b, n, s, s)
  if (a.causal) {
    std::vector<double> mask(static_cast<size_t>(a.s * a.s), 0.0);
    for (int64_t i = 0; i < a.s; ++i)
      for (int64_t j = i + 1; j < a.s; ++j) mask[static_cast<size_t>(i * a.s + j)] = -1e30;
    scores = add(scores, o.graph->constant(Tensor::from_values({a.s, a.s}, mask, q->dtype)));
  }
  Node* p = softmax(scores);
  Node* ds = add_terms(t[0] ? matmul(t[0], k, false, true) : nullptr,
                       t[1] ? matmul(q, t[1], false, true) : nullptr);
  Node* dp = ds ? matmul(softmax_backward(p, mul(ds, a.scale)), v) : nullptr;
  return add_terms(dp, t[2] ? matmul(p, t[2]) : nullptr);
}

}  // namespace

void define_attention_ops(OpRegistry& r) {
  r.define(Op::Attention, "attention", 3).shape(attention_shape).workspace(attention_workspace)
      .vjp(vjp_attention).jvp(jvp_attention);
  // No second-order rules for the backward op.
  r.define(Op::AttentionBackward, "attention_backward", 4).shape(attention_backward_shape)
      .flops(attention_backward_flops).workspace(attention_backward_workspace);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* attention(Node* q, Node* k, Node* v, bool causal, double scale) {
  Attrs a;
  a.causal = causal;
  a.scale = scale;
  return build(Op::Attention, {q, k, v}, a, "attention");
}
Node* attention_backward(Node* q, Node* k, Node* v, Node* out_adjoint, bool causal,
                         double scale) {
  Attrs a;
  a.causal = causal;
  a.scale = scale;
  return build(Op::AttentionBackward, {q, k, v, out_adjoint}, a, "attention_backward");
}

}  // namespace gw
