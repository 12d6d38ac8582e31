// shape.cu — CUDA kernels of the shape ops: Reshape, Permute, Broadcast, Slice, Concat.
//
// Shape ops only move bytes, so each kernel copies elements of dtype_size bytes whatever the
// dtype. Permute, Broadcast and Slice are one strided gather, planned as on the CPU
// (kernels/common/gather_plan.h): output element at multi-index i comes from input element
// offset + Σ i[k]·stride[k], a stride of 0 repeating a broadcast axis. Concat is one 2-D
// copy per input (cudaMemcpy2DAsync: each input fills its band of every output row).
#include <vector>

#include "common/gather_plan.h"
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

constexpr int kMaxRank = 8;

// A gather passed by value to the kernel: sizes and input strides of the output axes.
struct GatherPlan {
  int rank;
  int64_t size[kMaxRank];
  int64_t stride[kMaxRank];
  int64_t offset;
};

GatherPlan to_device_plan(const kernels::Gather& gather) {
  const kernels::Gather g = gather.simplified();
  GW_CHECK(g.shape.size() <= kMaxRank, "shape op (cuda): ", g.shape.size(),
           " axes after merging; at most ", kMaxRank, " are supported");
  GatherPlan p{};
  p.rank = static_cast<int>(g.shape.size());
  for (int k = 0; k < p.rank; ++k) p.size[k] = g.shape[static_cast<size_t>(k)], p.stride[k] = g.stride[static_cast<size_t>(k)];
  p.offset = g.offset;
  return p;
}

// U: an unsigned integer of the element's size, so the copy is byte-exact for every dtype.
template <typename U>
__global__ void gather_kernel(const U* in, U* out, int64_t n, GatherPlan p) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, at = p.offset;
    for (int k = p.rank - 1; k >= 0; --k) {  // innermost axis first
      at += (rest % p.size[k]) * p.stride[k];
      rest /= p.size[k];
    }
    out[i] = in[at];
  }
}

}  // namespace

void strided_gather(const void* in, void* out, size_t element_size, const Shape& shape,
                    const std::vector<int64_t>& stride, int64_t offset, cudaStream_t stream) {
  const int64_t n = numel(shape);
  if (n == 0) return;
  const GatherPlan p = to_device_plan(kernels::Gather{shape, stride, offset});
  const unsigned blocks = blocks_for(n);
  switch (element_size) {
    case 1:
      gather_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint8_t*>(in),
                                                static_cast<uint8_t*>(out), n, p);
      break;
    case 2:
      gather_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint16_t*>(in),
                                                static_cast<uint16_t*>(out), n, p);
      break;
    case 4:
      gather_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint32_t*>(in),
                                                static_cast<uint32_t*>(out), n, p);
      break;
    case 8:
      gather_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint64_t*>(in),
                                                static_cast<uint64_t*>(out), n, p);
      break;
    default:
      throw DTypeError(detail::concat("shape op (cuda): element size ", element_size,
                                      " not supported"));
  }
  CUDA_CHECK_LAUNCH();
}

namespace {

void gather(const KernelArgs& args, const kernels::Gather& g) {
  const Tensor& x = args.inputs[0];
  strided_gather(x.raw(), args.output.raw(), dtype_size(x.dtype()), g.shape, g.stride, g.offset,
                 stream_of(args));
}

// ---- Reshape: same bytes (the executor makes it a view; the naive evaluator copies) ---------
void reshape(const KernelArgs& args) {
  if (args.output.raw() != args.inputs[0].raw() && args.output.nbytes() > 0)
    CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), args.inputs[0].raw(), args.output.nbytes(),
                               cudaMemcpyDeviceToDevice, stream_of(args)));
}

// ---- Permute, Broadcast, Slice: one gather each -------------------------------------------
void permute(const KernelArgs& args) {
  gather(args, kernels::permute_gather(args.inputs[0].shape(), args.output.shape(),
                                       args.node.attrs.perm));
}
void broadcast(const KernelArgs& args) {
  gather(args, kernels::broadcast_gather(args.inputs[0].shape(), args.output.shape()));
}
void slice(const KernelArgs& args) {
  gather(args, kernels::slice_gather(args.inputs[0].shape(), args.output.shape(),
                                     args.node.attrs.axis, args.node.attrs.start));
}

// ---- Concat: input x fills columns [band, band + row) of every (outer) output row ------------
void concat(const KernelArgs& args) {
  const Tensor& out = args.output;
  const size_t axis = static_cast<size_t>(args.node.attrs.axis);
  const size_t elem = dtype_size(out.dtype());
  const kernels::ConcatPlan plan = kernels::plan_concat(out.shape(), args.node.attrs.axis);
  const int64_t outer = plan.outer, inner = plan.inner, out_row = plan.out_row;
  char* dst = static_cast<char*>(out.raw());
  int64_t band = 0;
  for (const Tensor& x : args.inputs) {
    const int64_t row = x.shape()[axis] * inner;
    // One band per output row; a single row (axis 0, or only size-1 axes before it) is a
    // plain copy, which also avoids cudaMemcpy2D's pitch limit (cudaDevAttrMaxPitch, 2 GiB)
    // for a big tensor concatenated along its first axis.
    if (row > 0 && outer == 1)
      CUDA_CHECK(cudaMemcpyAsync(dst + band * elem, x.raw(), static_cast<size_t>(row) * elem,
                                 cudaMemcpyDeviceToDevice, stream_of(args)));
    else if (row > 0 && outer > 0)
      CUDA_CHECK(cudaMemcpy2DAsync(dst + band * elem, out_row * elem, x.raw(), row * elem,
                                   row * elem, outer, cudaMemcpyDeviceToDevice, stream_of(args)));
    band += row;
  }
}

}  // namespace

void define_shape_kernels(OpRegistry& r) {
  r.define(Op::Reshape).cuda(reshape);
  r.define(Op::Permute).cuda(permute);
  r.define(Op::Broadcast).cuda(broadcast);
  r.define(Op::Slice).cuda(slice);
  r.define(Op::Concat).cuda(concat);
}

}  // namespace gw::cuda
