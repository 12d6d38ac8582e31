// Lab 04: your copy of this file. Replace each GW_TODO("lab 04: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// gradients.cpp — lab 04: build the backward graph (the TensorFlow/PyTorch way).
//
// Instead of numbers, gradients() appends nodes that compute the adjoints to the same Graph,
// made of the same ops as the forward graph. The backward graph can then be run again for
// new inputs, optimized, counted and differentiated again. The lecture's algorithm:
//   node_to_grad = {out: [1]}
//   for i in reverse_topo_order: v̄ᵢ = sum(node_to_grad[i]);
//                                 for each input k: append v̄ᵢ·∂vᵢ/∂vₖ to node_to_grad[k]
// where v̄ᵢ·∂vᵢ/∂vₖ is the op's VJP rule (gw/op_table.h).
#include <unordered_map>
#include <unordered_set>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

std::vector<Node*> gradients(Node* output, const std::vector<Node*>& wrt) {
  check_differentiable("gradients", output, wrt);
  GW_TODO("lab 04: the lecture's algorithm on topological_order({output}): node_to_grad = {out: [ones of its shape]}; in reverse order, for each node that depending_on(order, wrt) holds: v̄ᵢ = the sum of node_to_grad[i]; for a non-leaf, append its VJP rule's partials (no rule: an error naming the op; check each partial's shape) to node_to_grad of its inputs; return for each wrt node its v̄, or zeros of its shape when the output does not depend on it", output, wrt);
}

}  // namespace gw
