// nn.cpp — the fused neural-network ops: embedding, softmax, log-softmax,
// softmax-cross-entropy, RMSNorm, RoPE and SwiGLU (attention and AdamW have families of their
// own):
// their declarations, the rules that are not a lab's, and their builders.
//
// Each fused op has its own backward op (rather than a VJP through primitives) because the
// fused backward is both faster and what llm.c and FlashAttention do. Shape comments use
// the course letters: b batch, s sequence, h hidden, n heads, d head dim, v vocabulary.
// The FLOP counts of the forward ops (and embedding's bytes) are lab 07's
// (reference/passes/cost_rules.cpp); the backward ops' counts are here, in the same
// convention. The VJP rules of softmax, log-softmax and softmax-cross-entropy are lab 03's.
#include <algorithm>

#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;
using op_rules::check_same;
using op_rules::check_f32_or_f64;

int64_t last_dim(const Node& node) { return node.shape.empty() ? 1 : node.shape.back(); }


// ---- embedding --------------------------------------------------------------------------
// table (v, h), ids i32 (...) -> (..., h)
void embedding_shape(Node& node) {
  const Node* table = node.inputs[0];
  const Node* ids = node.inputs[1];
  GW_CHECK_AS(ShapeError, table->shape.size() == 2, "embedding: table ",
              shape_str(table->shape), " must be (v, h)");
  GW_CHECK_AS(DTypeError, ids->dtype == DType::i32, "embedding: ids ", ids->str(),
              " must be i32");
  check_f32_or_f64("embedding", table, "table");
  node.shape = ids->shape;
  node.shape.push_back(table->shape[1]);
  node.dtype = table->dtype;
}

// ids i32 (...), grad (..., h) -> (vocab, h)
void embedding_backward_shape(Node& node) {
  const Node* ids = node.inputs[0];
  const Node* grad = node.inputs[1];
  GW_CHECK_AS(DTypeError, ids->dtype == DType::i32, "embedding_backward: ids ", ids->str(),
              " must be i32");
  check_f32_or_f64("embedding_backward", grad, "grad");
  GW_CHECK_AS(ShapeError, grad->shape.size() == ids->shape.size() + 1 &&
                              Shape(grad->shape.begin(), grad->shape.end() - 1) == ids->shape,
              "embedding_backward: grad ", shape_str(grad->shape), " must be ids ",
              shape_str(ids->shape), " + (h)");
  GW_CHECK_AS(ShapeError, node.attrs.vocab > 0, "embedding_backward: vocabulary size ",
              node.attrs.vocab, " must be positive");
  node.shape = {node.attrs.vocab, grad->shape.back()};
  node.dtype = grad->dtype;
}
double embedding_backward_flops(const Node& node) {
  return static_cast<double>(numel(node.inputs[1]->shape));
}

// ---- softmax family: (..., v) -> (..., v) over the last axis ------------------------------
template <const char* Name>
void rowwise_shape(Node& node) {
  const Node* x = node.inputs[0];
  check_f32_or_f64(Name, x, "input");
  GW_CHECK_AS(ShapeError, !x->shape.empty(), Name, ": input ", x->str(),
              " needs at least one axis");
  if (node.inputs.size() == 2) check_same(Name, x, node.inputs[1], "y and its adjoint");
  node.shape = x->shape;
  node.dtype = x->dtype;
}
constexpr char kSoftmax[] = "softmax";
constexpr char kSoftmaxBackward[] = "softmax_backward";
constexpr char kLogSoftmax[] = "log_softmax";
constexpr char kLogSoftmaxBackward[] = "log_softmax_backward";

// The backward of a softmax-like row: 3 per element, as the forward (lab 07's table).
double three_per_element(const Node& node) { return 3.0 * numel(node.shape); }

