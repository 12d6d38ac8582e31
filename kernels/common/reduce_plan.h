// reduce_plan.h — how a reduction over any set of axes becomes x (outer, R, inner) -> y
// (outer, inner), for the CPU and CUDA kernels of Sum, Max and Mean.
//
// Size-1 axes are dropped and neighbouring axes of the same kind (kept or reduced) merged.
// When the reduced axes still form more than one block (say axes 0 and 2 of a 3-D tensor),
// the input must first be permuted into (kept..., reduced...), so that R is the contiguous
// tail: the plan then gives the permuted shape and the input strides to gather it with.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/shape.h"

namespace gw::kernels {

/// The loops of one reduction.
struct ReducePlan {
  int64_t outer = 1;  ///< kept elements before the reduced block
  int64_t R = 1;      ///< reduced elements per output
  int64_t inner = 1;  ///< kept elements after the reduced block
  bool permute = false;             ///< gather the input as `permuted_shape` first
  Shape permuted_shape;             ///< (kept..., reduced...) when permute
  std::vector<int64_t> permuted_stride;  ///< input element strides of permuted_shape's axes
};

/// The plan of reducing a tensor of `shape` over `axes` (non-negative, as the shape rule
/// leaves them).
inline ReducePlan plan_reduce(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  struct Group {
    int64_t size;
    bool reduced;
  };
  std::vector<Group> groups;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!groups.empty() && groups.back().reduced == reduced[k]) {
      groups.back().size *= shape[k];
    } else {
      groups.push_back({shape[k], reduced[k]});
    }
  }
  int reduced_groups = 0;
  for (const Group& g : groups) reduced_groups += g.reduced ? 1 : 0;

  ReducePlan p;
  if (reduced_groups <= 1) {
    bool seen = false;
    for (const Group& g : groups) {
      if (g.reduced) {
        p.R = g.size;
        seen = true;
      } else {
        (seen ? p.inner : p.outer) *= g.size;
      }
    }
    return p;
  }
  p.permute = true;
  const std::vector<int64_t> in_stride = contiguous_strides(shape);
  for (bool want_reduced : {false, true})
    for (size_t k = 0; k < shape.size(); ++k)
      if (reduced[k] == want_reduced) {
        p.permuted_shape.push_back(shape[k]);
        p.permuted_stride.push_back(in_stride[k]);
        (want_reduced ? p.R : p.outer) *= shape[k];
      }
  return p;
}

}  // namespace gw::kernels
