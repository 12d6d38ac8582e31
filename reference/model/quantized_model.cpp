// quantized_model.cpp — quantized checkpoints (gw/quantized_model.h): the weights a model
// quantizes, packing 4-bit codes two per byte, and building the model back from a file.
#include "gw/quantized_model.h"

#include "gw/error.h"
#include "gw/ops.h"
#include "gw/passes.h"
#include "gw/trainer.h"

namespace gw {
namespace {

constexpr const char* kFormat = "gradwork-quantized";

bool four_bits(WeightScheme s) { return s != WeightScheme::int8_channel; }

// 4-bit values (codes in [−8, 7] or indices in [0, 15]) two per byte, low nibble first.
Tensor pack_nibbles(const Tensor& values) {
  const std::vector<double> v = values.to_doubles();
  std::vector<double> packed((v.size() + 1) / 2, 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    const int nibble = static_cast<int>(v[i]) & 0xF;
    int byte = static_cast<int>(packed[i / 2]) & 0xFF;
    byte |= i % 2 ? nibble << 4 : nibble;
    packed[i / 2] = static_cast<double>(static_cast<int8_t>(byte));
  }
  return Tensor::from_values({static_cast<int64_t>(packed.size())}, packed, DType::i8);
}

// The inverse of pack_nibbles: `count` values of `shape`, signed (codes) or not (indices).
Tensor unpack_nibbles(const Tensor& packed, const Shape& shape, bool is_signed, DType dtype) {
  const int8_t* p = packed.data<int8_t>();
  const int64_t n = numel(shape);
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int nibble = (static_cast<uint8_t>(p[i / 2]) >> (i % 2 ? 4 : 0)) & 0xF;
    if (is_signed && nibble >= 8) nibble -= 16;
    v[static_cast<size_t>(i)] = nibble;
  }
  return Tensor::from_values(shape, v, dtype);
}

}  // namespace

std::vector<Node*> quantizable_weights(const Transformer& model) {
  std::vector<Node*> w;
  for (BlockWeights b : model.blocks)  // a copy of the pointers: matrices() hands out slots
    for (Node** n : b.matrices()) w.push_back(*n);
  w.push_back(model.lm_head);
  return w;
}

Checkpoint quantized_checkpoint(const Checkpoint& trained, const Transformer& model,
                                WeightScheme scheme, const std::vector<QuantizedWeight>& weights,
                                const nlohmann::json& extra) {
  Checkpoint c;
  c.meta = extra.is_object() ? extra : nlohmann::json::object();
  c.meta["format"] = kFormat;
  c.meta["scheme"] = weight_scheme_name(scheme);
  c.meta["config"] = trained.meta.at("config");
  c.meta["tokenizer"] = trained.meta.at("tokenizer");
  std::vector<std::string> quantized;
  for (const QuantizedWeight& q : weights) quantized.push_back(q.name);
  for (const ModelParameter& p : model.params) {
    const std::string& name = p.node->name;
    if (std::find(quantized.begin(), quantized.end(), name) == quantized.end())
      c.tensors.emplace_back(name, p.node->value.to(Device::cpu()));
  }
  for (const QuantizedWeight& q : weights) {
    c.tensors.emplace_back(q.name + ".codes", four_bits(scheme) ? pack_nibbles(q.codes) : q.codes);
    if (scheme == WeightScheme::kmeans4) {
      c.tensors.emplace_back(q.name + ".codebook", q.kmeans.codebook);
    } else {
      c.tensors.emplace_back(q.name + ".scale", q.params.scale);
      c.tensors.emplace_back(q.name + ".zero_point", q.params.zero_point);
    }
  }
  return c;
}

bool is_quantized_checkpoint(const Checkpoint& ckpt) {
  return ckpt.meta.is_object() && ckpt.meta.value("format", std::string()) == kFormat;
}

std::vector<QuantizedWeight> read_quantized_weights(const Checkpoint& ckpt,
                                                    const Transformer& model) {
  GW_CHECK_AS(IoError, is_quantized_checkpoint(ckpt), ckpt.label(),
              " is not a quantized checkpoint (made by gw-quantize)");
  GW_CHECK_AS(IoError, ckpt.meta.contains("scheme") && ckpt.meta["scheme"].is_string(),
              ckpt.label(), ": the metadata has no \"scheme\"");
  WeightScheme scheme;
  try {
    scheme = weight_scheme_from_name(ckpt.meta["scheme"].get<std::string>());
  } catch (const UsageError& e) {
    throw IoError(ckpt.label() + ": " + e.what());
  }
  std::vector<QuantizedWeight> out;
  for (Node* w : quantizable_weights(model)) {
    QuantizedWeight q;
    q.name = w->name;
    q.shape = w->shape;
    const Tensor& codes = ckpt.tensor(q.name + ".codes");
    const int64_t n = numel(q.shape);
    const int64_t want = four_bits(scheme) ? (n + 1) / 2 : n;
    GW_CHECK_AS(IoError, codes.dtype() == DType::i8 && codes.numel() == want, ckpt.label(),
                ": tensor '", q.name, ".codes' is ", codes.str(), ", expected ", want, " i8 bytes");
    if (scheme == WeightScheme::kmeans4) {
      q.codes = unpack_nibbles(codes, q.shape, false, DType::i32);
      q.kmeans.indices = q.codes;
      q.kmeans.codebook = ckpt.tensor(q.name + ".codebook");
      q.kmeans.axis = 1;
      GW_CHECK_AS(IoError, q.kmeans.codebook.shape() == (Shape{q.shape[1], 16}), ckpt.label(),
                  ": tensor '", q.name, ".codebook' is ", q.kmeans.codebook.str(), ", expected (",
                  q.shape[1], ", 16)");
    } else {
      q.params = QuantParams::zeros(q.shape, linear_scheme(scheme));
      for (const char* part : {"scale", "zero_point"}) {
        const Tensor& t = ckpt.tensor(q.name + "." + part);
        Tensor& dst = std::string(part) == "scale" ? q.params.scale : q.params.zero_point;
        GW_CHECK_AS(IoError, t.shape() == dst.shape() && t.dtype() == DType::f32, ckpt.label(),
                    ": tensor '", q.name, ".", part, "' is ", t.str(), ", expected f32 ",
                    shape_str(dst.shape()));
        dst = t;
      }
      q.codes = four_bits(scheme) ? unpack_nibbles(codes, q.shape, true, DType::i8)
                                  : codes.reshaped(q.shape);
    }
    out.push_back(q);
  }
  return out;
}

