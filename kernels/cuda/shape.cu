// shape.cu — CUDA kernels of the shape ops: Reshape, Permute, Broadcast, Slice, Concat.
//
// Shape ops only move bytes, so each kernel copies elements of dtype_size bytes whatever the
// dtype. Permute, Broadcast and Slice are one strided gather, as on the CPU
// (kernels/cpu/shape.cpp): output element at multi-index i comes from input element
// offset + Σ i[k]·stride[k], a stride of 0 repeating a broadcast axis. Axes are merged first
// where the strides allow, so a slice of rows is a short loop of long runs. Concat is one 2-D
// copy per input (cudaMemcpy2DAsync: each input fills its band of every output row).
#include <vector>

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

// Drops size-1 axes and merges axis k into k+1 when stepping k equals |k+1| steps of k+1.
GatherPlan simplify(const Shape& shape, const std::vector<int64_t>& stride, int64_t offset) {
  std::vector<int64_t> sz, st;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!sz.empty() && st.back() == stride[k] * shape[k]) {
      sz.back() *= shape[k];
      st.back() = stride[k];
      continue;
    }
    sz.push_back(shape[k]);
    st.push_back(stride[k]);
  }
  if (sz.empty()) {
    sz = {1};
    st = {1};
  }
  GW_CHECK(sz.size() <= kMaxRank, "shape op (cuda): ", sz.size(),
           " axes after merging; at most ", kMaxRank, " are supported");
  GatherPlan p{};
  p.rank = static_cast<int>(sz.size());
  for (int k = 0; k < p.rank; ++k) p.size[k] = sz[k], p.stride[k] = st[k];
  p.offset = offset;
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
  const GatherPlan p = simplify(shape, stride, offset);
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

void gather(const KernelArgs& args, const std::vector<int64_t>& stride, int64_t offset) {
  const Tensor& x = args.inputs[0];
  strided_gather(x.raw(), args.output.raw(), dtype_size(x.dtype()), args.output.shape(), stride,
                 offset, stream_of(args));
}

// ---- Reshape: same bytes (the executor makes it a view; the naive evaluator copies) ---------
void reshape(const KernelArgs& args) {
  if (args.output.raw() != args.inputs[0].raw() && args.output.nbytes() > 0)
    CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), args.inputs[0].raw(), args.output.nbytes(),
                               cudaMemcpyDeviceToDevice, stream_of(args)));
}

// ---- Permute: out[i0, ..., ir] = x[i at perm] -------------------------------------------------
void permute(const KernelArgs& args) {
  const std::vector<int64_t> in_stride = contiguous_strides(args.inputs[0].shape());
  std::vector<int64_t> stride;
  for (int64_t a : args.node.attrs.axes) stride.push_back(in_stride[static_cast<size_t>(a)]);
  gather(args, stride, 0);
}

// ---- Broadcast: axes of size 1 (or missing on the left) repeat with stride 0 ----------------
void broadcast(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const std::vector<int64_t> in_stride = contiguous_strides(x.shape());
  const Shape& out = args.output.shape();
  const size_t lead = out.size() - static_cast<size_t>(x.dim());
  std::vector<int64_t> stride;
  for (size_t k = 0; k < out.size(); ++k)
    stride.push_back(k < lead || x.shape()[k - lead] == 1 ? 0 : in_stride[k - lead]);
  gather(args, stride, 0);
}

// ---- Slice: [start, end) along axis ------------------------------------------------------------
void slice(const KernelArgs& args) {
  const std::vector<int64_t> stride = contiguous_strides(args.inputs[0].shape());
  gather(args, stride, args.node.attrs.start * stride[static_cast<size_t>(args.node.attrs.axis)]);
}

// ---- Concat: input x fills columns [band, band + row) of every (outer) output row ------------
void concat(const KernelArgs& args) {
  const Tensor& out = args.output;
  const size_t axis = static_cast<size_t>(args.node.attrs.axis);
  const size_t elem = dtype_size(out.dtype());
  int64_t outer = 1, inner = 1;
  for (size_t k = 0; k < axis; ++k) outer *= out.shape()[k];
  for (size_t k = axis + 1; k < out.shape().size(); ++k) inner *= out.shape()[k];
  const int64_t out_row = out.shape()[axis] * inner;
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

void register_shape_kernels(OpDef* t) {
  set(t, Op::Reshape, reshape);
  set(t, Op::Permute, permute);
  set(t, Op::Broadcast, broadcast);
  set(t, Op::Slice, slice);
  set(t, Op::Concat, concat);
}

}  // namespace gw::cuda
