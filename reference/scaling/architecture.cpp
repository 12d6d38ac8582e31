// architecture.cpp — lab 10: a decoder shape whose parameter count (parameter_count, the
// trainer's own formula) lands within a tolerance of the compute-optimal N, under the shape
// rules of gw/scaling.h's DesignConstraints.
#include <cmath>
#include <cstdint>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

ModelShape design_architecture(double target_params, const DesignConstraints& c) {
  // BEGIN LAB 10: check the target (finite, > 0) and the constraints (head_dim a positive multiple of 8, mlp_multiple > 0, 0 < min_aspect ≤ max_aspect, 1 ≤ min_layers ≤ max_layers, vocab and block > 0); for every n_layer in [min_layers, max_layers] and n_head with h = n_head·head_dim inside the aspect range, i = ⌈8h/3⌉ rounded up to mlp_multiple, count parameters; keep the shape closest to the target; gw::Error when even it is off by more than the tolerance
  GW_CHECK(std::isfinite(target_params) && target_params > 0,
           "design_architecture: the target parameter count must be finite and positive (",
           target_params, ")");
  GW_CHECK(c.head_dim > 0 && c.head_dim % 8 == 0, "design_architecture: head_dim ", c.head_dim,
           " must be a positive multiple of 8");
  GW_CHECK(c.mlp_multiple > 0 && c.vocab_size > 0 && c.block_size > 0,
           "design_architecture: mlp_multiple, vocab_size and block_size must be positive");
  GW_CHECK(c.min_layers >= 1 && c.min_layers <= c.max_layers, "design_architecture: the layer range [",
           c.min_layers, ", ", c.max_layers, "] must be positive and not empty");
  GW_CHECK(c.min_aspect > 0 && c.min_aspect <= c.max_aspect && std::isfinite(c.max_aspect),
           "design_architecture: the aspect range [", c.min_aspect, ", ", c.max_aspect,
           "] must be finite, positive and not empty");
  ModelShape best;
  best.vocab_size = c.vocab_size;
  best.block_size = c.block_size;
  double best_error = INFINITY;
  for (int64_t layers = c.min_layers; layers <= c.max_layers; ++layers) {
    for (int64_t heads = 1;; ++heads) {
      const int64_t h = heads * c.head_dim;
      const double aspect = static_cast<double>(h) / static_cast<double>(layers);
      if (aspect > c.max_aspect) break;
      if (aspect < c.min_aspect) continue;
      ModelShape s = best;
      s.n_layer = layers;
      s.n_head = heads;
      s.n_embd = h;
      const int64_t raw = (8 * h + 2) / 3;  // ⌈8h/3⌉
      s.mlp_hidden = (raw + c.mlp_multiple - 1) / c.mlp_multiple * c.mlp_multiple;
      const double count = static_cast<double>(parameter_count(s));
      const double error = std::abs(count - target_params) / target_params;
      if (error < best_error) {
        best_error = error;
        best = s;
      }
      if (count > target_params) break;  // wider only grows: the next layer count
    }
  }
  GW_CHECK(best_error <= c.tolerance, "design_architecture: no shape within ", c.tolerance * 100,
           "% of ", target_params, " parameters under the constraints; the closest has ",
           std::isfinite(best_error) ? parameter_count(best) : 0, " (",
           std::isfinite(best_error) ? best.n_layer : 0, " layers, width ", best.n_embd, ")");
  return best;
  // END LAB 10
}

}  // namespace gw::scaling
