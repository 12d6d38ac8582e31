// transformer.cpp — the Llama-style decoder: weights (make_transformer) and the forward graph
// (Transformer::logits, Transformer::loss).
//
// The residual stream is kept 2-D, (b·s, h), so that every linear layer is one plain GEMM
// against a shared (in, out) matrix and its weight gradient is one GEMM too (xᵀ ȳ). Only
// attention sees heads: (b, n, s, d) for the naive op; for flash attention (b, s, n, d), the
// layout x·W_q produces (no permute). On the CPU the three projections run as one GEMM against
// [W_q | W_k | W_v], joined per step (an (h, 3h) copy, which buys one GEMM instead of three and
// one backward GEMM per operand instead of three and two adds), and RoPE and flash attention
// read its output in place as a fused (b, s, 3, n, d); flash's backward writes the gradient in
// that layout, so nothing between the projection and attention is sliced. The weights stay
// three (h, h) parameters (checkpoints, quantization and the naive path see them apart). The
// MLP's gate and up projections are one (h, 2i) weight, so they run as one GEMM, and the
// packed SwiGLU reads the two halves of its output.
#include <algorithm>
#include <cmath>

#include "gw/autodiff.h"
#include "gw/checkpointing.h"
#include "gw/error.h"
#include "gw/model.h"
#include "gw/ops.h"
#include "gw/rng.h"