// logits (n, v), targets i32 (n) [, ḡ (n)]
void check_cross_entropy(const char* op, const Node& node) {
  const Node* logits = node.inputs[0];
  const Node* targets = node.inputs[1];
  check_f32_or_f64(op, logits, "logits");
  GW_CHECK_AS(ShapeError, logits->shape.size() == 2, op, ": logits ", shape_str(logits->shape),
              " must be (n, v)");
  GW_CHECK_AS(DTypeError, targets->dtype == DType::i32, op, ": targets ", targets->str(),
              " must be i32");
  GW_CHECK_AS(ShapeError, targets->shape == Shape{logits->shape[0]}, op, ": targets ",
              shape_str(targets->shape), " do not match logits ", shape_str(logits->shape));
}
void cross_entropy_shape(Node& node) {
  check_cross_entropy("softmax_cross_entropy", node);
  node.shape = {node.inputs[0]->shape[0]};
  node.dtype = node.inputs[0]->dtype;
}
void cross_entropy_backward_shape(Node& node) {
  check_cross_entropy("softmax_cross_entropy_backward", node);
  const Node* g = node.inputs[2];
  GW_CHECK_AS(ShapeError, g->shape == node.inputs[1]->shape,
              "softmax_cross_entropy_backward: loss adjoint ", shape_str(g->shape),
              " must match targets ", shape_str(node.inputs[1]->shape));
  GW_CHECK_AS(DTypeError, g->dtype == node.inputs[0]->dtype,
              "softmax_cross_entropy_backward: loss adjoint ", g->str(), " and logits ",
              node.inputs[0]->str(), " differ in dtype");
  node.shape = node.inputs[0]->shape;
  node.dtype = node.inputs[0]->dtype;
}
// (softmax(l) − onehot)·ḡ per row of v logits: the softmax it recomputes (3 per logit, as
// the forward counts it), 1 to subtract the target's one-hot, v scalings by the row's ḡ.
double cross_entropy_backward_flops(const Node& node) {
  const Shape& logits = node.inputs[0]->shape;
  return static_cast<double>(logits[0]) * (4.0 * static_cast<double>(logits[1]) + 1.0);
}

// ---- RMSNorm: x (..., h), weight (h) ------------------------------------------------------
void check_rms_weight(const char* op, const Node* x, const Node* w) {
  GW_CHECK_AS(ShapeError, w->shape == Shape{last_dim(*x)}, op, ": weight ",
              shape_str(w->shape), " must be (h) for x ", shape_str(x->shape));
  GW_CHECK_AS(DTypeError, w->dtype == x->dtype, op, ": weight ", w->str(), " and x ", x->str(),
              " differ in dtype");
}
void rms_check_x(const char* op, const Node* x) {
  check_f32_or_f64(op, x, "x");
  GW_CHECK_AS(ShapeError, !x->shape.empty(), op, ": x ", x->str(), " needs an axis h");
}
void rms_norm_shape(Node& node) {
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm", x);
  check_rms_weight("rms_norm", x, node.inputs[1]);
  node.shape = x->shape;
  node.dtype = x->dtype;
}
void rms_norm_backward_input_shape(Node& node) {  // x, weight, ȳ
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm_backward_input", x);
  check_rms_weight("rms_norm_backward_input", x, node.inputs[1]);
  check_same("rms_norm_backward_input", x, node.inputs[2], "x and its output adjoint");
  node.shape = x->shape;
  node.dtype = x->dtype;
}
void rms_norm_backward_weight_shape(Node& node) {  // x, ȳ -> (h)
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm_backward_weight", x);
  check_same("rms_norm_backward_weight", x, node.inputs[1], "x and its output adjoint");
  node.shape = {last_dim(*x)};
  node.dtype = x->dtype;
}
// Both backward ops recompute rstd and combine x, w and ȳ: 8 per element.
double rms_norm_backward_flops(const Node& node) { return 8.0 * numel(node.inputs[0]->shape); }

