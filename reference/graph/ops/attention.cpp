// attention.cpp — attention softmax(q kᵀ · scale + mask) v per head, and its fused backward
// op, naive and flash: declarations, rules and builders.
//
// The kernels behind Attention are naive: they take q, k, v head-major, (b, n, s, d), and
// materialize the (s, s) scores of every head in their workspace. FlashAttention computes the
// same output tile by tile with an online softmax, reading q, k, v sequence-major, (b, s, n, d),
// as the projections x·W produce them (no permute in the trainer's graph), and packs each
// row's log-sum-exp after it, (b, s, n, d + 1), so that its backward op recomputes
// P = exp(S − LSE) per tile without a second pass over the keys. The flash ops also take q, k
// and v fused, as one (b, s, 3, n, d) input, the output of one x·[W_q | W_k | W_v] GEMM; their
// backward then returns one (b, s, 3, n, d) gradient, the layout that GEMM's backward reads,
// so the trainer slices nothing between the projection and the attention.
// Attention's forward FLOP count is lab 07's (reference/passes/cost_rules.cpp); its
// backward's, here, uses the same convention (a product of m×n by n×h costs m·h·(2n − 1)):
// per head S = QKᵀ again, dV = Pᵀ dO, dP = dO Vᵀ, dQ = dS K, dK = dSᵀ Q (five GEMMs), then P
// from S (3s², softmax's count) and dS = P ∘ (dP − rowsum) (3s²). The flash ops count what
// every flash-attention paper counts: per head QKᵀ 2s²d, softmax 3s², PV 2s²d forward; S,
// dV, dP, dQ, dK (five GEMMs) and P, dS backward.
#include "common/op_shapes.h"
#include "common/widening.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;

using kernels::is_half;
// The packed output's dtype (and its adjoint's) for q of dtype t: f32 for 16-bit q.
DType packed_dtype(DType t) { return is_half(t) ? DType::f32 : t; }

