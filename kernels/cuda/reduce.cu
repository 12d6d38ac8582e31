// reduce.cu — CUDA kernels of the reductions Sum, Max and Mean over any set of axes.
//
// As on the CPU, every reduction becomes x (outer, R, inner) -> y (outer, inner)
// (kernels/common/reduce_plan.h); when the reduced axes form several blocks, the input is
// first gathered into (kept..., reduced...) in scratch memory. Then two passes:
//   1. the R axis is cut into `chunks` ranges; each range of each output is reduced into a
//      partial (in double, whatever the dtype, so long f32 sums keep f32 precision);
//   2. one thread per output combines its partials in chunk order and stores the result.
// Rows (inner == 1) reduce with one block per (row, chunk), reading contiguously; columns
// (inner > 1) with one thread per (column, chunk), neighbouring threads reading neighbouring
// columns. Cutting R gives a full-tensor sum (the gradient norm) thousands of blocks instead
// of one. The order of additions is fixed by the shapes alone, so results are reproducible.
// Max propagates NaN, as on the CPU.
#include <algorithm>
#include <vector>

#include "common/reduce_plan.h"
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

template <Op K>
__device__ __forceinline__ double start_value() {
  return K == Op::Max ? -INFINITY : 0.0;
}
template <Op K>
__device__ __forceinline__ double combine(double acc, double v) {
  if constexpr (K == Op::Max) {
    if (isnan(acc) || isnan(v)) return NAN;
    return v > acc ? v : acc;
  } else {
    return acc + v;
  }
}

// Pass 1, rows: block b = o·chunks + c reduces x[o, c·per : (c+1)·per] into partial[o·chunks + c].
template <Op K, typename T>
__global__ void rows_partial(const T* x, double* partial, int64_t R, int64_t per, int chunks) {
  __shared__ double shared[32];
  const int64_t o = blockIdx.x / chunks, c = blockIdx.x % chunks;
  const int64_t r0 = c * per, r1 = min(R, r0 + per);
  double acc = start_value<K>();
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = combine<K>(acc, load(x, o * R + r));
  // block combine: warps, then the first warp over the warp results
  for (int s = 16; s > 0; s /= 2) acc = combine<K>(acc, __shfl_xor_sync(0xffffffffu, acc, s));
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = acc;
  __syncthreads();
  if (threadIdx.x < 32) {
    acc = threadIdx.x < blockDim.x / 32 ? shared[threadIdx.x] : start_value<K>();
    for (int s = 16; s > 0; s /= 2) acc = combine<K>(acc, __shfl_xor_sync(0xffffffffu, acc, s));
    if (threadIdx.x == 0) partial[o * chunks + c] = acc;
  }
}

// Pass 1, columns: thread j = (o, i), chunk c reduces x[o, r, i] over its r range into
// partial[c·outer·inner + j].
template <Op K, typename T>
__global__ void columns_partial(const T* x, double* partial, int64_t outer, int64_t R,
                                int64_t inner, int64_t per) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= outer * inner) return;
  const int64_t o = j / inner, i = j % inner, c = blockIdx.y;
  const int64_t r0 = c * per, r1 = min(R, r0 + per);
  double acc = start_value<K>();
  for (int64_t r = r0; r < r1; ++r) acc = combine<K>(acc, load(x, (o * R + r) * inner + i));
  partial[c * outer * inner + j] = acc;
}

// Pass 2: y[j] = finish(combine over c of partial[j·stride_output + c·stride_chunk]).
template <Op K, typename T>
__global__ void finish_kernel(const double* partial, T* y, int64_t outputs, int chunks,
                              int64_t stride_output, int64_t stride_chunk, int64_t R) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= outputs) return;
  double acc = start_value<K>();
  for (int c = 0; c < chunks; ++c) acc = combine<K>(acc, partial[j * stride_output + c * stride_chunk]);
  if (K == Op::Mean) acc /= static_cast<double>(R);
  store(y, j, acc);
}

size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

template <Op K>
void reduce(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  if (args.output.numel() == 0) return;
  const cudaStream_t stream = stream_of(args);
  const kernels::ReducePlan plan = kernels::plan_reduce(x.shape(), args.node.attrs.axes);
  const int64_t outer = plan.outer, R = plan.R, inner = plan.inner;
  const bool permute = plan.permute;

  // How many ranges R is cut into: enough blocks (or threads) to fill the GPU.
  int64_t chunks = 1;
  if (inner == 1) {
    if (outer < 512) chunks = std::clamp<int64_t>(R / 4096, 1, 1024);
  } else if (outer * inner < 65536) {
    chunks = std::clamp<int64_t>(R / 64, 1, 256);
  }
  const int64_t per = (R + chunks - 1) / chunks;
  chunks = R > 0 ? (R + per - 1) / per : 1;
  const int64_t outputs = outer * inner;

  const size_t permuted_bytes = permute ? align256(x.nbytes()) : 0;
  char* work = static_cast<char*>(
      scratch(permuted_bytes + static_cast<size_t>(outputs * chunks) * sizeof(double)));
  double* partial = reinterpret_cast<double*>(work + permuted_bytes);
  const void* source = x.raw();
  if (permute) {  // (kept..., reduced...): R becomes the contiguous tail
    strided_gather(x.raw(), work, dtype_size(x.dtype()), plan.permuted_shape,
                   plan.permuted_stride, 0, stream);
    source = work;
  }

  dispatch_dtype<CudaStorage, Accepts::floating>(x.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    const T* src = static_cast<const T*>(source);
    T* y = static_cast<T*>(args.output.raw());
    if (R == 0) {  // empty sums are 0, empty max is -inf, empty mean is NaN (0/0)
      finish_kernel<K, T><<<blocks_for(outputs, 256, 0x7fffffffLL), 256, 0, stream>>>(
          partial, y, outputs, 0, 0, 0, R);
      CUDA_CHECK_LAUNCH();
      return;
    }
    if (inner == 1) {
      rows_partial<K, T><<<static_cast<unsigned>(outer * chunks), 256, 0, stream>>>(
          src, partial, R, per, static_cast<int>(chunks));
      CUDA_CHECK_LAUNCH();
      finish_kernel<K, T><<<blocks_for(outputs, 256, 0x7fffffffLL), 256, 0, stream>>>(
          partial, y, outputs, static_cast<int>(chunks), chunks, 1, R);
    } else {
      columns_partial<K, T><<<dim3(blocks_for(outputs, 256, 0x7fffffffLL), static_cast<unsigned>(chunks)),
                              256, 0, stream>>>(src, partial, outer, R, inner, per);
      CUDA_CHECK_LAUNCH();
      finish_kernel<K, T><<<blocks_for(outputs, 256, 0x7fffffffLL), 256, 0, stream>>>(
          partial, y, outputs, static_cast<int>(chunks), 1, outputs, R);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void define_reduce_kernels(OpRegistry& r) {
  r.define(Op::Sum).cuda(reduce<Op::Sum>);
  r.define(Op::Max).cuda(reduce<Op::Max>);
  r.define(Op::Mean).cuda(reduce<Op::Mean>);
}

}  // namespace gw::cuda