Transformer load_quantized_model(Graph& graph, const Checkpoint& ckpt) {
  const TrainConfig c = checkpoint_config(ckpt);
  const CharTokenizer tok = CharTokenizer::from_json(ckpt.meta.at("tokenizer"));
  Transformer m = make_transformer(graph, model_shape(c, tok.vocab_size()), c.seed, c.init_std);
  const std::vector<Node*> weights = quantizable_weights(m);
  for (const ModelParameter& p : m.params) {
    if (std::find(weights.begin(), weights.end(), p.node) != weights.end()) continue;
    const Tensor& t = ckpt.tensor(p.node->name);
    GW_CHECK_AS(IoError, t.shape() == p.node->shape && t.dtype() == p.node->dtype, ckpt.label(),
                ": tensor '", p.node->name, "' is ", t.str(), ", expected ", p.node->str());
    p.node->value.copy_from(t);
  }
  const std::vector<Node*> values =
      rewrite_with_quantized_weights(weights, read_quantized_weights(ckpt, m));
  size_t k = 0;
  for (BlockWeights& b : m.blocks)
    for (Node** n : b.matrices()) *n = values[k++];
  m.lm_head = values[k];
  return m;
}

double quantized_val_loss(const Checkpoint& ckpt, const TextDataset& data) {
  const TrainConfig c = checkpoint_config(ckpt);
  Graph g;
  const Transformer m = load_quantized_model(g, ckpt);
  Node* x = g.input("x", {c.batch_size, c.block_size}, DType::i32);
  Node* y = g.input("y", {c.batch_size, c.block_size}, DType::i32);
  Node* loss = m.loss(x, y);
  fuse_int8_linear(g);
  Executor exec(g, {loss});
  const std::vector<Batch> batches =
      BatchSampler(data.val, Split::val, c.block_size, c.batch_size, c.seed).eval_batches(c.eval_iters);
  double total = 0;
  for (const Batch& b : batches) total += exec.run({{x, b.x}, {y, b.y}})[0].item();
  return total / static_cast<double>(batches.size());
}

QuantScheme linear_scheme(WeightScheme scheme) {
  QuantScheme s;
  switch (scheme) {
    case WeightScheme::int8_channel:
      s.bits = 8, s.symmetric = true, s.granularity = Granularity::per_channel, s.axis = 1;
      return s;
    case WeightScheme::int4_group:
      s.bits = 4, s.granularity = Granularity::per_group, s.axis = 0, s.group_size = 32;
      return s;
    case WeightScheme::kmeans4: break;
  }
  throw UsageError(std::string("quantization-aware training supports int8-channel and "
                               "int4-g32, not ") + weight_scheme_name(scheme));
}

FakeQuantizedWeights fake_quantize_weights(Transformer& model, WeightScheme scheme) {
  FakeQuantizedWeights f;
  f.scheme = scheme;
  f.weights = quantizable_weights(model);
  std::vector<Node*> read;  // what the forward pass reads in place of each weight
  for (Node* w : f.weights) {
    const QuantScheme s = linear_scheme(scheme);
    const QuantParams shape_only = QuantParams::zeros(w->shape, s);
    Graph& g = *w->graph;
    f.scales.push_back(g.input(w->name + ".qat_scale", shape_only.param_shape()));
    f.zero_points.push_back(g.input(w->name + ".qat_zero_point", shape_only.param_shape()));
    f.schemes.push_back(s);
    read.push_back(fake_quantize(w, f.scales.back(), f.zero_points.back(), s.bits, s.axis,
                                 s.granularity == Granularity::per_group ? s.group_size : 0));
  }
  size_t k = 0;
  for (BlockWeights& b : model.blocks)
    for (Node** n : b.matrices()) *n = read[k++];
  model.lm_head = read[k];
  return f;
}

Feeds FakeQuantizedWeights::feeds() const {
  Feeds out;
  for (size_t i = 0; i < weights.size(); ++i) {
    const QuantParams p = compute_qparams(weights[i]->value.to(Device::cpu()), schemes[i]);
    out[scales[i]] = p.scale.to(weights[i]->device);
    out[zero_points[i]] = p.zero_point.to(weights[i]->device);
  }
  return out;
}

}  // namespace gw