// ---- RoPE: x (b, n, s, d) or (b, s, n, d) (attrs.axis: the sequence axis, 2 or 1), d even;
// or fused q, k, v, x (b, s, 3, n, d) (axis 1), whose v passes through --------------------------
void rope_shape(Node& node) {
  const Node* x = node.inputs[0];
  check_f32_or_f64("rope", x, "x");
  const int64_t axis = node.attrs.axis;
  GW_CHECK_AS(UsageError, axis == 1 || axis == 2, "rope: the sequence axis is ", axis,
              "; it must be 2 for x (b, n, s, d) or 1 for x (b, s, n, d) or (b, s, 3, n, d)");
  const Shape& sh = x->shape;
  const bool fused = axis == 1 && sh.size() == 5 && sh[2] == 3;
  GW_CHECK_AS(ShapeError, (sh.size() == 4 || fused) && sh.back() % 2 == 0, "rope: x ",
              shape_str(sh), " must be ",
              axis == 2 ? "(b, n, s, d)" : "(b, s, n, d) or fused (b, s, 3, n, d)", " with d even");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// ---- SwiGLU: gate, up (...) of one shape -> silu(gate) ∘ up -----------------------------------
// The composed graph, mul(silu(gate), up), is the reference its tests check against. Every
// floating dtype: under autocast it follows the bf16 products around it.
void swiglu_shape(Node& node) {
  const char* op = node.def().name;
  const Node* gate = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(gate->dtype), op, ": gate ", gate->str(),
              " must have a floating dtype (f64, f32, f16 or bf16)");
  for (size_t k = 1; k < node.inputs.size(); ++k)  // up, then ȳ (swiglu_backward_up: ȳ only)
    check_same(op, gate, node.inputs[k],
               k == 1 && node.op != Op::SwiGLUBackwardUp ? "gate and up" : "gate and ȳ");
  node.shape = gate->shape;
  node.dtype = gate->dtype;
}
// Counted as the composed ops are (lab 07): silu 4 and the product 1 per element.
double swiglu_flops(const Node& node) { return 5.0 * numel(node.shape); }
// ḡate: σ (3), silu′ = σ(1 + a(1 − σ)) (4), times up and ȳ (2); ūp: silu (4), times ȳ (1).
double swiglu_backward_gate_flops(const Node& node) { return 9.0 * numel(node.shape); }

// ---- SwiGLU, packed: gate_up (..., 2i) -> silu(gate) ∘ up (..., i) ----------------------------
// The composed reference slices gate_up and runs the two-input ops (the tests check both).
void swiglu_packed_shape(Node& node) {
  const char* op = node.def().name;
  const Node* gu = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(gu->dtype), op, ": gate_up ", gu->str(),
              " must have a floating dtype (f64, f32, f16 or bf16)");
  GW_CHECK_AS(ShapeError, !gu->shape.empty() && gu->shape.back() % 2 == 0, op, ": gate_up ",
              shape_str(gu->shape), " must be (..., 2i): gate, then up, along its last axis");
  Shape half = gu->shape;
  half.back() /= 2;
  if (node.op == Op::SwiGLUPackedBackward) {
    const Node* gy = node.inputs[1];
    GW_CHECK_AS(ShapeError, gy->shape == half, op, ": ȳ ", shape_str(gy->shape),
                " must be ", shape_str(half), ", the output of swiglu_packed on gate_up ",
                shape_str(gu->shape));
    GW_CHECK_AS(DTypeError, gy->dtype == gu->dtype, op, ": gate_up and ȳ have dtypes ",
                dtype_name(gu->dtype), " and ", dtype_name(gy->dtype), "; they must be equal");
  }
  node.shape = node.op == Op::SwiGLUPackedBackward ? gu->shape : half;
  node.dtype = gu->dtype;
}
// The two backward ops' 9 + 5 per element of ȳ: 7 per element of the (..., 2i) output.
double swiglu_packed_backward_flops(const Node& node) { return 7.0 * numel(node.shape); }

