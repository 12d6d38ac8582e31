// fake_quant.cpp — lab 05: the gradient of fake quantization, for quantization-aware
// training. y = S·(clamp(round(x/S) + Z) − Z) is a staircase: its true derivative is 0 almost
// everywhere, which would stop training. The straight-through estimator pretends that
// rounding is the identity: the gradient passes unchanged where x is inside the representable
// range (its code is not clamped) and is 0 outside, where clamping really flattens y.
// reference/autodiff/lab_rules.cpp registers this rule in the op table.
#include "gw/ops.h"
#include "gw/rules.h"

namespace gw::lab05 {

Adjoints vjp_fake_quantize(Node& y, Node* g) {
  // BEGIN LAB 05: the straight-through estimator: x̄ = ȳ where x is inside the range (gw::fake_quantize_mask with the node's inputs and attrs.bits, axis, group_size), 0 outside; no gradient for the scale and the zero point
  const Attrs& a = y.attrs;
  Node* inside = fake_quantize_mask(y.inputs[0], y.inputs[1], y.inputs[2],
                                    static_cast<int>(a.bits), a.axis, a.group_size);
  return {mul(g, inside), nullptr, nullptr};
  // END LAB 05
}

}  // namespace gw::lab05
