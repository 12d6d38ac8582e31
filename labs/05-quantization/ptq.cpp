// Lab 05: your copy of this file. Replace each GW_TODO("lab 05: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
    GW_TODO("lab 05: one QuantizedWeight per weight (name, shape, and its codes): int8_channel — symmetric 8 bits per output channel (axis 1); int4_group — asymmetric 4 bits per group of 32 along the input axis (axis 0); kmeans4 — kmeans_quantize with 4 bits, 20 iterations, one codebook per output channel (axis 1), its indices as the codes", weights, scheme);
  }
  return out;
}

std::vector<Node*> rewrite_with_quantized_weights(const std::vector<Node*>& weights,
                                                  const std::vector<QuantizedWeight>& quantized) {
  GW_CHECK(weights.size() == quantized.size(), "rewrite_with_quantized_weights: ",
           weights.size(), " weights but ", quantized.size(), " quantized forms");
  std::vector<Node*> replacements;
  GW_TODO("lab 05: for each weight W, a node computing its quantized value from constants in W's graph — linear: gw::dequantize(codes, S, Z, axis, group_size); k-means: a gather of its channel's codebook (gw::embedding on the flattened codebook, ids = channel·2^N + index) reshaped to W's shape — then point every input of every node of the graph that reads W at it instead", weights, quantized);
}

}  // namespace gw