// The first `same` inputs (every one by default) must have q's shape and dtype: f32, f64,
// f16 or bf16. The naive ops compute 16-bit attention in f32 and store their result in q's
// dtype. The flash ops take 16-bit q, k, v too but pack an f32 output: each row's output and
// log-sum-exp are accumulated in f32, and the LSE rounded to 16 bits would shift every P of the
// backward's recomputation by up to 2⁻⁸·|LSE| (relative); their backward's gradients are in
// q's dtype (accumulated in f32, rounded once).
void check_qkv(const char* op, const Node& node, size_t same = 0) {
  const Node* q = node.inputs[0];
  if (!is_half(q->dtype)) op_rules::check_f32_or_f64(op, q, "q");
  GW_CHECK_AS(ShapeError, q->shape.size() == 4, op, ": q ", shape_str(q->shape), " must be ",
              kernels::sequence_major(node) ? "(b, s, n, d)" : "(b, n, s, d)");
  const char* names[] = {"", "q and k", "q and v", "q and the output adjoint"};
  for (size_t i = 1; i < (same ? same : node.inputs.size()); ++i)
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
// Flash: q, k, v (b, s, n, d), or qkv fused (b, s, 3, n, d), with s, d ≥ 1 (an empty sequence
// has no softmax); then `extra` inputs, the backward's packed output and its adjoint,
// (b, s, n, d + 1) of packed_dtype(q): f32 for 16-bit q, else q's dtype. Returns q's (b, s, n, d).
Shape check_flash(const char* op, const Node& node, size_t extra) {
  GW_CHECK_AS(ShapeError, !node.inputs.empty(), op,
              ": expected q, k, v or a fused qkv, got no inputs");
  const Node* q = node.inputs[0];
  const bool fused = kernels::fused_qkv(node);
  const size_t operands = fused ? 1 : 3;
  GW_CHECK_AS(ShapeError, node.inputs.size() == operands + extra, op, ": expected ",
              operands + extra, " inputs (", fused ? "qkv (b, s, 3, n, d)" : "q, k, v",
              extra ? ", the packed output and its adjoint" : "", "), got ", node.inputs.size());
  Shape heads = q->shape;
  if (fused) {
    if (!is_half(q->dtype)) op_rules::check_f32_or_f64(op, q, "qkv");
    GW_CHECK_AS(ShapeError, q->shape[2] == 3, op, ": qkv ", shape_str(q->shape),
                " must be (b, s, 3, n, d): q, k and v side by side");
    heads.erase(heads.begin() + 2);
  } else {
    check_qkv(op, node, 3);
  }
  GW_CHECK_AS(ShapeError, heads[1] >= 1 && heads[3] >= 1, op, ": ", fused ? "qkv " : "q ",
              shape_str(q->shape), " must have s ≥ 1 (a softmax needs a key) and d ≥ 1");
  Shape packed = heads;
  packed[3] += 1;
  const DType want = packed_dtype(q->dtype);
  const char* names[] = {"the packed output", "the packed output's adjoint"};
  for (size_t i = operands; i < node.inputs.size(); ++i) {
    const Node* x = node.inputs[i];
    GW_CHECK_AS(ShapeError, x->shape == packed, op, ": ", names[i - operands], " ",
                shape_str(x->shape), " must be ", shape_str(packed), " for q ",
                shape_str(heads));
    GW_CHECK_AS(DTypeError, x->dtype == want, op, ": ", names[i - operands], " is ",
                dtype_name(x->dtype), "; for q ", dtype_name(q->dtype), " ", shape_str(heads),
                " it must be ", dtype_name(want));
  }
  return heads;
}
void flash_attention_shape(Node& node) {  // q, k, v or qkv -> (b, s, n, d + 1)
  node.shape = check_flash("flash_attention", node, 0);
  node.shape[3] += 1;
  node.dtype = packed_dtype(node.inputs[0]->dtype);
}
// q, k, v, y, ȳ -> (3, b, s, n, d); qkv, y, ȳ -> (b, s, 3, n, d), qkv's shape
void flash_attention_backward_shape(Node& node) {
  node.shape = check_flash("flash_attention_backward", node, 2);
  if (kernels::fused_qkv(node)) {
    node.shape = node.inputs[0]->shape;
  } else {
    node.shape.insert(node.shape.begin(), 3);
  }
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
// The flash ops count what flash-attention papers count, per head of q (b, s, n, d):
// 4s²d + 3s² forward (QKᵀ, PV, softmax), 10s²d + 6s² backward.
double flash_count(const Node& node, double per_d, double per_score) {
  const kernels::AttentionShape a = kernels::attention_shape(node);
  const double s = static_cast<double>(a.s);
  return static_cast<double>(a.heads) * s * s * (per_d * static_cast<double>(a.d) + per_score);
}
double flash_attention_flops(const Node& node) { return flash_count(node, 4, 3); }
double flash_attention_backward_flops(const Node& node) { return flash_count(node, 10, 6); }
// The naive kernels keep the (s, s) scores of every head (P, and dP for the backward), in
// the dtype they compute in: f64, or f32 (f16 and bf16 attention computes in f32).
size_t score_bytes(const Node& node) {
  return dtype_size(node.dtype == DType::f64 ? DType::f64 : DType::f32);
}
size_t attention_workspace(const Node& node) {
  return static_cast<size_t>(heads_s2(node)) * score_bytes(node);
}
size_t attention_backward_workspace(const Node& node) {
  return 2 * static_cast<size_t>(heads_s2(node)) * score_bytes(node);
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
// o = P·v with P = softmax(S), S = scale·q kᵀ (+ a causal mask). The fused ops do not expose
// P, so the rules recompute it from primitives (the ops' composed reference):
// ȯ = Ṗ·v + P·v̇, Ṗ = softmax_backward(P, Ṡ) (symmetric Jacobian), Ṡ = scale·(q̇ kᵀ + q k̇ᵀ).
// Masked scores have P = 0, so their Ṡ never matters. 16-bit operands are widened to f32 (the
// kernels compute in f32, and MatMul takes f32/f64), so the tangent comes out f32. The
// composed graph works head-major: the flash ops' (b, s, n, d) operands swap axes 1 and 2
// (a swap that is its own inverse, so the flash rule swaps its result back the same way).
Node* head_major(const Node& o, Node* x) {
  if (x == nullptr) return nullptr;
  if (is_half(x->dtype)) x = cast(x, DType::f32);
  return kernels::attention_shape(o).seq_major ? permute(x, {0, 2, 1, 3}) : x;
}
// q, k, v and their tangents (null: zero). A fused qkv (b, s, 3, n, d) and its tangent are
// sliced into (b, s, n, d) parts, so the composed graph below is the same for both forms.
struct Operands {
  Node* x[3] = {nullptr, nullptr, nullptr};  // q, k, v
  Node* t[3] = {nullptr, nullptr, nullptr};  // q̇, k̇, v̇
};
Operands operands(const Node& o, const Tangents& t) {
  Operands r;
  if (!kernels::fused_qkv(o)) {
    for (size_t i = 0; i < 3; ++i) r.x[i] = o.inputs[i], r.t[i] = t[i];
    return r;
  }
  auto part = [](Node* x, int64_t i) -> Node* {
    if (x == nullptr) return nullptr;
    Shape heads = x->shape;
    heads.erase(heads.begin() + 2);
    return reshape(slice(x, 2, i, i + 1), heads);
  };
  for (int64_t i = 0; i < 3; ++i) r.x[i] = part(o.inputs[0], i), r.t[i] = part(t[0], i);
  return r;
}
struct Composed {
  Node* p = nullptr;   // P (b, n, s, s)
  Node* ds = nullptr;  // Ṡ, or null when q̇ and k̇ are zero
};
Composed compose(Node& o, const Operands& x) {
  Node* q = head_major(o, x.x[0]);
  Node* k = head_major(o, x.x[1]);
  const kernels::AttentionShape a = kernels::attention_shape(o);
  Node* scores = mul(matmul(q, k, false, true), a.scale);  // (b, n, s, s)
  if (a.causal) {
    std::vector<double> mask(static_cast<size_t>(a.s * a.s), 0.0);
    for (int64_t i = 0; i < a.s; ++i)
      for (int64_t j = i + 1; j < a.s; ++j) mask[static_cast<size_t>(i * a.s + j)] = -1e30;
    scores = add(scores, o.graph->constant(Tensor::from_values({a.s, a.s}, mask, q->dtype)));
  }
  Node* ds = add_terms(x.t[0] ? matmul(head_major(o, x.t[0]), k, false, true) : nullptr,
                       x.t[1] ? matmul(q, head_major(o, x.t[1]), false, true) : nullptr);
  return {softmax(scores), ds ? mul(ds, a.scale) : nullptr};
}
// ȯ = Ṗ·v + P·v̇ in f32 or f64, head-major (null when every tangent is zero).
Node* output_tangent(Node& o, const Operands& x, const Composed& c) {
  Node* v = head_major(o, x.x[2]);
  Node* dp = c.ds ? matmul(softmax_backward(c.p, c.ds), v) : nullptr;
  return add_terms(dp, x.t[2] ? matmul(c.p, head_major(o, x.t[2])) : nullptr);
}
Node* jvp_attention(Node& o, const Tangents& t) {
  const Operands x = operands(o, t);
  Node* dout = output_tangent(o, x, compose(o, x));
  return dout && dout->dtype != o.dtype ? cast(dout, o.dtype) : dout;  // 16-bit o
}

// Flash: the adjoint of the packed output carries ō and the LSE's adjoint; the backward op
// takes both (∂LSE_i/∂S_ij = P_ij adds to dS). For 16-bit q the adjoint is f32 (the packed
// output's dtype) and the backward op returns the gradients in q's dtype.
// Fused qkv: the backward op's (b, s, 3, n, d) output is qkv's adjoint as it is.
Adjoints vjp_flash_attention(Node& y, Node* g) {
  if (kernels::fused_qkv(y))
    return {flash_attention_backward(y.inputs[0], &y, g, y.attrs.causal, y.attrs.scale)};
  Node* packed = flash_attention_backward(y.inputs[0], y.inputs[1], y.inputs[2], &y, g,
                                          y.attrs.causal, y.attrs.scale);  // (3, b, s, n, d)
  Adjoints out;
  for (int64_t i = 0; i < 3; ++i)
    out.push_back(reshape(slice(packed, 0, i, i + 1), y.inputs[static_cast<size_t>(i)]->shape));
  return out;
}
// [ȯ, L̇SE] with ȯ as for Attention and L̇SE_i = Σ_j P_ij Ṡ_ij; a zero part is a constant.
// Both are f32 or f64 already: the packed output's dtype.
Node* jvp_flash_attention(Node& y, const Tangents& t) {
  const Operands x = operands(y, t);
  const Composed c = compose(y, x);
  Node* dout = output_tangent(y, x, c);
  if (dout == nullptr) return nullptr;
  Shape row = y.shape;  // (b, s, n, 1)
  row[3] = 1;
  Node* dlse = c.ds ? permute(sum(mul(c.p, c.ds), {3}, true), {0, 2, 1, 3})
                    : y.graph->constant(Tensor::zeros(row, y.dtype));
  return concat({permute(dout, {0, 2, 1, 3}), dlse}, 3);
}

}  // namespace

void define_attention_ops(OpRegistry& r) {
  r.define(Op::Attention, "attention", 3).shape(attention_shape).workspace(attention_workspace)
      .vjp(vjp_attention).jvp(jvp_attention);
  // No second-order rules for the backward op.
  r.define(Op::AttentionBackward, "attention_backward", 4).shape(attention_backward_shape)
      .flops(attention_backward_flops).workspace(attention_backward_workspace);
  // The flash kernels' tile scratch is O(threads · tile), independent of s: they take it from
  // the allocator themselves (so MemoryProbe counts it) rather than declaring a workspace.
  // q, k, v or a fused qkv: 3 or 1 inputs (the shape rules check which).
  r.define(Op::FlashAttention, "flash_attention", -1).shape(flash_attention_shape)
      .flops(flash_attention_flops).vjp(vjp_flash_attention).jvp(jvp_flash_attention);
  r.define(Op::FlashAttentionBackward, "flash_attention_backward", -1)
      .shape(flash_attention_backward_shape).flops(flash_attention_backward_flops);
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

namespace {
Attrs flash_attrs(bool causal, double scale) {
  Attrs a;
  a.causal = causal;
  a.scale = scale;
  return a;
}
// The output alone, (b, s, n, d), in q's dtype: 16-bit q has an f32 packed output, and o comes
// back in q's dtype as attention()'s does (a bf16 model's next matmul takes it as it is); the
// cast's VJP hands the f32 adjoint back.
Node* output_of(Node* packed, DType q_dtype) {
  Node* o = slice(packed, 3, 0, packed->shape[3] - 1);
  return o->dtype == q_dtype ? o : cast(o, q_dtype);
}
}  // namespace

Node* flash_attention_packed(Node* q, Node* k, Node* v, bool causal, double scale) {
  return build(Op::FlashAttention, {q, k, v}, flash_attrs(causal, scale), "flash_attention");
}
Node* flash_attention_packed(Node* qkv, bool causal, double scale) {
  return build(Op::FlashAttention, {qkv}, flash_attrs(causal, scale), "flash_attention");
}
Node* flash_attention(Node* q, Node* k, Node* v, bool causal, double scale) {
  Node* packed = flash_attention_packed(q, k, v, causal, scale);  // checks q first
  return output_of(packed, q->dtype);
}
Node* flash_attention(Node* qkv, bool causal, double scale) {
  Node* packed = flash_attention_packed(qkv, causal, scale);
  return output_of(packed, qkv->dtype);
}
Node* flash_attention_backward(Node* q, Node* k, Node* v, Node* packed, Node* packed_adjoint,
                               bool causal, double scale) {
  return build(Op::FlashAttentionBackward, {q, k, v, packed, packed_adjoint},
               flash_attrs(causal, scale), "flash_attention_backward");
}
Node* flash_attention_backward(Node* qkv, Node* packed, Node* packed_adjoint, bool causal,
                               double scale) {
  return build(Op::FlashAttentionBackward, {qkv, packed, packed_adjoint},
               flash_attrs(causal, scale), "flash_attention_backward");
}

}  // namespace gw
