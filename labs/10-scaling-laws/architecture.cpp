// Lab 10: your copy of this file. Replace each GW_TODO("lab 10: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// architecture.cpp — lab 10: a decoder shape whose parameter count (parameter_count, the
// trainer's own formula) lands within a tolerance of the compute-optimal N, under the shape
// rules of gw/scaling.h's DesignConstraints.
#include <cmath>
#include <cstdint>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

ModelShape design_architecture(double target_params, const DesignConstraints& c) {
  GW_TODO("lab 10: check the target (finite, > 0) and the constraints (head_dim a positive multiple of 8, mlp_multiple > 0, 0 < min_aspect ≤ max_aspect, 1 ≤ min_layers ≤ max_layers, vocab and block > 0); for every n_layer in [min_layers, max_layers] and n_head with h = n_head·head_dim inside the aspect range, i = ⌈8h/3⌉ rounded up to mlp_multiple, count parameters; keep the shape closest to the target; gw::Error when even it is off by more than the tolerance", target_params, c);
}

}  // namespace gw::scaling
