// model.h — the Llama-style decoder of the reference trainer, built on the graph.
//
// Token embedding, N blocks of [pre-norm RMSNorm, causal multi-head attention with RoPE,
// residual; RMSNorm, SwiGLU MLP, residual], a final RMSNorm and an untied LM head. The
// weights are Parameter leaves of one Graph; the training step, the evaluation forward and
// the sampler each build their nodes on top of those leaves (or on leaves that share their
// tensors), so all of them see the same weights. Letters: b batch, s sequence, h hidden,
// n heads, d head dim, i MLP width, v vocabulary.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gw/graph.h"

namespace gw {

struct CheckpointRewrite;  // gw/checkpointing.h

/// Sizes of the decoder.
struct ModelShape {
  int64_t n_layer = 4;      ///< N blocks
  int64_t n_head = 4;       ///< n heads
  int64_t n_embd = 128;     ///< h
  int64_t mlp_hidden = 352; ///< i
  int64_t vocab_size = 65;  ///< v
  int64_t block_size = 64;  ///< longest context s
  double rope_theta = 10000.0;  ///< RoPE base
  double norm_eps = 1e-5;       ///< RMSNorm epsilon
};

/// Which AdamW group a weight belongs to: matrices decay, norms and the embedding do not
/// (unless the config says so).
enum class ParamGroup { matrix, norm, embedding };

/// One weight leaf and its group.
struct ModelParameter {
  Node* node = nullptr;             ///< Parameter leaf (trainable)
  ParamGroup group = ParamGroup::matrix;  ///< decay group
};

/// The weights of one decoder block. Matrices are (in, out): y = x W.
struct BlockWeights {
  Node* attn_norm;  ///< (h)
  Node* wq;         ///< (h, h)
  Node* wk;         ///< (h, h)
  Node* wv;         ///< (h, h)
  Node* wo;         ///< (h, h)
  Node* mlp_norm;   ///< (h)
  /// (h, 2i): [W_gate | W_up], SwiGLU's two projections side by side, so that the MLP runs
  /// one (h, 2i) GEMM rather than two (h, i) ones (gw::swiglu_packed reads its halves).
  Node* w_gate_up;
  Node* w_down;     ///< (i, h)
  /// The block's matmul weights, in the order checkpoints and quantization list them.
  std::array<Node**, 6> matrices() { return {&wq, &wk, &wv, &wo, &w_gate_up, &w_down}; }
};

/// The forward pass of a batch, with the values that passes need besides the loss.
struct ForwardPass {
  Node* logits = nullptr;  ///< (b·s, v)
  Node* loss = nullptr;    ///< scalar mean cross-entropy (null when no targets were given)
  /// The residual stream between the blocks, (b·s, h): residuals[l] is block l's input and
  /// residuals[N] the last block's output (the blocks activation checkpointing recomputes).
  std::vector<Node*> residuals;
};

/// The decoder's weights inside a Graph.
///
/// Every node it builds carries a scope (Node::scope) naming its part, for the counting
/// pass (gw/cost_model.h): "embedding", "layer<l>/attn_norm", "layer<l>/attention",
/// "layer<l>/mlp_norm", "layer<l>/mlp", "final_norm", "head" (LM head and loss).
struct Transformer {
  ModelShape shape;                    ///< sizes
  Node* tok_emb = nullptr;             ///< (v, h)
  std::vector<BlockWeights> blocks;    ///< N blocks
  Node* final_norm = nullptr;          ///< (h)
  Node* lm_head = nullptr;             ///< (h, v), untied from tok_emb
  std::vector<ModelParameter> params;  ///< every weight, in a fixed order (checkpoints use it)
  bool use_flash = false;              ///< attention through flash_attention (O(s) memory)
  /// With use_flash: one (h, 3h) GEMM for q, k and v, read by RoPE and flash attention fused,
  /// (b, s, 3, n, d); off, three GEMMs and three tensors. make_transformer turns it on for a
  /// CPU graph: the CPU kernels read the fused layout, the CUDA kernels take three tensors.
  bool fused_flash = true;

  /// The forward pass of ids i32 (b, s), s ≤ block_size, and its loss against targets
  /// (b, s) when `targets` is not null.
  ForwardPass forward(Node* ids, Node* targets = nullptr) const;
  /// Logits (b·s, v) of ids i32 (b, s), s ≤ block_size.
  Node* logits(Node* ids) const;
  /// Mean cross-entropy (scalar) of ids (b, s) predicting targets (b, s).
  Node* loss(Node* ids, Node* targets) const;
  /// Number of weights.
  int64_t parameter_count() const;
};

/// Creates the weights in `graph`: matrices and the embedding ~ N(0, init_std²) from Philox
/// (seed, one stream per weight), the residual projections (wo, w_down) scaled by
/// 1/sqrt(2N) as in GPT-2, norm weights 1. In a shapes-only graph (GraphMode) the weights are
/// declared without values. Throws gw::UsageError on bad sizes.
Transformer make_transformer(Graph& graph, const ModelShape& shape, uint64_t seed,
                             double init_std = 0.02);

/// Forward FLOPs per token from lab 07's analytic table at context s (b = 1): per layer
/// QKV 6h², attention 4sh + 3sn, output 2h², SwiGLU 6hi, plus the head 2hv.
double forward_flops_per_token(const ModelShape& shape, int64_t s);

/// The backward pass of `forward`'s loss: gradients() of every weight of `model` (in the
/// order of model.params), built in the scope "backward". With `recompute`, the activation
/// checkpointing rewrite (gw/checkpointing.h) then makes the backward pass recompute each
/// block from its input (forward.residuals); `rewrite` (when given) receives what it changed.
std::vector<Node*> model_gradients(const Transformer& model, const ForwardPass& forward,
                                   bool recompute, CheckpointRewrite* rewrite = nullptr);

}  // namespace gw
