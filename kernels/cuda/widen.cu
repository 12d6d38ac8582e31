// widen.cu — f16 and bf16 for the CUDA kernels that compute in f32 or f64 only (naive
// attention): the 16-bit inputs are widened to f32 on the device, the f32 kernel runs
// (accumulating in f32), and its result is rounded once to the node's dtype. The
// temporaries come from the caching allocator and are used in stream order.
#include <vector>

#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

using kernels::is_half;

template <typename T>
__global__ void widen_kernel(const T* in, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<float>(in[i]);
}

template <typename T>
__global__ void narrow_kernel(const float* in, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<T>(in[i]);  // __half / __nv_bfloat16 from float: round to nearest even
}

}  // namespace

void run_widened(const KernelArgs& args, Kernel f32_kernel) {
  const cudaStream_t st = stream_of(args);
  std::vector<Tensor> inputs;
  for (const Tensor& t : args.inputs) {
    if (!is_half(t.dtype())) {
      inputs.push_back(t);
      continue;
    }
    Tensor wide = Tensor::empty(t.shape(), DType::f32, t.device());
    const int64_t n = t.numel();
    if (n > 0)
      dispatch_dtype<CudaStorage, Accepts::floating>(t.dtype(), "widen", [&](auto zero) {
        using T = decltype(zero);
        widen_kernel<T><<<blocks_for(n), 256, 0, st>>>(static_cast<const T*>(t.raw()),
                                                       wide.data<float>(), n);
      });
    inputs.push_back(wide);
  }
  Tensor out = is_half(args.output.dtype())
                   ? Tensor::empty(args.output.shape(), DType::f32, args.output.device())
                   : args.output;
  f32_kernel(KernelArgs{args.node, inputs, out, args.workspace, args.context});
  if (out.raw() == args.output.raw()) return;
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::floating>(args.output.dtype(), "widen", [&](auto zero) {
    using T = decltype(zero);
    narrow_kernel<T><<<blocks_for(n), 256, 0, st>>>(out.data<float>(),
                                                    static_cast<T*>(args.output.raw()), n);
  });
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace gw::cuda