// ---- rules that are not a lab's ------------------------------------------------------------
Adjoints vjp_embedding(Node& y, Node* g) {  // table (v, h), ids: scatter-add the rows back
  return {embedding_backward(y.inputs[1], g, y.inputs[0]->shape[0]), nullptr};
}
Adjoints vjp_embedding_backward(Node& y, Node* g) {  // linear in grad: gather back
  return {nullptr, embedding(g, y.inputs[0])};
}
// out = y ∘ (u − rowsum(u∘y)): ȳ = G∘(u − s) − u·rowsum(G∘y), ū = softmax_backward(y, G).
Adjoints vjp_softmax_backward(Node& out, Node* g) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* s = sum(mul(u, y), {-1}, true);
  Node* gy = sum(mul(g, y), {-1}, true);
  return {sub(mul(g, sub(u, s)), mul(u, gy)), softmax_backward(y, g)};
}
// out = u − exp(y)·rowsum(u): ȳ = −G∘exp(y)·rowsum(u), ū = G − rowsum(G∘exp(y)).
Adjoints vjp_log_softmax_backward(Node& out, Node* g) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* e = exp(y);
  return {neg(mul(mul(g, e), sum(u, {-1}, true))), sub(g, sum(mul(g, e), {-1}, true))};
}
// out = (p − onehot)·ḡ per row, p = softmax(l): l̄ = softmax_backward(p, G·ḡ),
// ḡ̄ = rowsum(G ∘ (p − onehot)).
Adjoints vjp_softmax_cross_entropy_backward(Node& out, Node* g) {
  Node* logits = out.inputs[0];
  Node* targets = out.inputs[1];
  Node* loss_adj = out.inputs[2];                                       // (n)
  Node* col = reshape(loss_adj, {loss_adj->shape[0], 1});               // (n, 1)
  Node* ones = out.graph->constant(Tensor::full(loss_adj->shape, 1.0, loss_adj->dtype));
  Node* diff = softmax_cross_entropy_backward(logits, targets, ones);   // p − onehot (n, v)
  return {softmax_backward(softmax(logits), mul(g, col)), nullptr, sum(mul(g, diff), {-1})};
}
Adjoints vjp_rms_norm(Node& y, Node* g) {
  const double eps = y.attrs.eps;
  return {rms_norm_backward_input(y.inputs[0], y.inputs[1], g, eps),
          rms_norm_backward_weight(y.inputs[0], g, eps)};
}
Adjoints vjp_rope(Node& y, Node* g) {  // a rotation: its adjoint rotates back
  return {rope(g, y.attrs.theta, !y.attrs.inverse, y.attrs.axis)};
}

Adjoints vjp_swiglu(Node& y, Node* g) {
  return {swiglu_backward_gate(y.inputs[0], y.inputs[1], g), swiglu_backward_up(y.inputs[0], g)};
}

Adjoints vjp_swiglu_packed(Node& y, Node* g) {
  return {swiglu_packed_backward(y.inputs[0], g)};
}

Node* jvp_embedding(Node& y, const Tangents& t) {
  return t[0] ? embedding(t[0], y.inputs[1]) : nullptr;
}
Node* jvp_embedding_backward(Node& y, const Tangents& t) {
  return t[1] ? embedding_backward(y.inputs[0], t[1], y.attrs.vocab) : nullptr;
}
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
  Node* ones = y.graph->constant(Tensor::full(y.shape, 1.0, y.dtype));
  return sum(mul(softmax_cross_entropy_backward(y.inputs[0], y.inputs[1], ones), t[0]), {-1});
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
  Node* r = rsqrt(add(mean(mul(x, x), {-1}, true), y.attrs.eps));  // (..., 1)
  Node* dx = nullptr;
  if (t[0]) {
    Node* dr = mul(neg(pow(r, 3.0)), mean(mul(x, t[0]), {-1}, true));
    dx = mul(add(mul(t[0], r), mul(x, dr)), w);
  }
  return add_terms(dx, t[1] ? mul(mul(x, r), t[1]) : nullptr);
}
Node* jvp_rope(Node& y, const Tangents& t) {
  return rope(t[0], y.attrs.theta, y.attrs.inverse, y.attrs.axis);
}

