// reduce.cpp — CPU kernels of the reductions Sum, Max and Mean over any set of axes.
//
// Every reduction becomes outer × R × inner (kernels/common/reduce_plan.h): the kept axes
// before the reduced block, the reduced block, the kept axes after it; when the reduced axes
// form more than one block, the input is first gathered into (kept..., reduced...) so R is
// contiguous. Sums accumulate in double whatever the dtype, so a 10⁶-element f32 sum keeps
// f32 precision; long rows are cut into fixed chunks whose partial sums are added in order,
// so the result does not depend on the number of threads. Max propagates NaN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/reduce_plan.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

constexpr int64_t kChunk = 8192;  // elements per partial sum of one long row
constexpr int64_t kBlock = 256;   // inner columns one task accumulates at once

template <Op K>
double start_value() {
  return K == Op::Max ? -std::numeric_limits<double>::infinity() : 0.0;
}
template <Op K>
void combine(double& acc, double v) {
  if constexpr (K == Op::Max) {
    if (v > acc || std::isnan(v)) acc = std::isnan(acc) ? acc : v;
  } else {
    acc += v;
  }
}
template <Op K>
double finish(double acc, int64_t count) {
  return K == Op::Mean ? acc / static_cast<double>(count) : acc;
}

// One row of n contiguous elements. Sums keep eight running partial sums instead of one, so
// the adds do not wait on each other and vectorize (one accumulator is latency-bound, ~4x
// slower); the lanes are combined in a fixed order, so the result stays deterministic.
template <Op K, typename T>
double reduce_row(const T* x, int64_t n) {
  double acc = start_value<K>();
  int64_t r = 0;
  if constexpr (K != Op::Max) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (; r + 8 <= n; r += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += load(x, r + l);
    for (int l = 0; l < 8; ++l) acc += lanes[l];
  }
  for (; r < n; ++r) combine<K>(acc, load(x, r));
  return acc;
}

// x (outer, R, inner) -> y (outer, inner).
template <Op K, typename T>
void reduce_block(const T* x, T* y, int64_t outer, int64_t R, int64_t inner) {
  const bool threads = outer * R * inner > kElementwiseParallelMin;
  if (inner == 1) {
    // Rows of R contiguous elements; few long rows are cut into chunks to use every thread.
    const int64_t chunks = outer >= 16 ? 1 : std::clamp<int64_t>(R / kChunk, 1, 64);
    const int64_t per = (R + chunks - 1) / chunks;
    std::vector<double> partial(static_cast<size_t>(outer * chunks));
#pragma omp parallel for schedule(static) if (threads)
    for (int64_t task = 0; task < outer * chunks; ++task) {
      const int64_t o = task / chunks, c = task % chunks;
      const int64_t r1 = std::min(R, (c + 1) * per);
      const int64_t r0 = std::min(R, c * per);
      partial[static_cast<size_t>(task)] = reduce_row<K>(x + o * R + r0, r1 - r0);
    }
    for (int64_t o = 0; o < outer; ++o) {
      double acc = start_value<K>();
      for (int64_t c = 0; c < chunks; ++c)
        combine<K>(acc, partial[static_cast<size_t>(o * chunks + c)]);
      store(y, o, finish<K>(acc, R));
    }
    return;
  }
  // Columns: a task owns up to kBlock inner columns of one outer index and a range of the R
  // rows. R is cut into chunks only when there are too few column blocks to keep the
  // threads busy (a bias gradient: outer 1, inner h); the partial results are then combined
  // in chunk order, so the result does not depend on the number of threads.
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t chunks = outer * blocks >= 16 ? 1 : std::clamp<int64_t>(R / 64, 1, 16);
  const int64_t per = (R + chunks - 1) / chunks;
  std::vector<double> partial(chunks > 1 ? static_cast<size_t>(outer * chunks * inner) : 0);
#pragma omp parallel for schedule(static) if (threads)
  for (int64_t task = 0; task < outer * blocks * chunks; ++task) {
    const int64_t o = task / (blocks * chunks), b = task / chunks % blocks, c = task % chunks;
    const int64_t i0 = b * kBlock, width = std::min(kBlock, inner - i0);
    double acc[kBlock];
    std::fill(acc, acc + width, start_value<K>());
    for (int64_t r = c * per; r < std::min(R, (c + 1) * per); ++r) {
      const int64_t base = (o * R + r) * inner + i0;
      for (int64_t i = 0; i < width; ++i) combine<K>(acc[i], load(x, base + i));
    }
    if (chunks == 1) {
      for (int64_t i = 0; i < width; ++i) store(y, o * inner + i0 + i, finish<K>(acc[i], R));
    } else {
      std::copy(acc, acc + width, partial.begin() + ((o * chunks + c) * inner + i0));
    }
  }
  if (chunks == 1) return;
#pragma omp parallel for schedule(static) if (threads)
  for (int64_t j = 0; j < outer * inner; ++j) {
    const int64_t o = j / inner, i = j % inner;
    double acc = start_value<K>();
    for (int64_t c = 0; c < chunks; ++c)
      combine<K>(acc, partial[static_cast<size_t>((o * chunks + c) * inner + i)]);
    store(y, j, finish<K>(acc, R));
  }
}

template <Op K>
void reduce_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  if (args.output.numel() == 0) return;
  const kernels::ReducePlan plan = kernels::plan_reduce(x.shape(), args.node.attrs.axes);
  Tensor source = x;
  if (plan.permute) {
    source = Tensor::empty(plan.permuted_shape, x.dtype());
    strided_copy(x, source, plan.permuted_stride);
  }
  dispatch_dtype<CpuStorage, Accepts::floating>(x.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    reduce_block<K>(source.data<T>(), args.output.data<T>(), plan.outer, plan.R, plan.inner);
  });
}

}  // namespace

void define_reduce_kernels(OpRegistry& r) {
  r.define(Op::Sum).cpu(reduce_kernel<Op::Sum>);
  r.define(Op::Max).cpu(reduce_kernel<Op::Max>);
  r.define(Op::Mean).cpu(reduce_kernel<Op::Mean>);
}

}  // namespace gw::cpu
