// shape.cpp — CPU kernels of the shape ops: Reshape, Permute, Broadcast, Slice, Concat.
//
// Shape ops only move bytes, so every kernel works for every dtype by copying elements of
// dtype_size bytes. Permute, Broadcast and Slice are one strided gather
// (kernels/common/gather_plan.h), simplified so that a slice of rows or a broadcast of a row
// becomes one long contiguous copy; a transpose-like gather copies 32 × 32 tiles so it stays
// in cache. Reshape's kernel copies: the executor
// treats Reshape as a view and never calls it, but the naive evaluator of the tests does.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/gather_plan.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

using kernels::Gather;

// Input offset of the first element of row r (rows: every output axis but the last), or
// of plane r when `from_axis` is rank − 3 (planes: every output axis but the last two).
int64_t source_offset(const Gather& g, int64_t r, int64_t from_axis) {
  int64_t at = g.offset;
  for (int64_t k = from_axis; k >= 0; --k) {
    const size_t ks = static_cast<size_t>(k);
    at += (r % g.shape[ks]) * g.stride[ks];
    r /= g.shape[ks];
  }
  return at;
}

// A transpose-like gather: the last output axis strides through the input while the one
// before it is contiguous there. Copying 32 × 32 tiles keeps both the reads and the writes
// of a tile in cache, instead of touching a new cache line for every element read.
template <typename U>
void gather_tiles(const Gather& g, const U* src, U* out) {
  constexpr int64_t kTile = 32;
  const int64_t rank = static_cast<int64_t>(g.shape.size());
  const int64_t m = g.shape[static_cast<size_t>(rank - 2)], len = g.shape.back();
  const int64_t step = g.stride.back();
  const int64_t planes = numel(g.shape) / (m * len);
  const int64_t mt = (m + kTile - 1) / kTile, nt = (len + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (planes * m * len > kElementwiseParallelMin)
  for (int64_t task = 0; task < planes * mt * nt; ++task) {
    const int64_t p = task / (mt * nt), r0 = task / nt % mt * kTile, j0 = task % nt * kTile;
    const int64_t r1 = std::min(m, r0 + kTile), j1 = std::min(len, j0 + kTile);
    const U* in = src + source_offset(g, p, rank - 3);
    U* dst = out + p * m * len;
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t r = r0; r < r1; ++r) dst[r * len + j] = in[r + j * step];
  }
}

// U is an unsigned integer of the element's size: a byte-exact copy for every dtype.
template <typename U>
void gather_rows(const Gather& g, const U* src, U* out) {
  const int64_t rank = static_cast<int64_t>(g.shape.size());
  const int64_t len = g.shape.back(), step = g.stride.back();
  if (step != 1 && rank >= 2 && g.stride[static_cast<size_t>(rank - 2)] == 1)
    return gather_tiles(g, src, out);
  const int64_t rows = numel(g.shape) / len;
#pragma omp parallel for schedule(static) if (rows * len > kElementwiseParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = source_offset(g, r, rank - 2);
    U* dst = out + r * len;
    if (step == 1) {
      std::memcpy(dst, src + at, static_cast<size_t>(len) * sizeof(U));
    } else {
      for (int64_t j = 0; j < len; ++j) dst[j] = src[at + j * step];
    }
  }
}

void gather(const Gather& g, const Tensor& in, Tensor& out) {
  if (out.numel() == 0) return;
  const Gather s = g.simplified();
  switch (dtype_size(in.dtype())) {
    case 1:
      return gather_rows(s, static_cast<const uint8_t*>(in.raw()),
                         static_cast<uint8_t*>(out.raw()));
    case 2:
      return gather_rows(s, static_cast<const uint16_t*>(in.raw()),
                         static_cast<uint16_t*>(out.raw()));
    case 4:
      return gather_rows(s, static_cast<const uint32_t*>(in.raw()),
                         static_cast<uint32_t*>(out.raw()));
    case 8:
      return gather_rows(s, static_cast<const uint64_t*>(in.raw()),
                         static_cast<uint64_t*>(out.raw()));
  }
  throw DTypeError(
      detail::concat("shape op (cpu): element size ", dtype_size(in.dtype()), " not supported"));
}

// ---- Reshape: same bytes, new shape ----------------------------------------------------------
void reshape_kernel(const KernelArgs& args) {
  if (args.output.raw() != args.inputs[0].raw())
    std::memcpy(args.output.raw(), args.inputs[0].raw(), args.output.nbytes());
}

// ---- Permute, Broadcast, Slice: one gather each -------------------------------------------
void permute_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  gather(kernels::permute_gather(x.shape(), args.output.shape(), args.node.attrs.perm), x,
         args.output);
}
void broadcast_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  gather(kernels::broadcast_gather(x.shape(), args.output.shape()), x, args.output);
}
void slice_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  gather(kernels::slice_gather(x.shape(), args.output.shape(), args.node.attrs.axis,
                               args.node.attrs.start),
         x, args.output);
}

// ---- Concat: each input fills its band of the axis, for each index of the outer axes ------
void concat_kernel(const KernelArgs& args) {
  const Tensor& out = args.output;
  const size_t axis = static_cast<size_t>(args.node.attrs.axis);
  const size_t elem = dtype_size(out.dtype());
  const kernels::ConcatPlan plan = kernels::plan_concat(out.shape(), args.node.attrs.axis);
  const int64_t outer = plan.outer, inner = plan.inner, out_row = plan.out_row;
  char* dst = static_cast<char*>(out.raw());
  int64_t band = 0;  // where this input's band starts, in elements of an output row
  for (const Tensor& x : args.inputs) {
    const int64_t row = x.shape()[axis] * inner;
    if (row > 0) {
      const char* src = static_cast<const char*>(x.raw());
#pragma omp parallel for schedule(static) if (outer * row > kElementwiseParallelMin)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + (o * out_row + band) * elem, src + o * row * elem,
                    static_cast<size_t>(row) * elem);
    }
    band += row;
  }
}

}  // namespace

void strided_copy(const Tensor& in, Tensor& out, const std::vector<int64_t>& stride,
                  int64_t offset) {
  Gather g;
  g.shape = out.shape();
  g.stride = stride;
  g.offset = offset;
  gather(g, in, out);
}

void define_shape_kernels(OpRegistry& r) {
  r.define(Op::Reshape).cpu(reshape_kernel);
  r.define(Op::Permute).cpu(permute_kernel);
  r.define(Op::Broadcast).cpu(broadcast_kernel);
  r.define(Op::Slice).cpu(slice_kernel);
  r.define(Op::Concat).cpu(concat_kernel);
}

}  // namespace gw::cpu