// ẏ = ġate ∘ up ∘ silu′(gate) + silu(gate) ∘ u̇p: the backward ops, fed the tangents.
Node* jvp_swiglu(Node& y, const Tangents& t) {
  Node* gate = y.inputs[0];
  return add_terms(t[0] ? swiglu_backward_gate(gate, y.inputs[1], t[0]) : nullptr,
                   t[1] ? swiglu_backward_up(gate, t[1]) : nullptr);
}
// The same on gate and up sliced out of gate_up, and out of its tangent.
Node* jvp_swiglu_packed(Node& y, const Tangents& t) {
  if (t[0] == nullptr) return nullptr;
  const int64_t axis = static_cast<int64_t>(y.shape.size()) - 1, i = y.shape.back();
  auto gate = [&](Node* x) { return slice(x, axis, 0, i); };
  auto up = [&](Node* x) { return slice(x, axis, i, 2 * i); };
  Node* gu = y.inputs[0];
  return add(swiglu_backward_gate(gate(gu), up(gu), gate(t[0])),
             swiglu_backward_up(gate(gu), up(t[0])));
}
}  // namespace

void define_nn_ops(OpRegistry& r) {
  r.define(Op::Embedding, "embedding", 2).shape(embedding_shape)
      .flops(op_rules::no_arithmetic).vjp(vjp_embedding).jvp(jvp_embedding);  // a gather
  r.define(Op::EmbeddingBackward, "embedding_backward", 2).shape(embedding_backward_shape)
      .flops(embedding_backward_flops).vjp(vjp_embedding_backward).jvp(jvp_embedding_backward);
  r.define(Op::Softmax, kSoftmax, 1).shape(rowwise_shape<kSoftmax>).jvp(jvp_softmax);
  r.define(Op::SoftmaxBackward, kSoftmaxBackward, 2).shape(rowwise_shape<kSoftmaxBackward>)
      .flops(three_per_element).vjp(vjp_softmax_backward).jvp(jvp_softmax_backward);
  r.define(Op::LogSoftmax, kLogSoftmax, 1).shape(rowwise_shape<kLogSoftmax>)
      .jvp(jvp_log_softmax);
  r.define(Op::LogSoftmaxBackward, kLogSoftmaxBackward, 2)
      .shape(rowwise_shape<kLogSoftmaxBackward>).flops(three_per_element)
      .vjp(vjp_log_softmax_backward).jvp(jvp_log_softmax_backward);
  r.define(Op::SoftmaxCrossEntropy, "softmax_cross_entropy", 2).shape(cross_entropy_shape)
      .jvp(jvp_softmax_cross_entropy);
  r.define(Op::SoftmaxCrossEntropyBackward, "softmax_cross_entropy_backward", 3)
      .shape(cross_entropy_backward_shape).flops(cross_entropy_backward_flops)
      .vjp(vjp_softmax_cross_entropy_backward).jvp(jvp_softmax_cross_entropy_backward);
  r.define(Op::RMSNorm, "rms_norm", 2).shape(rms_norm_shape).vjp(vjp_rms_norm)
      .jvp(jvp_rms_norm);
  // RMSNorm's backward ops have no second-order rules.
  r.define(Op::RMSNormBackwardInput, "rms_norm_backward_input", 3)
      .shape(rms_norm_backward_input_shape).flops(rms_norm_backward_flops);
  r.define(Op::RMSNormBackwardWeight, "rms_norm_backward_weight", 2)
      .shape(rms_norm_backward_weight_shape).flops(rms_norm_backward_flops);
  r.define(Op::RoPE, "rope", 1).shape(rope_shape).vjp(vjp_rope).jvp(jvp_rope);
  r.define(Op::SwiGLU, "swiglu", 2).shape(swiglu_shape).flops(swiglu_flops).vjp(vjp_swiglu)
      .jvp(jvp_swiglu);
  // SwiGLU's backward ops have no second-order rules.
  r.define(Op::SwiGLUBackwardGate, "swiglu_backward_gate", 3).shape(swiglu_shape)
      .flops(swiglu_backward_gate_flops);
  r.define(Op::SwiGLUBackwardUp, "swiglu_backward_up", 2).shape(swiglu_shape)
      .flops(swiglu_flops);
  r.define(Op::SwiGLUPacked, "swiglu_packed", 1).shape(swiglu_packed_shape).flops(swiglu_flops)
      .vjp(vjp_swiglu_packed).jvp(jvp_swiglu_packed);
  r.define(Op::SwiGLUPackedBackward, "swiglu_packed_backward", 2).shape(swiglu_packed_shape)
      .flops(swiglu_packed_backward_flops);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* embedding(Node* table, Node* ids) {
  return build(Op::Embedding, {table, ids}, {}, "embedding");
}
Node* embedding_backward(Node* ids, Node* grad, int64_t vocab) {
  Attrs a;
  a.vocab = vocab;
  return build(Op::EmbeddingBackward, {ids, grad}, a, "embedding_backward");
}
Node* softmax(Node* x) { return build(Op::Softmax, {x}, {}, "softmax"); }
Node* softmax_backward(Node* y, Node* y_adjoint) {
  return build(Op::SoftmaxBackward, {y, y_adjoint}, {}, "softmax_backward");
}
Node* log_softmax(Node* x) { return build(Op::LogSoftmax, {x}, {}, "log_softmax"); }
Node* log_softmax_backward(Node* y, Node* y_adjoint) {
  return build(Op::LogSoftmaxBackward, {y, y_adjoint}, {}, "log_softmax_backward");
}
Node* softmax_cross_entropy(Node* logits, Node* targets) {
  return build(Op::SoftmaxCrossEntropy, {logits, targets}, {}, "softmax_cross_entropy");
}
Node* softmax_cross_entropy_backward(Node* logits, Node* targets, Node* loss_adjoint) {
  return build(Op::SoftmaxCrossEntropyBackward, {logits, targets, loss_adjoint}, {},
               "softmax_cross_entropy_backward");
}
Node* rms_norm(Node* x, Node* weight, double eps) {
  Attrs a;
  a.eps = eps;
  return build(Op::RMSNorm, {x, weight}, a, "rms_norm");
}
Node* rms_norm_backward_input(Node* x, Node* weight, Node* y_adjoint, double eps) {
  Attrs a;
  a.eps = eps;
  return build(Op::RMSNormBackwardInput, {x, weight, y_adjoint}, a, "rms_norm_backward_input");
}
Node* rms_norm_backward_weight(Node* x, Node* y_adjoint, double eps) {
  Attrs a;
  a.eps = eps;
  return build(Op::RMSNormBackwardWeight, {x, y_adjoint}, a, "rms_norm_backward_weight");
}
Node* rope(Node* x, double theta, bool inverse, int64_t seq_axis) {
  Attrs a;
  a.theta = theta;
  a.inverse = inverse;
  a.axis = seq_axis;
  return build(Op::RoPE, {x}, a, "rope");
}
Node* swiglu(Node* gate, Node* up) { return build(Op::SwiGLU, {gate, up}, {}, "swiglu"); }
Node* swiglu_backward_gate(Node* gate, Node* up, Node* y_adjoint) {
  return build(Op::SwiGLUBackwardGate, {gate, up, y_adjoint}, {}, "swiglu_backward_gate");
}
Node* swiglu_backward_up(Node* gate, Node* y_adjoint) {
  return build(Op::SwiGLUBackwardUp, {gate, y_adjoint}, {}, "swiglu_backward_up");
}
Node* swiglu_packed(Node* gate_up) {
  return build(Op::SwiGLUPacked, {gate_up}, {}, "swiglu_packed");
}
Node* swiglu_packed_backward(Node* gate_up, Node* y_adjoint) {
  return build(Op::SwiGLUPackedBackward, {gate_up, y_adjoint}, {}, "swiglu_packed_backward");
}

}  // namespace gw
