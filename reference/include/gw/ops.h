// ops.h — the functions that build graph nodes (model code calls these, never add_node).
//
// Every function checks its inputs and throws gw::ShapeError / gw::DTypeError naming the op
// and the shapes. Binary ops broadcast NumPy-style by inserting explicit Broadcast nodes
// first, so the sum back to an input's shape lives in one VJP rule (Broadcast's).
// Shape comments use the course's letters: b batch, s sequence, h hidden, n heads, d head
// dimension, v vocabulary.
#pragma once

#include <vector>

#include "gw/graph.h"

namespace gw {

// ---- elementwise unary ---------------------------------------------------------------
Node* neg(Node* x);
Node* abs(Node* x);      ///< |x|
Node* exp(Node* x);
Node* log(Node* x);
Node* sin(Node* x);
Node* cos(Node* x);
Node* sqrt(Node* x);
Node* rsqrt(Node* x);    ///< 1/sqrt(x)
Node* relu(Node* x);
Node* sigmoid(Node* x);
Node* silu(Node* x);     ///< x·sigmoid(x)
Node* tanh(Node* x);
Node* cast(Node* x, DType dtype);

// ---- elementwise with a scalar -------------------------------------------------------
// Write the constant as a double (`add(x, 0.0)`): an integer literal 0 is also a null Node*,
// so `add(x, 0)` is ambiguous and does not compile.
Node* add(Node* x, double c);  ///< x + c
Node* mul(Node* x, double c);  ///< x · c
Node* pow(Node* x, double c);  ///< x ^ c

// ---- elementwise binary, broadcasting --------------------------------------------------
Node* add(Node* a, Node* b);
Node* sub(Node* a, Node* b);
Node* mul(Node* a, Node* b);
Node* div(Node* a, Node* b);
/// 1 where `a op b` holds, else 0, in the inputs' dtype (not differentiable).
Node* compare(Node* a, Node* b, CompareOp op);

// ---- reductions (empty axes = all axes) ------------------------------------------------
Node* sum(Node* x, std::vector<int64_t> axes = {}, bool keepdims = false);
Node* max(Node* x, std::vector<int64_t> axes = {}, bool keepdims = false);
Node* mean(Node* x, std::vector<int64_t> axes = {}, bool keepdims = false);

// ---- shape -----------------------------------------------------------------------------
/// New shape with the same numel; one entry may be -1. A view: no copy at run time.
Node* reshape(Node* x, Shape shape);
/// Axes reordered: output axis i is input axis perm[i].
Node* permute(Node* x, std::vector<int64_t> perm);
/// Swaps two axes (default: the last two).
Node* transpose(Node* x, int64_t axis_a = -2, int64_t axis_b = -1);
/// NumPy broadcast to `shape` (returns x itself when shapes are equal).
Node* broadcast_to(Node* x, Shape shape);
/// Sums a broadcast value back to `shape` (returns x itself when shapes are equal).
Node* sum_to(Node* x, const Shape& shape);
/// Elements [start, end) along `axis`.
Node* slice(Node* x, int64_t axis, int64_t start, int64_t end);
/// Joins along `axis`; the other axes must match.
Node* concat(const std::vector<Node*>& xs, int64_t axis);

// ---- embedding -------------------------------------------------------------------------
/// table (v, h), ids i32 (...) -> (..., h): row ids[i] of the table.
Node* embedding(Node* table, Node* ids);
/// ids i32 (...), grad (..., h) -> (vocab, h): scatter-add of grad rows into their ids.
Node* embedding_backward(Node* ids, Node* grad, int64_t vocab);

// ---- linear algebra --------------------------------------------------------------------
/// Matrix product C = op(a)·op(b), op = transpose when the flag is set. The operand
/// combinations it accepts (f32 or f64, both the same dtype):
///   - a (m, k),      b (k, n)      -> (m, n)        plain 2-D
///   - a (..., m, k), b (..., k, n) -> (..., m, n)   batched: the same batch axes on both
///   - a (..., m, k), b (k, n)      -> (..., m, n)   a 2-D b shared by every batch (a linear
///                                                    layer on (b, s, h) activations)
/// A 2-D a with a batched b, or batch axes that differ or broadcast, are refused with a
/// gw::ShapeError. With transpose_a, a is read as (..., k, m); with transpose_b, b as
/// (..., n, k) or (n, k). A shared b receives, in the VJP, the sum of its adjoints over the
/// batch axes.
Node* matmul(Node* a, Node* b, bool transpose_a = false, bool transpose_b = false);

// ---- fused ops (each has a version composed of primitives in its tests) ------------------
/// Softmax over the last axis.
Node* softmax(Node* x);
/// Given y = softmax(x) and ȳ: x̄ = y ∘ (ȳ − rowsum(ȳ ∘ y)).
Node* softmax_backward(Node* y, Node* y_adjoint);
/// log(softmax(x)) over the last axis, computed stably.
Node* log_softmax(Node* x);
/// Given y = log_softmax(x) and ȳ: x̄ = ȳ − exp(y) · rowsum(ȳ).
Node* log_softmax_backward(Node* y, Node* y_adjoint);
/// logits (n, v), targets i32 (n) -> per-row loss (n) = logsumexp(row) − row[target].
Node* softmax_cross_entropy(Node* logits, Node* targets);
/// x̄ = (softmax(logits) − onehot(targets)) · ḡ per row; output (n, v).
Node* softmax_cross_entropy_backward(Node* logits, Node* targets, Node* loss_adjoint);
/// x (..., h), weight (h) -> x · rsqrt(mean(x²) + eps) · weight.
Node* rms_norm(Node* x, Node* weight, double eps = 1e-5);
/// x̄ of RMSNorm given ȳ (recomputes rstd; the forward saves nothing).
Node* rms_norm_backward_input(Node* x, Node* weight, Node* y_adjoint, double eps = 1e-5);
/// w̄ of RMSNorm given ȳ: sum over rows of ȳ ∘ x · rstd, shape (h).
Node* rms_norm_backward_weight(Node* x, Node* y_adjoint, double eps = 1e-5);
/// SwiGLU's gate: silu(gate) ∘ up, for gate and up of one shape (the MLP's two projections).
/// One fused op for silu(gate)·up (llm.c's and Llama's fused kernel): one pass over memory
/// instead of three, and a backward of two ops instead of six.
Node* swiglu(Node* gate, Node* up);
/// ḡate = ȳ ∘ up ∘ silu′(gate), silu′(a) = σ(a)(1 + a(1 − σ(a))).
Node* swiglu_backward_gate(Node* gate, Node* up, Node* y_adjoint);
/// ūp = ȳ ∘ silu(gate).
Node* swiglu_backward_up(Node* gate, Node* y_adjoint);
/// SwiGLU of gate and up packed side by side: gate_up (..., 2i) holds gate in its first i
/// columns and up in its last i; the result is silu(gate) ∘ up, (..., i). The MLP computes
/// gate_up with one GEMM on [W_gate | W_up] (one (h, 2i) product runs faster than two (h, i)
/// ones, and its backward is one GEMM per operand instead of two plus an add). Throws
/// gw::ShapeError for an odd or missing last axis, gw::DTypeError for a non-floating dtype.
Node* swiglu_packed(Node* gate_up);
/// [ḡate | ūp] (..., 2i) of swiglu_packed in one pass, given ȳ (..., i): the layout the
/// packed GEMM's backward reads, so nothing is sliced or concatenated.
Node* swiglu_packed_backward(Node* gate_up, Node* y_adjoint);
/// Rotary position embedding of x (b, n, s, d) (seq_axis 2) or (b, s, n, d) (seq_axis 1), d
/// even: the pair (2i, 2i+1) at position p is rotated by p·theta^(−2i/d). inverse=true
/// rotates the other way (RoPE's VJP). A fused x (b, s, 3, n, d) (seq_axis 1; q, k, v side by
/// side, as flash_attention takes them) has its q and k rotated and its v passed through.
Node* rope(Node* x, double theta = 10000.0, bool inverse = false, int64_t seq_axis = 2);
/// softmax(q kᵀ · scale + mask) v for q, k, v (b, n, s, d); scale 0 means 1/sqrt(d).
/// Naive: materializes the (s, s) scores per head in its workspace.
Node* attention(Node* q, Node* k, Node* v, bool causal, double scale = 0.0);
/// Gradients of attention given ō (b, n, s, d), packed as (3, b, n, s, d): q̄, k̄, v̄.
Node* attention_backward(Node* q, Node* k, Node* v, Node* out_adjoint, bool causal,
                         double scale = 0.0);
/// Flash attention's op: softmax(q kᵀ · scale + mask) v per head for q, k, v sequence-major,
/// (b, s, n, d) (the layout x·W_q produces, reshaped), tiled with an online softmax (no (s, s)
/// buffer), packed with each row's log-sum-exp of the scaled, masked scores as
/// (b, s, n, d + 1): [..., :d] is the output, [..., d] the LSE that the
/// backward op reads instead of recomputing the softmax's normalizer. q, k, v f32, f64, f16 or
/// bf16; for 16-bit q the packed output is f32 (the LSE is never rounded to 16 bits).
Node* flash_attention_packed(Node* q, Node* k, Node* v, bool causal, double scale = 0.0);
/// The same with q, k and v fused: qkv (b, s, 3, n, d) holds each position's q, k and v rows
/// side by side, the output of one x·[W_q | W_k | W_v] GEMM reshaped.
Node* flash_attention_packed(Node* qkv, bool causal, double scale = 0.0);
/// The output of flash attention alone, (b, s, n, d), in q's dtype: the slice of
/// flash_attention_packed, cast back to q's dtype for 16-bit q.
Node* flash_attention(Node* q, Node* k, Node* v, bool causal, double scale = 0.0);
/// The same for a fused qkv (b, s, 3, n, d).
Node* flash_attention(Node* qkv, bool causal, double scale = 0.0);
/// Gradients of flash_attention_packed given its output `packed` and that output's adjoint
/// (both (b, s, n, d + 1)), packed as (3, b, s, n, d): q̄, k̄, v̄. Recomputes P per tile from
/// the saved LSE. `packed` and `packed_adjoint` are f32 for 16-bit q; the gradients are in
/// q's dtype.
Node* flash_attention_backward(Node* q, Node* k, Node* v, Node* packed, Node* packed_adjoint,
                               bool causal, double scale = 0.0);
/// The same for a fused qkv (b, s, 3, n, d): the gradient q̄kv has qkv's shape, q̄, k̄, v̄ side
/// by side as the fused projection's backward GEMM reads them.
Node* flash_attention_backward(Node* qkv, Node* packed, Node* packed_adjoint, bool causal,
                               double scale = 0.0);
/// One AdamW step, in place, on param, m and v (Parameter leaves of the same shape).
/// scalars f32 (4) = [lr, 1 − β1ᵗ, 1 − β2ᵗ, grad_scale]; the gradient is multiplied by
/// grad_scale first (global-norm clipping). Output: a scalar placeholder (0).
Node* adamw(Node* param, Node* grad, Node* m, Node* v, Node* scalars, double beta1,
            double beta2, double eps, double weight_decay);

// ---- distributed -----------------------------------------------------------------------
/// Sum (or mean, with average) of x over all ranks of the run's communicator.
Node* all_reduce(Node* x, bool average = true);

// ---- quantization ----------------------------------------------------------------------
/// q = clamp(round(x / S) + Z, −2^(bits−1), 2^(bits−1) − 1) as i8, rounding half to even.
/// scale and zero_point are f32 of shape () per tensor, (x.shape[axis]) per channel, or, with
/// group_size = g > 0, x's shape with x.shape[axis] replaced by ⌈x.shape[axis]/g⌉ (one pair per
/// run of g elements along axis; gw/quantize.h).
Node* quantize(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis = 0,
               int64_t group_size = 0);
/// r = S (q − Z) as f32, with the same conventions as quantize.
Node* dequantize(Node* q, Node* scale, Node* zero_point, int64_t axis = 0,
                 int64_t group_size = 0);
/// Fake quantization, for quantization-aware training: S·(q − Z) with q the codes quantize()
/// would give, as f32 of x's shape (the same conventions). Its VJP is the straight-through
/// estimator: the gradient passes where x is inside the representable range, else 0.
Node* fake_quantize(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis = 0,
                    int64_t group_size = 0);
/// 1 where x lies inside fake_quantize's representable range (its code is not clamped),
/// 0 elsewhere, as f32 of x's shape.
Node* fake_quantize_mask(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis = 0,
                         int64_t group_size = 0);
/// Integer matmul: a i8 (m, k), b i8 (k, n) -> i32 (m, n), accumulated in i32.
Node* matmul_int8(Node* a, Node* b);
/// x·W with W stored as int8 codes q (k, n) and one scale per output channel s (n) (symmetric:
/// W = q·s): each row of x (..., k) is quantized on the fly to 7-bit codes in [−63, 63] with
/// its own scale max|x_row|/63 (so that x86 CPUs without VNNI multiply them exactly), the
/// product runs as an int8 GEMM with int32 sums, and y = sum·s_row·s_col in f32 (..., n).
/// Made by the fuse_int8_linear pass (gw/passes.h).
Node* quantized_linear(Node* x, Node* codes, Node* scale);

}  // namespace gw
