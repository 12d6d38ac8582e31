// nn.cpp — declarations of the fused neural-network ops and their builders: embedding,
// softmax, log-softmax, softmax-cross-entropy, RMSNorm, RoPE, naive attention, AdamW.
//
// Each fused op has its own backward op (rather than a VJP through primitives) because the
// fused backward is both faster and what llm.c and FlashAttention do. Shape comments use
// the course letters: b batch, s sequence, h hidden, n heads, d head dim, v vocabulary.
// FLOP counts follow lab 07's table (softmax 3 per element, RMSNorm 4 per element + 2 per
// row, RoPE 3 per element, attention 4bns²d + 3bns²).
#include <algorithm>

#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;
using op_rules::def_of;
using op_rules::zero_flops;

bool float_math(DType t) { return t == DType::f32 || t == DType::f64; }

void check_float(const char* op, const Node* x, const char* what) {
  GW_CHECK_AS(DTypeError, float_math(x->dtype), op, ": ", what, " ", x->str(),
              " must be f32 or f64");
}

// `names` labels the two operands in the message, e.g. "q and k".
void check_same(const char* op, const Node* x, const Node* y, const char* names = "inputs") {
  GW_CHECK_AS(ShapeError, x->shape == y->shape, op, ": ", names, " have shapes ",
              shape_str(x->shape), " and ", shape_str(y->shape), "; they must be equal");
  GW_CHECK_AS(DTypeError, x->dtype == y->dtype, op, ": ", names, " have dtypes ",
              dtype_name(x->dtype), " and ", dtype_name(y->dtype), "; they must be equal");
}

int64_t last_dim(const Node& node) { return node.shape.empty() ? 1 : node.shape.back(); }


// ---- embedding --------------------------------------------------------------------------
// table (v, h), ids i32 (...) -> (..., h)
void embedding_infer(Node& node) {
  const Node* table = node.inputs[0];
  const Node* ids = node.inputs[1];
  GW_CHECK_AS(ShapeError, table->shape.size() == 2, "embedding: table ",
              shape_str(table->shape), " must be (v, h)");
  GW_CHECK_AS(DTypeError, ids->dtype == DType::i32, "embedding: ids ", ids->str(),
              " must be i32");
  check_float("embedding", table, "table");
  node.shape = ids->shape;
  node.shape.push_back(table->shape[1]);
  node.dtype = table->dtype;
}

// ids i32 (...), grad (..., h) -> (vocab, h)
void embedding_backward_infer(Node& node) {
  const Node* ids = node.inputs[0];
  const Node* grad = node.inputs[1];
  GW_CHECK_AS(DTypeError, ids->dtype == DType::i32, "embedding_backward: ids ", ids->str(),
              " must be i32");
  check_float("embedding_backward", grad, "grad");
  GW_CHECK_AS(ShapeError, grad->shape.size() == ids->shape.size() + 1 &&
                              Shape(grad->shape.begin(), grad->shape.end() - 1) == ids->shape,
              "embedding_backward: grad ", shape_str(grad->shape), " must be ids ",
              shape_str(ids->shape), " + (h)");
  GW_CHECK_AS(ShapeError, node.attrs.count > 0, "embedding_backward: vocabulary size ",
              node.attrs.count, " must be positive");
  node.shape = {node.attrs.count, grad->shape.back()};
  node.dtype = grad->dtype;
}
double embedding_backward_flops(const Node& node) {
  return static_cast<double>(numel(node.inputs[1]->shape));
}

