// STUDENT COPY of reference/autodiff/vjp_rules.cpp for lab 03, made by gw-labgen.
// Replace each GW_TODO("lab 03: ...") line with your code and keep the rest as it is:
// the build (GW_LABS=student) and the grader take this file in place of the reference.
// vjp_rules.cpp — the VJP rule of every differentiable op, registered into the op table.
//
// A rule gets a node vᵢ = op(v₁…vₖ) and its adjoint v̄ᵢ, and returns v̄ᵢ·∂vᵢ/∂vₖ for each
// input k, built with graph ops (gw/ops.h): the backward graph is made of the same ops as the
// forward one, so it can be run, counted, optimized and differentiated again. As in PyTorch's
// derivatives.yaml, each formula is a few lines in one table. An entry is nullptr for an input
// that has no gradient (integer ids, targets). Elementwise binary ops see equal shapes
// (ops.h inserts Broadcast nodes), so the sum back to an input's shape lives in Broadcast's
// rule alone, as in MLX. Ops without a rule (Compare, Quantize, AdamW, the second order of
// some fused backward ops) are listed as exempt in tests/autodiff/test_rule_table.cpp.
#include <cmath>

#include "gw/ops.h"
#include "gw/op_table.h"

namespace gw {
namespace {

using Grads = std::vector<Node*>;

Node* zeros_like_shape(Graph* g, const Shape& shape, DType dtype) {
  return g->constant(Tensor::zeros(shape, dtype));
}

// The reduced axes of a Sum/Max/Mean node, normalized (empty attrs.axes means all axes).
std::vector<int64_t> reduced_axes(const Node& node) {
  const Node* x = node.inputs[0];
  const int64_t rank = static_cast<int64_t>(x->shape.size());
  std::vector<int64_t> axes;
  if (node.attrs.axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  } else {
    for (int64_t a : node.attrs.axes) axes.push_back(normalize_axis(a, rank, node.def().name));
  }
  return axes;
}

// Brings a value of a reduction's output shape back to the input's shape: reinsert the
// reduced axes as size 1 (when keepdims was false), then broadcast.
Node* expand_reduced(Node* v, const Node& node) {
  const Node* x = node.inputs[0];
  Shape kept = x->shape;
  for (int64_t a : reduced_axes(node)) kept[static_cast<size_t>(a)] = 1;
  return broadcast_to(reshape(v, kept), x->shape);
}

// d relu(x)/dx as a 0/1 mask (the subgradient 0 at x = 0). Compare has no gradient, so the
// mask is a constant of the backward graph: grad of grad of relu is 0, as it should be.
[[maybe_unused]] Node* relu_mask(Node* x) {
  return compare(x, x->graph->scalar(0.0, x->dtype), CompareOp::gt);
}

// ---- elementwise unary -----------------------------------------------------------------
Grads vjp_neg(Node&, Node* g) { return {neg(g)}; }
Grads vjp_exp(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of exp (x̄ = ȳ·exp(x), reuse the node's own value)");
}
Grads vjp_log(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of log (x̄ = ȳ / x)");
}
Grads vjp_sin(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of sin (x̄ = ȳ·cos(x))");
}
Grads vjp_cos(Node& y, Node* g) { return {neg(mul(g, sin(y.inputs[0])))}; }
Grads vjp_sqrt(Node& y, Node* g) { return {div(g, mul(&y, 2.0))}; }  // 1/(2√x)
Grads vjp_rsqrt(Node& y, Node* g) { return {mul(g, mul(pow(&y, 3.0), -0.5))}; }  // −½x^(−3/2)
Grads vjp_relu(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of relu (x̄ = ȳ where x > 0, else 0; use compare for the mask)");
}
Grads vjp_sigmoid(Node& y, Node* g) { return {mul(g, mul(&y, add(neg(&y), 1.0)))}; }
Grads vjp_silu(Node& y, Node* g) {  // silu' = σ(x)·(1 + x·(1 − σ(x)))
  Node* x = y.inputs[0];
  Node* s = sigmoid(x);
  return {mul(g, mul(s, add(mul(x, add(neg(s), 1.0)), 1.0)))};
}
Grads vjp_tanh(Node& y, Node* g) { return {mul(g, add(neg(mul(&y, &y)), 1.0))}; }
Grads vjp_cast(Node& y, Node* g) { return {cast(g, y.inputs[0]->dtype)}; }

// ---- with a scalar -----------------------------------------------------------------------
Grads vjp_add_scalar(Node&, Node* g) { return {g}; }
Grads vjp_mul_scalar(Node& y, Node* g) { return {mul(g, y.attrs.scalar)}; }
Grads vjp_pow_scalar(Node& y, Node* g) {
  const double c = y.attrs.scalar;
  return {mul(g, mul(pow(y.inputs[0], c - 1.0), c))};
}

// ---- elementwise binary (equal shapes; sum_to guards a hand-built node that broadcasts) ---
Grads vjp_add(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of add (both inputs get ȳ, summed back to each input's shape)");
}
Grads vjp_sub(Node& y, Node* g) {
  return {sum_to(g, y.inputs[0]->shape), sum_to(neg(g), y.inputs[1]->shape)};
}
Grads vjp_mul(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of mul (ā = ȳ·b, b̄ = ȳ·a, summed back to each input's shape)");
}
Grads vjp_div(Node& y, Node* g) {  // ā = ȳ/b, b̄ = −ȳ·a/b² = −ȳ·y/b
  Node* a = y.inputs[0];
  Node* b = y.inputs[1];
  return {sum_to(div(g, b), a->shape), sum_to(neg(mul(g, div(&y, b))), b->shape)};
}

// ---- reductions ----------------------------------------------------------------------------
Grads vjp_sum(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of sum (x̄ = ȳ copied along the reduced axes: reshape, then broadcast)");
}
Grads vjp_mean(Node& y, Node* g) {
  const Node* x = y.inputs[0];
  double count = 1.0;
  for (int64_t a : reduced_axes(y)) count *= static_cast<double>(x->shape[static_cast<size_t>(a)]);
  return {mul(expand_reduced(g, y), 1.0 / count)};
}
// Ties: the adjoint is shared evenly among the elements equal to the max (as PyTorch's amax),
// so the gradient still sums to ȳ. Between ties the function has no derivative anyway.
Grads vjp_max(Node& y, Node* g) {
  Node* x = y.inputs[0];
  Node* mask = compare(x, expand_reduced(&y, y), CompareOp::eq);
  Node* ties = expand_reduced(sum(mask, reduced_axes(y), false), y);
  return {mul(expand_reduced(g, y), div(mask, ties))};
}

// ---- shape ---------------------------------------------------------------------------------
Grads vjp_reshape(Node& y, Node* g) { return {reshape(g, y.inputs[0]->shape)}; }
Grads vjp_permute(Node& y, Node* g) {
  std::vector<int64_t> inverse(y.attrs.axes.size());
  for (size_t i = 0; i < inverse.size(); ++i) {
    const int64_t rank = static_cast<int64_t>(inverse.size());
    inverse[static_cast<size_t>(normalize_axis(y.attrs.axes[i], rank, "permute"))] =
        static_cast<int64_t>(i);
  }
  return {permute(g, inverse)};
}
Grads vjp_broadcast(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of broadcast (sum ȳ back to the input's shape with sum_to)");
}
// The slice's adjoint is ȳ padded with zeros back to the input's extent along the axis.
Grads vjp_slice(Node& y, Node* g) {
  Node* x = y.inputs[0];
  const int64_t rank = static_cast<int64_t>(x->shape.size());
  const int64_t axis = normalize_axis(y.attrs.axis, rank, "slice");
  const int64_t dim = x->shape[static_cast<size_t>(axis)];
  std::vector<Node*> parts;
  Shape pad = x->shape;
  if (y.attrs.start > 0) {
    pad[static_cast<size_t>(axis)] = y.attrs.start;
    parts.push_back(zeros_like_shape(x->graph, pad, g->dtype));
  }
  parts.push_back(g);
  if (y.attrs.end < dim) {
    pad[static_cast<size_t>(axis)] = dim - y.attrs.end;
    parts.push_back(zeros_like_shape(x->graph, pad, g->dtype));
  }
  return {parts.size() == 1 ? g : concat(parts, axis)};
}
Grads vjp_concat(Node& y, Node* g) {
  const int64_t rank = static_cast<int64_t>(y.shape.size());
  const int64_t axis = normalize_axis(y.attrs.axis, rank, "concat");
  Grads out;
  int64_t start = 0;
  for (Node* x : y.inputs) {
    const int64_t len = x->shape[static_cast<size_t>(axis)];
    out.push_back(slice(g, axis, start, start + len));
    start += len;
  }
  return out;
}

// ---- embedding -----------------------------------------------------------------------------
Grads vjp_embedding(Node& y, Node* g) {  // table (v, h), ids: scatter-add the rows back
  Node* table = y.inputs[0];
  return {embedding_backward(y.inputs[1], g, table->shape[0]), nullptr};
}
Grads vjp_embedding_backward(Node& y, Node* g) {  // linear in grad: gather back
  return {nullptr, embedding(g, y.inputs[0])};
}

// ---- matmul --------------------------------------------------------------------------------
// C = op(A)·op(B) gives op(A)̄ = C̄·op(B)ᵀ and op(B)̄ = op(A)ᵀ·C̄ (the lecture's X̄ = Z̄Wᵀ,
// W̄ = XᵀZ̄), transposed back when a flag was set. A shared (k, n) B saw every batch, so its
// adjoint sums over the batch axes (sum_to).
Grads vjp_matmul(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of matmul (X̄ = Z̄Wᵀ, W̄ = XᵀZ̄; mind the transpose flags and a shared 2-D b)");
}

// ---- fused ops -----------------------------------------------------------------------------
Grads vjp_softmax(Node& y, Node* g) { return {softmax_backward(&y, g)}; }
// out = y ∘ (u − rowsum(u∘y)): ȳ = G∘(u − s) − u·rowsum(G∘y), ū = softmax_backward(y, G).
Grads vjp_softmax_backward(Node& out, Node* g) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* s = sum(mul(u, y), {-1}, true);
  Node* gy = sum(mul(g, y), {-1}, true);
  return {sub(mul(g, sub(u, s)), mul(u, gy)), softmax_backward(y, g)};
}
Grads vjp_log_softmax(Node& y, Node* g) { return {log_softmax_backward(&y, g)}; }
// out = u − exp(y)·rowsum(u): ȳ = −G∘exp(y)·rowsum(u), ū = G − rowsum(G∘exp(y)).
Grads vjp_log_softmax_backward(Node& out, Node* g) {
  Node* y = out.inputs[0];
  Node* u = out.inputs[1];
  Node* e = exp(y);
  return {neg(mul(mul(g, e), sum(u, {-1}, true))), sub(g, sum(mul(g, e), {-1}, true))};
}
Grads vjp_softmax_cross_entropy(Node& y, Node* g) {
  GW_TODO("lab 03: VJP of softmax-cross-entropy (logits: (softmax(x) − onehot(t))·ḡ per row; targets: none)");
}
// out = (p − onehot)·ḡ per row, p = softmax(l): l̄ = softmax_backward(p, G·ḡ),
// ḡ̄ = rowsum(G ∘ (p − onehot)).
Grads vjp_softmax_cross_entropy_backward(Node& out, Node* g) {
  Node* logits = out.inputs[0];
  Node* targets = out.inputs[1];
  Node* loss_adj = out.inputs[2];                                       // (n)
  Node* col = reshape(loss_adj, {loss_adj->shape[0], 1});               // (n, 1)
  Node* ones = out.graph->constant(Tensor::full(loss_adj->shape, 1.0, loss_adj->dtype));
  Node* diff = softmax_cross_entropy_backward(logits, targets, ones);   // p − onehot (n, v)
  return {softmax_backward(softmax(logits), mul(g, col)), nullptr, sum(mul(g, diff), {-1})};
}
Grads vjp_rms_norm(Node& y, Node* g) {
  const double eps = y.attrs.scalar;
  return {rms_norm_backward_input(y.inputs[0], y.inputs[1], g, eps),
          rms_norm_backward_weight(y.inputs[0], g, eps)};
}
Grads vjp_rope(Node& y, Node* g) {  // a rotation: its adjoint rotates back
  return {rope(g, y.attrs.theta, !y.attrs.flag)};
}
Grads vjp_attention(Node& y, Node* g) {
  Node* q = y.inputs[0];
  Node* k = y.inputs[1];
  Node* v = y.inputs[2];
  Node* packed = attention_backward(q, k, v, g, y.attrs.flag, y.attrs.scalar);  // (3, b, n, s, d)
  Grads out;
  for (int64_t i = 0; i < 3; ++i) out.push_back(reshape(slice(packed, 0, i, i + 1), y.inputs[i]->shape));
  return out;
}
// Sum over ranks is linear and symmetric: every rank's x̄ is the all-reduce of ȳ (mean if the
// forward averaged).
Grads vjp_all_reduce(Node& y, Node* g) { return {all_reduce(g, y.attrs.flag)}; }

}  // namespace

void register_vjp_rules(OpDef* t) {
  auto set = [t](Op op, VjpRule rule) { t[static_cast<size_t>(op)].vjp = rule; };
  set(Op::Neg, vjp_neg);
  set(Op::Exp, vjp_exp);
  set(Op::Log, vjp_log);
  set(Op::Sin, vjp_sin);
  set(Op::Cos, vjp_cos);
  set(Op::Sqrt, vjp_sqrt);
  set(Op::Rsqrt, vjp_rsqrt);
  set(Op::Relu, vjp_relu);
  set(Op::Sigmoid, vjp_sigmoid);
  set(Op::Silu, vjp_silu);
  set(Op::Tanh, vjp_tanh);
  set(Op::Cast, vjp_cast);
  set(Op::AddScalar, vjp_add_scalar);
  set(Op::MulScalar, vjp_mul_scalar);
  set(Op::PowScalar, vjp_pow_scalar);
  set(Op::Add, vjp_add);
  set(Op::Sub, vjp_sub);
  set(Op::Mul, vjp_mul);
  set(Op::Div, vjp_div);
  set(Op::Sum, vjp_sum);
  set(Op::Max, vjp_max);
  set(Op::Mean, vjp_mean);
  set(Op::Reshape, vjp_reshape);
  set(Op::Permute, vjp_permute);
  set(Op::Broadcast, vjp_broadcast);
  set(Op::Slice, vjp_slice);
  set(Op::Concat, vjp_concat);
  set(Op::Embedding, vjp_embedding);
  set(Op::EmbeddingBackward, vjp_embedding_backward);
  set(Op::MatMul, vjp_matmul);
  set(Op::Softmax, vjp_softmax);
  set(Op::SoftmaxBackward, vjp_softmax_backward);
  set(Op::LogSoftmax, vjp_log_softmax);
  set(Op::LogSoftmaxBackward, vjp_log_softmax_backward);
  set(Op::SoftmaxCrossEntropy, vjp_softmax_cross_entropy);
  set(Op::SoftmaxCrossEntropyBackward, vjp_softmax_cross_entropy_backward);
  set(Op::RMSNorm, vjp_rms_norm);
  set(Op::RoPE, vjp_rope);
  set(Op::Attention, vjp_attention);
  set(Op::AllReduce, vjp_all_reduce);
}

}  // namespace gw
