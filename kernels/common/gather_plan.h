// gather_plan.h — the strided gathers behind Permute, Broadcast and Slice, and the bands of
// Concat, for the CPU and CUDA kernels.
//
// Shape ops only move bytes. Permute, Broadcast and Slice are one strided gather: output
// element at multi-index i comes from input element offset + Σ i[k]·stride[k] (a stride of
// 0 repeats a broadcast axis). simplified() drops size-1 axes and merges neighbours where
// the strides allow, so a slice of rows or a broadcast of a row becomes one long copy.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/shape.h"

namespace gw::kernels {

/// Output of `shape` (contiguous) gathered from an input with per-axis element strides.
struct Gather {
  Shape shape;                  ///< output sizes, outermost first
  std::vector<int64_t> stride;  ///< input elements per step along each output axis
  int64_t offset = 0;           ///< input element of output index (0, ..., 0)

  /// The same gather with size-1 axes dropped and axis k merged into k+1 when stepping k
  /// equals |k+1| steps of k+1: the fewest, longest loops. Never empty (a single element
  /// is one axis of size 1).
  Gather simplified() const {
    Gather s;
    s.offset = offset;
    for (size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] == 1) continue;
      if (!s.shape.empty() && s.stride.back() == stride[k] * shape[k]) {
        s.shape.back() *= shape[k];
        s.stride.back() = stride[k];
        continue;
      }
      s.shape.push_back(shape[k]);
      s.stride.push_back(stride[k]);
    }
    if (s.shape.empty()) {
      s.shape = {1};
      s.stride = {1};
    }
    return s;
  }
};

/// Permute: output axis i is input axis perm[i].
inline Gather permute_gather(const Shape& in, const Shape& out, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> in_stride = contiguous_strides(in);
  Gather g;
  g.shape = out;
  for (int64_t a : perm) g.stride.push_back(in_stride[static_cast<size_t>(a)]);
  return g;
}

/// Broadcast: axes of size 1 (or missing on the left) repeat with stride 0.
inline Gather broadcast_gather(const Shape& in, const Shape& out) {
  const std::vector<int64_t> in_stride = contiguous_strides(in);
  Gather g;
  g.shape = out;
  const size_t lead = out.size() - in.size();
  for (size_t k = 0; k < out.size(); ++k)
    g.stride.push_back(k < lead || in[k - lead] == 1 ? 0 : in_stride[k - lead]);
  return g;
}

/// Slice: elements [start, ...) along `axis` (normalized by the shape rule).
inline Gather slice_gather(const Shape& in, const Shape& out, int64_t axis, int64_t start) {
  Gather g;
  g.shape = out;
  g.stride = contiguous_strides(in);
  g.offset = start * g.stride[static_cast<size_t>(axis)];
  return g;
}

/// Concat along `axis` as rows: for each of `outer` output rows of `out_row` elements, input
/// i fills a band of its own shape[axis]·inner elements.
struct ConcatPlan {
  int64_t outer = 1;    ///< product of the axes before `axis`
  int64_t inner = 1;    ///< product of the axes after `axis`
  int64_t out_row = 0;  ///< elements of one output row: out[axis]·inner
};
inline ConcatPlan plan_concat(const Shape& out, int64_t axis) {
  ConcatPlan p;
  const size_t a = static_cast<size_t>(axis);
  for (size_t k = 0; k < a; ++k) p.outer *= out[k];
  for (size_t k = a + 1; k < out.size(); ++k) p.inner *= out[k];
  p.out_row = out[a] * p.inner;
  return p;
}

}  // namespace gw::kernels
