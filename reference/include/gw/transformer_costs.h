// transformer_costs.h — lab 07: the lecture's formulas for the FLOPs, parameters and memory
// of a transformer, and model FLOPs utilization (MFU).
//
// Letters (the course's): b batch, s sequence, h width, n heads, d = h/n head width,
// i SwiGLU width, v vocabulary, N layers; T = b·s tokens. The lecture's approximate table
// counts a matmul of m×n by n×h as 2mnh; llama_forward_flops counts each row exactly as the
// op table does (m·h·(2n − 1)), so that it equals the counting pass on the model's graph.
#pragma once

#include <cstdint>

namespace gw {

/// A Llama-style decoder and one batch, in the course's letters.
struct LlamaShape {
  int64_t b = 1;   ///< batch
  int64_t s = 1;   ///< sequence length
  int64_t h = 1;   ///< width
  int64_t n = 1;   ///< heads
  int64_t i = 1;   ///< SwiGLU width
  int64_t v = 1;   ///< vocabulary
  int64_t N = 1;   ///< layers
  /// Head width d = h / n.
  int64_t d() const { return h / n; }
  /// Llama-2-7B at its full context: b = 1, s = 4096, h = 4096, n = 32, i = 11008,
  /// v = 32000, N = 32.
  static LlamaShape llama2_7b() { return {1, 4096, 4096, 32, 11008, 32000, 32}; }
};

/// The forward FLOPs of the model of gw/model.h, row by row of the lecture's table, each row
/// counted as the op table counts it. The rows are per layer unless marked "once".
struct LlamaForwardFlops {
  int64_t layers = 0;             ///< N: how many times the per-layer rows occur
  double qkv = 0;                 ///< the three projections (b·s, h)·(h, h)
  double rope = 0;                ///< RoPE of q and of k, 3 FLOPs per element each
  double scores = 0;              ///< q kᵀ per head: (s, d)·(d, s)
  double softmax = 0;             ///< softmax of the scores, 3 per element
  double pv = 0;                  ///< P v per head: (s, s)·(s, d)
  double output = 0;              ///< the output projection (b·s, h)·(h, h)
  double attention_residual = 0;  ///< x + attention output
  double gate_up = 0;             ///< the gate and up projections (b·s, h)·(h, i)
  double silu = 0;                ///< SiLU of the gate, 4 per element
  double gate_product = 0;        ///< silu(gate) ∘ up
  double down = 0;                ///< the down projection (b·s, i)·(i, h)
  double mlp_residual = 0;        ///< x + MLP output
  double rms_norm = 0;            ///< one RMSNorm over (b·s, h): 2 per layer, 1 at the end
  double head = 0;                ///< once: the LM head (b·s, h)·(h, v)
  double cross_entropy = 0;       ///< once: softmax cross-entropy of the logits
  double loss_mean = 0;           ///< once: the mean of the b·s losses

  /// The attention rows (qkv … attention_residual) of every layer.
  double attention() const {
    return static_cast<double>(layers) *
           (qkv + rope + scores + softmax + pv + output + attention_residual);
  }
  /// The MLP rows (gate_up … mlp_residual) of every layer.
  double mlp() const {
    return static_cast<double>(layers) * (gate_up + silu + gate_product + down + mlp_residual);
  }
  /// The 2N + 1 RMSNorms.
  double norms() const { return static_cast<double>(2 * layers + 1) * rms_norm; }
  /// The head, the cross-entropy and the mean.
  double head_and_loss() const { return head + cross_entropy + loss_mean; }
  /// Everything: what the counting pass finds in the forward phase of the model's loss.
  double total() const { return attention() + mlp() + norms() + head_and_loss(); }
};

// ---- lab 07: reference/passes/transformer_costs.cpp ---------------------------------------

/// The forward FLOPs of `shape`, row by row, in the op table's convention (see gw/cost_model.h
/// and the handout's table): a matmul of m×n by n×h is m·h·(2n − 1).
LlamaForwardFlops llama_forward_flops(const LlamaShape& shape);
/// The lecture's approximate total: N(6bsh² + 4bs²h + 3bs²n + 2bsh²) + N·6bshi + 2bshv
/// (Llama-2-7B: 62.97 TFLOPs).
double lecture_forward_flops(const LlamaShape& shape);
/// Training FLOPs by the lecture's rule: forward, then a backward pass of twice the forward
/// (a gradient for the input and one for the weight of every matmul): 3 × forward.
double lecture_training_flops(const LlamaShape& shape);
/// Weights of the model of gw/model.h: per layer 4h² + 3hi + 2h (four projections, three
/// MLP matrices, two norms), then the embedding and the untied head (2vh) and the final norm.
int64_t llama_parameter_count(const LlamaShape& shape);

/// The lecture's GPT-style model: 12d²L + 2dV weights (d width, L layers, V vocabulary).
double gpt_parameter_count(double d, double L, double V);
/// Bytes of mixed-precision training with Adam per weight, times the weights: 16N (2 for the
/// 16-bit weight, 2 for its gradient, 4 + 4 + 4 for the f32 master copy, m and v). GPT-3
/// (N = 175·10⁹): 2800 GB. (An f32 trainer such as this one also needs 16N: 4 each for the
/// weight, its gradient, m and v.)
double adam_training_bytes(double parameters);

/// Elements of activation one block of gw/model.h keeps for its backward pass: (8h + 3i)·b·s
/// (the block input, the two normed inputs, q, k, v after RoPE, the merged attention
/// output, the residual between the sublayers; gate, up and their product). The lecture's
/// GPT-2 block keeps 12dT + n_heads·T²; this one keeps no scores (the attention backward
/// recomputes them) and the fused SwiGLU op keeps three (T, i) tensors (its backward
/// recomputes silu(gate)).
double llama_block_activations(const LlamaShape& shape);
/// Elements of activation kept for the backward pass, the lecture's formula for this model:
/// N blocks of llama_block_activations, plus the head's 2h·b·s (final norm input and output)
/// and 2v·b·s (the logits and their adjoint). With checkpointing at the block inputs: N·h·b·s
/// for the kept inputs plus one block's rematerialization (llama_block_activations − h·b·s)
/// instead of the N blocks.
double llama_activation_elements(const LlamaShape& shape, bool checkpointed);

/// Model FLOPs utilization: the achieved FLOP rate (flops_per_token × tokens_per_second) as
/// a fraction of the machine's peak FLOP rate. Llama 3 405B: 6·405·10⁹ FLOPs per token,
/// 16.5·10¹² tokens in 54 days on 16·10³ GPUs of 1671·10¹² FLOP/s: 32%.
double mfu(double flops_per_token, double tokens_per_second, double peak_flops_per_second);

}  // namespace gw