// ---- softmax family: (..., v) -> (..., v) over the last axis ------------------------------
template <const char* Name>
void rowwise_infer(Node& node) {
  const Node* x = node.inputs[0];
  check_float(Name, x, "input");
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

// max, exp and subtract, normalize: 3 per element as in lab 07's table
double three_per_element(const Node& node) { return 3.0 * numel(node.shape); }

// logits (n, v), targets i32 (n) [, ḡ (n)]
void check_cross_entropy(const char* op, const Node& node) {
  const Node* logits = node.inputs[0];
  const Node* targets = node.inputs[1];
  check_float(op, logits, "logits");
  GW_CHECK_AS(ShapeError, logits->shape.size() == 2, op, ": logits ", shape_str(logits->shape),
              " must be (n, v)");
  GW_CHECK_AS(DTypeError, targets->dtype == DType::i32, op, ": targets ", targets->str(),
              " must be i32");
  GW_CHECK_AS(ShapeError, targets->shape == Shape{logits->shape[0]}, op, ": targets ",
              shape_str(targets->shape), " do not match logits ", shape_str(logits->shape));
}
void cross_entropy_infer(Node& node) {
  check_cross_entropy("softmax_cross_entropy", node);
  node.shape = {node.inputs[0]->shape[0]};
  node.dtype = node.inputs[0]->dtype;
}
void cross_entropy_backward_infer(Node& node) {
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
double cross_entropy_flops(const Node& node) { return 3.0 * numel(node.inputs[0]->shape); }

// ---- RMSNorm: x (..., h), weight (h) ------------------------------------------------------
void check_rms_weight(const char* op, const Node* x, const Node* w) {
  GW_CHECK_AS(ShapeError, w->shape == Shape{last_dim(*x)}, op, ": weight ",
              shape_str(w->shape), " must be (h) for x ", shape_str(x->shape));
  GW_CHECK_AS(DTypeError, w->dtype == x->dtype, op, ": weight ", w->str(), " and x ", x->str(),
              " differ in dtype");
}
void rms_check_x(const char* op, const Node* x) {
  check_float(op, x, "x");
  GW_CHECK_AS(ShapeError, !x->shape.empty(), op, ": x ", x->str(), " needs an axis h");
}
void rms_norm_infer(Node& node) {
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm", x);
  check_rms_weight("rms_norm", x, node.inputs[1]);
  node.shape = x->shape;
  node.dtype = x->dtype;
}
void rms_norm_backward_input_infer(Node& node) {  // x, weight, ȳ
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm_backward_input", x);
  check_rms_weight("rms_norm_backward_input", x, node.inputs[1]);
  check_same("rms_norm_backward_input", x, node.inputs[2], "x and its output adjoint");
  node.shape = x->shape;
  node.dtype = x->dtype;
}
void rms_norm_backward_weight_infer(Node& node) {  // x, ȳ -> (h)
  const Node* x = node.inputs[0];
  rms_check_x("rms_norm_backward_weight", x);
  check_same("rms_norm_backward_weight", x, node.inputs[1], "x and its output adjoint");
  node.shape = {last_dim(*x)};
  node.dtype = x->dtype;
}
// square, mean, rsqrt, scale, weight: 4 per element and 2 per row (lab 07)
double rms_norm_flops(const Node& node) {
  const Node* x = node.inputs[0];
  const double e = static_cast<double>(numel(x->shape));
  return 4.0 * e + 2.0 * e / static_cast<double>(std::max<int64_t>(1, last_dim(*x)));
}
double rms_norm_backward_flops(const Node& node) { return 8.0 * numel(node.inputs[0]->shape); }

// ---- RoPE: x (b, n, s, d), d even --------------------------------------------------------
void rope_infer(Node& node) {
  const Node* x = node.inputs[0];
  check_float("rope", x, "x");
  GW_CHECK_AS(ShapeError, x->shape.size() == 4 && x->shape[3] % 2 == 0, "rope: x ",
              shape_str(x->shape), " must be (b, n, s, d) with d even");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// ---- attention: q, k, v (b, n, s, d) -----------------------------------------------------
void check_qkv(const char* op, const Node& node) {
  const Node* q = node.inputs[0];
  check_float(op, q, "q");
  GW_CHECK_AS(ShapeError, q->shape.size() == 4, op, ": q ", shape_str(q->shape),
              " must be (b, n, s, d)");
  const char* names[] = {"", "q and k", "q and v", "q and the output adjoint"};
  for (size_t i = 1; i < node.inputs.size(); ++i) check_same(op, q, node.inputs[i], names[i]);
}
void attention_infer(Node& node) {
  check_qkv("attention", node);
  node.shape = node.inputs[0]->shape;
  node.dtype = node.inputs[0]->dtype;
}
void attention_backward_infer(Node& node) {  // q, k, v, ō -> (3, b, n, s, d)
  check_qkv("attention_backward", node);
  node.shape = node.inputs[0]->shape;
  node.shape.insert(node.shape.begin(), 3);
  node.dtype = node.inputs[0]->dtype;
}
// b·n heads times s² scores: the count every flash-attention paper uses.
double heads_s2(const Node& node) {
  const Shape& q = node.inputs[0]->shape;
  return static_cast<double>(q[0]) * q[1] * q[2] * q[2];
}
double attention_flops(const Node& node) {  // QKᵀ 2s²d, softmax 3s², PV 2s²d per head
  return heads_s2(node) * (4.0 * node.inputs[0]->shape[3] + 3.0);
}
double attention_backward_flops(const Node& node) {  // S, dV, dP, dQ, dK: 5 GEMMs; P, dS
  return heads_s2(node) * (10.0 * node.inputs[0]->shape[3] + 6.0);
}
// The naive kernels keep the (s, s) scores of every head (P, and dP for the backward).
size_t attention_workspace(const Node& node) {
  return static_cast<size_t>(heads_s2(node)) * dtype_size(node.dtype);
}
size_t attention_backward_workspace(const Node& node) {
  return 2 * static_cast<size_t>(heads_s2(node)) * dtype_size(node.dtype);
}

// ---- AdamW: param, grad, m, v, scalars f32 (4) ---------------------------------------------
void adamw_infer(Node& node) {
  const Node* p = node.inputs[0];
  check_float("adamw", p, "param");
  const char* names[] = {"param", "param and grad", "param and m", "param and v"};
  for (int i : {0, 2, 3})
    GW_CHECK(node.inputs[i]->op == Op::Parameter, "adamw: ", i == 0 ? "param " : "state ",
             node.inputs[i]->str(), " must be a Parameter leaf (it is updated in place)");
  for (int i : {1, 2, 3}) check_same("adamw", p, node.inputs[i], names[i]);
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

void declare_nn_ops(OpDef* t) {
  const op_rules::Entry entries[] = {
      {Op::Embedding, "embedding", 2, embedding_infer, zero_flops},
      {Op::EmbeddingBackward, "embedding_backward", 2, embedding_backward_infer,
       embedding_backward_flops},
      {Op::Softmax, kSoftmax, 1, rowwise_infer<kSoftmax>, three_per_element},
      {Op::SoftmaxBackward, kSoftmaxBackward, 2, rowwise_infer<kSoftmaxBackward>,
       three_per_element},
      {Op::LogSoftmax, kLogSoftmax, 1, rowwise_infer<kLogSoftmax>, three_per_element},
      {Op::LogSoftmaxBackward, kLogSoftmaxBackward, 2, rowwise_infer<kLogSoftmaxBackward>,
       three_per_element},
      {Op::SoftmaxCrossEntropy, "softmax_cross_entropy", 2, cross_entropy_infer,
       cross_entropy_flops},
      {Op::SoftmaxCrossEntropyBackward, "softmax_cross_entropy_backward", 3,
       cross_entropy_backward_infer, cross_entropy_flops},
      {Op::RMSNorm, "rms_norm", 2, rms_norm_infer, rms_norm_flops},
      {Op::RMSNormBackwardInput, "rms_norm_backward_input", 3, rms_norm_backward_input_infer,
       rms_norm_backward_flops},
      {Op::RMSNormBackwardWeight, "rms_norm_backward_weight", 2,
       rms_norm_backward_weight_infer, rms_norm_backward_flops},
      {Op::RoPE, "rope", 1, rope_infer, three_per_element},
      {Op::Attention, "attention", 3, attention_infer, attention_flops},
      {Op::AttentionBackward, "attention_backward", 4, attention_backward_infer,
       attention_backward_flops},
      {Op::AdamW, "adamw", 5, adamw_infer, adamw_flops},
  };
  op_rules::declare(t, entries);
  def_of(t, Op::Attention).workspace = attention_workspace;
  def_of(t, Op::AttentionBackward).workspace = attention_backward_workspace;
  def_of(t, Op::AdamW).bytes = adamw_bytes;
  def_of(t, Op::AdamW).mutates_inputs = true;
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* embedding(Node* table, Node* ids) {
  return build(Op::Embedding, {table, ids}, {}, "embedding");
}
Node* embedding_backward(Node* ids, Node* grad, int64_t vocab) {
  Attrs a;
  a.count = vocab;
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
  a.scalar = eps;
  return build(Op::RMSNorm, {x, weight}, a, "rms_norm");
}
Node* rms_norm_backward_input(Node* x, Node* weight, Node* y_adjoint, double eps) {
  Attrs a;
  a.scalar = eps;
  return build(Op::RMSNormBackwardInput, {x, weight, y_adjoint}, a, "rms_norm_backward_input");
}
Node* rms_norm_backward_weight(Node* x, Node* y_adjoint, double eps) {
  Attrs a;
  a.scalar = eps;
  return build(Op::RMSNormBackwardWeight, {x, y_adjoint}, a, "rms_norm_backward_weight");
}
Node* rope(Node* x, double theta, bool inverse) {
  Attrs a;
  a.theta = theta;
  a.flag = inverse;
  return build(Op::RoPE, {x}, a, "rope");
}
Node* attention(Node* q, Node* k, Node* v, bool causal, double scale) {
  Attrs a;
  a.flag = causal;
  a.scalar = scale;
  return build(Op::Attention, {q, k, v}, a, "attention");
}
Node* attention_backward(Node* q, Node* k, Node* v, Node* out_adjoint, bool causal,
                         double scale) {
  Attrs a;
  a.flag = causal;
  a.scalar = scale;
  return build(Op::AttentionBackward, {q, k, v, out_adjoint}, a, "attention_backward");
}
Node* adamw(Node* param, Node* grad, Node* m, Node* v, Node* scalars, double beta1,
            double beta2, double eps, double weight_decay) {
  Attrs a;
  a.beta1 = beta1;
  a.beta2 = beta2;
  a.eps = eps;
  a.weight_decay = weight_decay;
  return build(Op::AdamW, {param, grad, m, v, scalars}, a, "adamw");
}

}  // namespace gw
