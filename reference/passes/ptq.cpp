// ptq.cpp — lab 05: post-training quantization of a model's matmul weights, and the pass that
// makes the model run with them (gw/quantize.h).
#include "gw/error.h"
#include "gw/ops.h"
#include "gw/quantize.h"

namespace gw {

std::vector<QuantizedWeight> quantize_model_weights(const std::vector<Node*>& weights,
                                                    WeightScheme scheme) {
  std::vector<QuantizedWeight> out;
  for (Node* w : weights) {
    GW_CHECK_AS(ShapeError, w != nullptr && w->op == Op::Parameter && w->shape.size() == 2 &&
                                w->dtype == DType::f32,
                "quantize_model_weights: ", w ? w->str() : "null",
                " is not an f32 (h_in, h_out) Parameter");
    // BEGIN LAB 05: one QuantizedWeight per weight (name, shape, and its codes): int8_channel — symmetric 8 bits per output channel (axis 1); int4_group — asymmetric 4 bits per group of 32 along the input axis (axis 0); kmeans4 — kmeans_quantize with 4 bits, 20 iterations, one codebook per output channel (axis 1), its indices as the codes
    QuantizedWeight q;
    q.name = w->name;
    q.shape = w->shape;
    const Tensor value = w->value.to(Device::cpu());
    if (scheme == WeightScheme::kmeans4) {
      q.kmeans = kmeans_quantize(value, 4, 20, 1);
      q.codes = q.kmeans.indices;
    } else {
      QuantScheme s;
      if (scheme == WeightScheme::int8_channel) {
        s.bits = 8;
        s.symmetric = true;
        s.granularity = Granularity::per_channel;
        s.axis = 1;
      } else {
        s.bits = 4;
        s.granularity = Granularity::per_group;
        s.axis = 0;
        s.group_size = 32;
      }
      q.params = compute_qparams(value, s);
      q.codes = quantize(value, q.params);
    }
    out.push_back(q);
    // END LAB 05
  }
  return out;
}

std::vector<Node*> rewrite_with_quantized_weights(const std::vector<Node*>& weights,
                                                  const std::vector<QuantizedWeight>& quantized) {
  GW_CHECK(weights.size() == quantized.size(), "rewrite_with_quantized_weights: ",
           weights.size(), " weights but ", quantized.size(), " quantized forms");
  std::vector<Node*> replacements;
  // BEGIN LAB 05: for each weight W, a node computing its quantized value from constants in W's graph — linear: gw::dequantize(codes, S, Z, axis, group_size); k-means: a gather of its channel's codebook (gw::embedding on the flattened codebook, ids = channel·2^N + index) reshaped to W's shape — then point every input of every node of the graph that reads W at it instead
  for (size_t i = 0; i < weights.size(); ++i) {
    Node* w = weights[i];
    const QuantizedWeight& q = quantized[i];
    Graph& g = *w->graph;
    Node* value;
    if (q.kmeans.codebook.defined()) {
      const int64_t channels = q.kmeans.codebook.size(0), k = q.kmeans.codebook.size(1);
      std::vector<double> ids = q.codes.to_doubles();
      for (size_t e = 0; e < ids.size(); ++e) ids[e] += static_cast<double>((e % channels) * k);
      Node* table = g.constant(q.kmeans.codebook.reshaped({channels * k, 1}));
      Node* gathered = embedding(table, g.constant(Tensor::from_values(q.shape, ids, DType::i32)));
      value = reshape(gathered, q.shape);
    } else {
      const QuantScheme& s = q.params.scheme;
      value = dequantize(g.constant(q.codes), g.constant(q.params.scale),
                         g.constant(q.params.zero_point), s.axis,
                         s.granularity == Granularity::per_group ? s.group_size : 0);
    }
    for (const auto& node : g.nodes())
      for (Node*& in : node->inputs)
        if (in == w && node.get() != value) in = value;
    replacements.push_back(value);
  }
  return replacements;
  // END LAB 05
}

}  // namespace gw