namespace gw {
namespace {

// N(0, std²) weights from Philox: element j of weight `stream` is normal_float(seed,
// stream, j), so the init does not depend on the thread count or on creation order.
Tensor normal_tensor(const Shape& shape, uint64_t seed, uint64_t stream, double std_dev) {
  Tensor t = Tensor::empty(shape, DType::f32);
  float* p = t.data<float>();
  const float s = static_cast<float>(std_dev);
  for (int64_t j = 0; j < t.numel(); ++j)
    p[j] = s * normal_float(seed, stream, static_cast<uint64_t>(j));
  return t;
}

// x (b·s, h) -> (b, n, s, d): split the heads and move them before the sequence.
Node* split_heads(Node* x, int64_t b, int64_t s, int64_t n, int64_t d) {
  return permute(reshape(x, {b, s, n, d}), {0, 2, 1, 3});
}

// (b, n, s, d) -> (b·s, h)
Node* merge_heads(Node* x, int64_t b, int64_t s, int64_t n, int64_t d) {
  return reshape(permute(x, {0, 2, 1, 3}), {b * s, n * d});
}

}  // namespace

Transformer make_transformer(Graph& graph, const ModelShape& shape, uint64_t seed,
                             double init_std) {
  GW_CHECK_AS(UsageError,
              shape.n_layer > 0 && shape.n_head > 0 && shape.n_embd > 0 &&
                  shape.mlp_hidden > 0 && shape.vocab_size > 0 && shape.block_size > 0,
              "transformer: sizes must be positive (n_layer ", shape.n_layer, ", n_head ",
              shape.n_head, ", n_embd ", shape.n_embd, ", mlp_hidden ", shape.mlp_hidden,
              ", vocab ", shape.vocab_size, ", block ", shape.block_size, ")");
  GW_CHECK_AS(UsageError, shape.n_embd % shape.n_head == 0 && (shape.n_embd / shape.n_head) % 2 == 0,
              "transformer: n_embd ", shape.n_embd, " must split into ", shape.n_head,
              " heads of even size");
  Transformer t;
  t.shape = shape;
  t.fused_flash = graph.device().is_cpu();
  const int64_t h = shape.n_embd, i = shape.mlp_hidden, v = shape.vocab_size;
  uint64_t stream = 0;
  // A shapes-only graph declares the weights (Llama-2-7B's 27 GB) without making them.
  auto weight = [&](const std::string& name, const Shape& sh, double std_dev, ParamGroup group) {
    const uint64_t this_stream = stream++;
    Node* node = graph.shapes_only()
                     ? graph.parameter(name, sh, DType::f32, true)
                     : graph.parameter(name, normal_tensor(sh, seed, this_stream, std_dev));
    t.params.push_back({node, group});
    return node;
  };
  // Two (rows, cols) weights side by side in one (rows, 2·cols) parameter, each half drawn as
  // its own weight would be (a stream each).
  auto side_by_side = [&](const std::string& name, int64_t rows, int64_t cols, double std_dev) {
    const uint64_t first = stream;
    stream += 2;
    Node* node = nullptr;
    if (graph.shapes_only()) {
      node = graph.parameter(name, {rows, 2 * cols}, DType::f32, true);
    } else {
      const Tensor left = normal_tensor({rows, cols}, seed, first, std_dev);
      const Tensor right = normal_tensor({rows, cols}, seed, first + 1, std_dev);
      Tensor both = Tensor::empty({rows, 2 * cols});
      for (int64_t r = 0; r < rows; ++r) {
        std::copy_n(left.data<float>() + r * cols, cols, both.data<float>() + r * 2 * cols);
        std::copy_n(right.data<float>() + r * cols, cols, both.data<float>() + (2 * r + 1) * cols);
      }
      node = graph.parameter(name, both);
    }
    t.params.push_back({node, ParamGroup::matrix});
    return node;
  };
  auto norm = [&](const std::string& name) {
    ++stream;  // keep one stream per weight, whatever its init
    Node* node = graph.shapes_only() ? graph.parameter(name, {h}, DType::f32, true)
                                     : graph.parameter(name, Tensor::full({h}, 1.0));
    t.params.push_back({node, ParamGroup::norm});
    return node;
  };
  // GPT-2: residual projections scaled by 1/sqrt(2N), so the stream's variance stays put.
  const double residual_std = init_std / std::sqrt(2.0 * static_cast<double>(shape.n_layer));
  // Each weight is built in the scope of the part that uses it (the counting pass groups the
  // memory of weights by part too).
  auto in = [&](const std::string& scope, const auto& make) {
    NameScope named(graph, scope);
    return make();
  };
  t.tok_emb = in("embedding",
                 [&] { return weight("tok_emb", {v, h}, init_std, ParamGroup::embedding); });
  for (int64_t l = 0; l < shape.n_layer; ++l) {
    const std::string layer = "layer" + std::to_string(l);
    const std::string p = layer + ".";
    BlockWeights w{};
    w.attn_norm = in(layer + "/attn_norm", [&] { return norm(p + "attn_norm"); });
    {
      NameScope named(graph, layer + "/attention");
      w.wq = weight(p + "wq", {h, h}, init_std, ParamGroup::matrix);
      w.wk = weight(p + "wk", {h, h}, init_std, ParamGroup::matrix);
      w.wv = weight(p + "wv", {h, h}, init_std, ParamGroup::matrix);
      w.wo = weight(p + "wo", {h, h}, residual_std, ParamGroup::matrix);
    }
    w.mlp_norm = in(layer + "/mlp_norm", [&] { return norm(p + "mlp_norm"); });
    {
      NameScope named(graph, layer + "/mlp");
      w.w_gate_up = side_by_side(p + "w_gate_up", h, i, init_std);
      w.w_down = weight(p + "w_down", {i, h}, residual_std, ParamGroup::matrix);
    }
    t.blocks.push_back(w);
  }
  t.final_norm = in("final_norm", [&] { return norm("final_norm"); });
  t.lm_head = in("head", [&] { return weight("lm_head", {h, v}, init_std, ParamGroup::matrix); });
  return t;
}

ForwardPass Transformer::forward(Node* ids, Node* targets) const {
  GW_CHECK(ids != nullptr, "transformer: null ids");
  GW_CHECK_AS(ShapeError, ids->shape.size() == 2 && ids->dtype == DType::i32,
              "transformer: ids ", ids->str(), " must be i32 (b, s)");
  GW_CHECK_AS(ShapeError, targets == nullptr || targets->shape == ids->shape,
              "transformer: targets must have the shape of ids ", ids->str());
  const int64_t b = ids->shape[0], s = ids->shape[1];
  GW_CHECK_AS(ShapeError, s >= 1 && s <= shape.block_size, "transformer: sequence length ", s,
              " must be in [1, block_size ", shape.block_size, "]");
  const int64_t h = shape.n_embd, n = shape.n_head, d = h / n;
  const double eps = shape.norm_eps;
  Graph& graph = *tok_emb->graph;
  ForwardPass out;
  Node* x = nullptr;
  {
    NameScope scope(graph, "embedding");
    x = reshape(embedding(tok_emb, ids), {b * s, h});  // (b·s, h)
  }
  out.residuals.push_back(x);
  for (size_t l = 0; l < blocks.size(); ++l) {
    const BlockWeights& w = blocks[l];
    const std::string layer = "layer" + std::to_string(l);
    Node* a = nullptr;
    Node* m = nullptr;
    {
      NameScope scope(graph, layer + "/attn_norm");
      a = rms_norm(x, w.attn_norm, eps);
    }
    {  // attention sublayer: x + Wo·attn(rope(q), rope(k), v)
      NameScope scope(graph, layer + "/attention");
      Node* o = nullptr;  // (b·s, h)
      if (use_flash && fused_flash) {  // one GEMM; RoPE and flash read its output in place
        Node* qkv = matmul(a, concat({w.wq, w.wk, w.wv}, 1));  // (b·s, 3h)
        Node* rotated = rope(reshape(qkv, {b, s, 3, n, d}), shape.rope_theta, false, 1);
        o = reshape(flash_attention(rotated, /*causal=*/true), {b * s, h});
      } else if (use_flash) {  // flash reads (b, s, n, d) as the projections make it
        const Shape heads = {b, s, n, d};
        Node* q = rope(reshape(matmul(a, w.wq), heads), shape.rope_theta, false, 1);
        Node* k = rope(reshape(matmul(a, w.wk), heads), shape.rope_theta, false, 1);
        Node* v = reshape(matmul(a, w.wv), heads);
        o = reshape(flash_attention(q, k, v, /*causal=*/true), {b * s, h});
      } else {  // the naive op takes (b, n, s, d)
        Node* q = rope(split_heads(matmul(a, w.wq), b, s, n, d), shape.rope_theta);
        Node* k = rope(split_heads(matmul(a, w.wk), b, s, n, d), shape.rope_theta);
        Node* v = split_heads(matmul(a, w.wv), b, s, n, d);
        o = merge_heads(attention(q, k, v, /*causal=*/true), b, s, n, d);
      }
      x = add(x, matmul(o, w.wo));
    }
    {
      NameScope scope(graph, layer + "/mlp_norm");
      m = rms_norm(x, w.mlp_norm, eps);
    }
    {  // MLP sublayer: x + W_down·(silu(x W_gate) ∘ x W_up)
      NameScope scope(graph, layer + "/mlp");
      Node* gated = swiglu_packed(matmul(m, w.w_gate_up));  // (b·s, 2i) -> (b·s, i)
      x = add(x, matmul(gated, w.w_down));
    }
    out.residuals.push_back(x);
  }
  Node* normed = nullptr;
  {
    NameScope scope(graph, "final_norm");
    normed = rms_norm(x, final_norm, eps);
  }
  NameScope scope(graph, "head");
  out.logits = matmul(normed, lm_head);  // (b·s, v)
  if (targets != nullptr) {
    Node* flat = reshape(targets, {numel(targets->shape)});  // (b·s)
    out.loss = mean(softmax_cross_entropy(out.logits, flat));
  }
  return out;
}

Node* Transformer::logits(Node* ids) const { return forward(ids).logits; }

Node* Transformer::loss(Node* ids, Node* targets) const {
  GW_CHECK_AS(ShapeError, targets != nullptr, "transformer: targets must have the shape of ids ",
              ids != nullptr ? ids->str() : std::string("(null)"));
  return forward(ids, targets).loss;
}

int64_t Transformer::parameter_count() const {
  int64_t total = 0;
  for (const ModelParameter& p : params) total += numel(p.node->shape);
  return total;
}

std::vector<Node*> model_gradients(const Transformer& model, const ForwardPass& forward,
                                   bool recompute, CheckpointRewrite* rewrite) {
  GW_CHECK(forward.loss != nullptr, "model_gradients: the forward pass has no loss");
  std::vector<Node*> weights;
  for (const ModelParameter& p : model.params) weights.push_back(p.node);
  std::vector<Node*> grads;
  {
    NameScope scope(*forward.loss->graph, "backward");
    grads = gradients(forward.loss, weights);
  }
  if (recompute) {
    std::vector<RecomputeBlock> blocks;
    for (size_t l = 0; l + 1 < forward.residuals.size(); ++l)
      blocks.push_back({forward.residuals[l], forward.residuals[l + 1]});
    const CheckpointRewrite done = checkpoint_activations(blocks);
    if (rewrite != nullptr) *rewrite = done;
  }
  return grads;
}

double forward_flops_per_token(const ModelShape& m, int64_t s) {
  const double h = static_cast<double>(m.n_embd), i = static_cast<double>(m.mlp_hidden);
  const double n = static_cast<double>(m.n_head), v = static_cast<double>(m.vocab_size);
  const double sd = static_cast<double>(s);
  // Per token (divide lab 07's per-batch table by b·s): QKV 6h², scores and PV 4sh,
  // softmax 3sn, output 2h², SwiGLU 6hi + 5i (silu, product), RMSNorm 2·4h, residual 2h.
  const double layer = 6 * h * h + 4 * sd * h + 3 * sd * n + 2 * h * h + 6 * h * i + 5 * i +
                       8 * h + 2 * h;
  return static_cast<double>(m.n_layer) * layer + 2 * h * v + 4 * h;
}

}  // namespace gw
