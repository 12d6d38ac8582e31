// optim.h — AdamW as graph nodes, global-norm clipping in the graph, and the LR schedule.
//
// The optimizer appends to the training graph: the global gradient norm ‖g‖ = sqrt(Σ‖gᵢ‖²),
// the clip scale min(1, max_norm / (‖g‖ + 1e-6)), and one in-place AdamW node per weight.
// The clip scale is computed in the same run as the gradients it scales, and reaches the
// AdamW kernels through their scalars input: concat([lr, 1 − β1ᵗ, 1 − β2ᵗ], scale).
#pragma once

#include <cstdint>
#include <vector>

#include "gw/graph.h"
#include "gw/model.h"
#include "gw/tensor.h"

namespace gw {

/// Linear warmup then cosine decay to min_lr (nanoGPT's get_lr).
struct LrSchedule {
  double lr = 1e-3;          ///< peak
  double min_lr = 1e-4;      ///< floor after decay_iters
  int64_t warmup_iters = 0;  ///< steps of linear warmup
  int64_t decay_iters = 1;   ///< step where the cosine reaches min_lr

  /// Learning rate of step `it` (0-based): lr·(it+1)/(warmup+1) during warmup, then
  /// min_lr + ½(1 + cos(π·r))·(lr − min_lr) with r = (it − warmup)/(decay − warmup),
  /// and min_lr after decay_iters.
  double at(int64_t it) const;
};

/// AdamW hyper-parameters.
struct AdamWOptions {
  double beta1 = 0.9;              ///< first-moment decay
  double beta2 = 0.99;             ///< second-moment decay
  double eps = 1e-8;               ///< added to sqrt(v̂)
  double weight_decay = 0.1;       ///< decoupled decay λ of the decayed groups
  bool decay_norms_embeddings = false;  ///< decay norms and the embedding too
  double grad_clip = 1.0;          ///< max global norm; 0 turns clipping off
  /// Clip with a norm fed to OptimizerNodes::norm_input instead of the one computed beside
  /// the updates: for callers that run grad_norm on its own first (the trainer does, to skip
  /// a step whose norm is not finite), so the update run does not compute it a second time.
  bool norm_fed = false;
};

/// The optimizer's part of a training graph.
struct OptimizerNodes {
  std::vector<Node*> m;        ///< first moments, non-trainable Parameters (one per weight)
  std::vector<Node*> v;        ///< second moments
  Node* hyper = nullptr;       ///< Input f32 (3) = [lr, 1 − β1ᵗ, 1 − β2ᵗ], fed each step
  Node* grad_norm = nullptr;   ///< scalar ‖g‖ of the gradients given (before clipping)
  Node* norm_input = nullptr;  ///< Input scalar fed grad_norm's value (norm_fed only; else null)
  Node* clip_scale = nullptr;  ///< scalar min(1, max_norm/(‖g‖ + 1e-6)) (1 when off)
  std::vector<Node*> updates;  ///< the AdamW nodes (mutating); run them every step
};

/// Weight decay of a parameter group under `options` (0 for norms and the embedding unless
/// decay_norms_embeddings).
double group_weight_decay(ParamGroup group, const AdamWOptions& options);

/// Appends moments, norm, clip scale and AdamW nodes for `params` with gradients `grads`
/// (same order and shapes) to the graph of the parameters, in the scope "optimizer" (the
/// moments too: the counting pass reports them as optimizer state).
OptimizerNodes build_adamw(const std::vector<ModelParameter>& params,
                           const std::vector<Node*>& grads, const AdamWOptions& options);

/// The value fed to OptimizerNodes::hyper for step t ≥ 1: [lr, 1 − β1ᵗ, 1 − β2ᵗ] (computed in
/// double, rounded to f32).
Tensor adamw_hyper(double lr, int64_t t, double beta1, double beta2);

}  // namespace gw
