// comm_quant.cu — CUDA kernels of AllReduce, Quantize, Dequantize and MatMulInt8.
//
// Quantization follows lab 05's formulas as the CPU twin does (kernels/cpu/comm_quant.cpp):
// q = clamp(round(x/S) + Z) with rounding half to even (rintf), r = S(q − Z), and an int8
// GEMM accumulated in i32 (a 16 × 16 shared-memory tiled kernel: readable, not cuBLASLt's
// IMMA path, whose layouts are a lab of their own).
//
// AllReduce copies its input; with a communicator of more than one rank the copy is staged
// through host memory, because the threads and MPI communicators take host pointers. A
// NCCL communicator that reduces device memory in place would skip the staging.
#include <vector>

#include "cuda_common.cuh"
#include "gw/communicator.h"

namespace gw::cuda {
namespace {

void all_reduce(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const cudaStream_t s = stream_of(args);
  if (x.raw() != args.output.raw() && x.nbytes() > 0)
    CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, s));
  Communicator* comm = args.context.communicator;
  if (comm == nullptr || comm->size() == 1) return;
  std::vector<char> host(args.output.nbytes());
  CUDA_CHECK(cudaMemcpyAsync(host.data(), args.output.raw(), host.size(), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  comm->all_reduce(host.data(), args.output.numel(), args.output.dtype(), args.node.attrs.flag);
  CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), host.data(), host.size(), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));  // `host` goes away on return
}

// Channel of element i along the quantization axis, or 0 for per-tensor parameters.
struct ChannelMap {
  int64_t inner = 1, channels = 1;
  bool per_channel = false;
  __device__ int64_t operator()(int64_t i) const { return per_channel ? (i / inner) % channels : 0; }
};

ChannelMap channel_map(const Shape& shape, const Tensor& param, int64_t axis) {
  ChannelMap m;
  m.per_channel = param.dim() == 1;
  if (!m.per_channel) return m;
  const int64_t a = normalize_axis(axis, static_cast<int64_t>(shape.size()), "quantize");
  m.channels = shape[static_cast<size_t>(a)];
  for (size_t i = static_cast<size_t>(a) + 1; i < shape.size(); ++i) m.inner *= shape[i];
  return m;
}

__global__ void check_scales_kernel(const float* scale, int64_t n, DeviceErrorFlag* flag) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < n;
       c += int64_t(gridDim.x) * blockDim.x)
    if (!(isfinite(scale[c]) && scale[c] > 0.0f)) report_error(flag, kQuantizeScale, c, scale[c], 0);
}

__global__ void quantize_kernel(const float* x, const float* scale, const float* zero, int8_t* q,
                                int64_t n, ChannelMap scale_of, ChannelMap zero_of, float qmin,
                                float qmax) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float v = rintf(x[i] / scale[scale_of(i)]) + zero[zero_of(i)];
    v = rintf(v);  // a fractional zero point still yields an integer code
    v = v >= qmin ? v : qmin;  // NaN compares false both ways and lands on qmin
    v = v <= qmax ? v : qmax;
    q[i] = static_cast<int8_t>(v);
  }
}

void quantize(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const Tensor& scale = args.inputs[1];
  const cudaStream_t s = stream_of(args);
  check_scales_kernel<<<blocks_for(scale.numel()), 256, 0, s>>>(
      static_cast<const float*>(scale.raw()), scale.numel(), error_flag());
  CUDA_CHECK_LAUNCH();
  const int64_t n = x.numel();
  if (n == 0) return;
  const int bits = static_cast<int>(args.node.attrs.count);
  quantize_kernel<<<blocks_for(n), 256, 0, s>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(scale.raw()),
      static_cast<const float*>(args.inputs[2].raw()), static_cast<int8_t*>(args.output.raw()), n,
      channel_map(x.shape(), scale, args.node.attrs.axis),
      channel_map(x.shape(), args.inputs[2], args.node.attrs.axis),
      -static_cast<float>(1 << (bits - 1)), static_cast<float>((1 << (bits - 1)) - 1));
  CUDA_CHECK_LAUNCH();
}

template <typename T>
__global__ void dequantize_kernel(const int8_t* q, const float* scale, const float* zero, T* r,
                                  int64_t n, ChannelMap scale_of, ChannelMap zero_of) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    r[i] = static_cast<T>(scale[scale_of(i)]) *
           (static_cast<T>(q[i]) - static_cast<T>(zero[zero_of(i)]));
}

void dequantize(const KernelArgs& args) {
  const Tensor& q = args.inputs[0];
  const int64_t n = q.numel();
  if (n == 0) return;
  const ChannelMap so = channel_map(q.shape(), args.inputs[1], args.node.attrs.axis);
  const ChannelMap zo = channel_map(q.shape(), args.inputs[2], args.node.attrs.axis);
  const float* scale = static_cast<const float*>(args.inputs[1].raw());
  const float* zero = static_cast<const float*>(args.inputs[2].raw());
  const int8_t* codes = static_cast<const int8_t*>(q.raw());
  if (args.output.dtype() == DType::f64)
    dequantize_kernel<double><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        codes, scale, zero, static_cast<double*>(args.output.raw()), n, so, zo);
  else
    dequantize_kernel<float><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        codes, scale, zero, static_cast<float*>(args.output.raw()), n, so, zo);
  CUDA_CHECK_LAUNCH();
}

// c (m, n) = a (m, k) · b (k, n) in i32: each block computes a 16 × 16 tile of c, staging
// 16 × 16 tiles of a and b through shared memory.
constexpr int kTile = 16;
__global__ void matmul_int8_kernel(const int8_t* a, const int8_t* b, int32_t* c, int64_t m,
                                   int64_t n, int64_t k) {
  __shared__ int32_t as[kTile][kTile];
  __shared__ int32_t bs[kTile][kTile];
  const int64_t row = blockIdx.y * int64_t(kTile) + threadIdx.y;
  const int64_t col = blockIdx.x * int64_t(kTile) + threadIdx.x;
  int32_t acc = 0;
  for (int64_t p0 = 0; p0 < k; p0 += kTile) {
    const int64_t pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = row < m && pa < k ? a[row * k + pa] : 0;
    bs[threadIdx.y][threadIdx.x] = pb < k && col < n ? b[pb * n + col] : 0;
    __syncthreads();
    for (int p = 0; p < kTile; ++p) acc += as[threadIdx.y][p] * bs[p][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

void matmul_int8(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const Tensor& b = args.inputs[1];
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (m * n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile),
                  static_cast<unsigned>((m + kTile - 1) / kTile));
  matmul_int8_kernel<<<grid, dim3(kTile, kTile), 0, stream_of(args)>>>(
      static_cast<const int8_t*>(a.raw()), static_cast<const int8_t*>(b.raw()),
      static_cast<int32_t*>(args.output.raw()), m, n, k);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void register_comm_quant_kernels(OpDef* t) {
  set(t, Op::AllReduce, all_reduce);
  set(t, Op::Quantize, quantize);
  set(t, Op::Dequantize, dequantize);
  set(t, Op::MatMulInt8, matmul_int8);
}

}  // namespace gw::cuda
