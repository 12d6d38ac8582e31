// quantized_model.h — a trained model with quantized weights (lab 05), as a file: which
// weights are quantized, the quantized checkpoint that gw-quantize writes (and gw-sample and
// load_model read), and the model built from it.
#pragma once

#include <string>
#include <vector>

#include "gw/checkpoint.h"
#include "gw/data.h"
#include "gw/executor.h"
#include "gw/model.h"
#include "gw/quantize.h"

namespace gw {

/// The weights that post-training quantization replaces: every matmul weight (each block's
/// wq, wk, wv, wo, w_gate_up, w_down and the LM head). The embedding (a gather) and the
/// norm vectors stay f32.
std::vector<Node*> quantizable_weights(const Transformer& model);

/// A quantized checkpoint: format "gradwork-quantized", the trained checkpoint's config and
/// tokenizer, the scheme, and tensors: every weight that is not quantized, in f32; for each
/// quantized one, "<name>.codes" (i8; 4-bit codes and k-means indices packed two per byte)
/// with "<name>.scale" and "<name>.zero_point" (linear) or "<name>.codebook" (k-means).
/// `extra` is added to the metadata (the val losses gw-quantize measured, say).
Checkpoint quantized_checkpoint(const Checkpoint& trained, const Transformer& model,
                                WeightScheme scheme, const std::vector<QuantizedWeight>& weights,
                                const nlohmann::json& extra = {});

/// Whether `ckpt` is a quantized checkpoint.
bool is_quantized_checkpoint(const Checkpoint& ckpt);

/// The quantized weights stored in `ckpt`, for `model`'s quantizable weights. gw::IoError
/// naming the file and the tensor when one is missing or has the wrong size.
std::vector<QuantizedWeight> read_quantized_weights(const Checkpoint& ckpt,
                                                    const Transformer& model);

/// Builds the model of a quantized checkpoint in `graph`: the f32 weights from the file, and
/// in place of each quantized weight the node that computes it from its codes
/// (rewrite_with_quantized_weights); the returned Transformer points at those nodes, so its
/// logits() run with the quantized weights.
Transformer load_quantized_model(Graph& graph, const Checkpoint& ckpt);

/// The mean val loss of the model of the quantized checkpoint `ckpt` as it runs from its codes
/// (int8 per-channel products fused into int8 GEMMs by fuse_int8_linear) on the trainer's
/// fixed validation batches of `data` (the same batches Trainer::evaluate uses).
double quantized_val_loss(const Checkpoint& ckpt, const TextDataset& data);

// ---- quantization-aware training ---------------------------------------------------------------

/// The fake-quantized weights of quantization-aware training: each quantizable weight W of a
/// model is read, in the forward pass, through fake_quantize(W, S, Z), whose straight-through
/// gradient trains W itself. S and Z are Inputs refreshed from the current W before every run
/// (compute_qparams, as post-training quantization would compute them).
struct FakeQuantizedWeights {
  WeightScheme scheme;
  std::vector<Node*> weights;                   ///< the Parameters W
  std::vector<Node*> scales, zero_points;       ///< their Inputs S and Z
  std::vector<QuantScheme> schemes;             ///< how each is quantized
  /// S and Z of the weights' current values, on the graph's device.
  Feeds feeds() const;
};

/// The linear scheme that `scheme` uses for each weight; gw::UsageError for k-means, which
/// has no fake-quantized form here (QAT supports int8-channel and int4-g32).
QuantScheme linear_scheme(WeightScheme scheme);

/// Points `model`'s quantizable weights at fake-quantized versions of themselves (new nodes
/// in their graph); `model.params` still lists the Parameters, which gradients() and the
/// optimizer train. Returns what the feeds need.
FakeQuantizedWeights fake_quantize_weights(Transformer& model, WeightScheme scheme);

}  // namespace gw
