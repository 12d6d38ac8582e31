// quant.cu — CUDA kernels of Quantize, Dequantize, FakeQuantize (and its mask), MatMulInt8 and
// QuantizedLinear.
//
// Quantization follows lab 05's formulas as the CPU twin does (kernels/cpu/comm_quant.cpp):
// q = clamp(round(x/S) + Z) with rounding half to even (rintf), r = S(q − Z), and an int8
// GEMM accumulated in i32 (a 16 × 16 shared-memory tiled kernel: readable, not cuBLASLt's
// IMMA path, whose layouts are a lab of their own).
#include <vector>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

using kernels::QuantParamMap;


__global__ void check_scales_kernel(const float* scale, int64_t n, DeviceErrorFlag* flag) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < n;
       c += int64_t(gridDim.x) * blockDim.x)
    if (!(isfinite(scale[c]) && scale[c] > 0.0f)) report_error(flag, kQuantizeScale, c, scale[c], 0);
}

__global__ void quantize_kernel(const float* x, const float* scale, const float* zero, int8_t* q,
                                int64_t n, QuantParamMap scale_of, QuantParamMap zero_of, float qmin,
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
  const int bits = static_cast<int>(args.node.attrs.bits);
  quantize_kernel<<<blocks_for(n), 256, 0, s>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(scale.raw()),
      static_cast<const float*>(args.inputs[2].raw()), static_cast<int8_t*>(args.output.raw()), n,
      kernels::quant_param_map(x.shape(), scale.shape(), args.node.attrs),
      kernels::quant_param_map(x.shape(), args.inputs[2].shape(), args.node.attrs),
      -static_cast<float>(1 << (bits - 1)), static_cast<float>((1 << (bits - 1)) - 1));
  CUDA_CHECK_LAUNCH();
}

template <typename T>
__global__ void dequantize_kernel(const int8_t* q, const float* scale, const float* zero, T* r,
                                  int64_t n, QuantParamMap scale_of, QuantParamMap zero_of) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    r[i] = static_cast<T>(scale[scale_of(i)]) *
           (static_cast<T>(q[i]) - static_cast<T>(zero[zero_of(i)]));
}

void dequantize(const KernelArgs& args) {
  const Tensor& q = args.inputs[0];
  const int64_t n = q.numel();
  if (n == 0) return;
  const QuantParamMap so =
      kernels::quant_param_map(q.shape(), args.inputs[1].shape(), args.node.attrs);
  const QuantParamMap zo =
      kernels::quant_param_map(q.shape(), args.inputs[2].shape(), args.node.attrs);
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

// FakeQuantize (Mask = false): S·(q − Z); its mask (Mask = true): 1 where the unclamped code
// lies in [q_min, q_max]. The CPU twin is kernels/cpu/quant.cpp's fake_quantize_kernel.
template <bool Mask>
__global__ void fake_quantize_kernel(const float* x, const float* scale, const float* zero,
                                     float* y, int64_t n, QuantParamMap scale_of,
                                     QuantParamMap zero_of, float qmin, float qmax) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float s = scale[scale_of(i)], z = zero[zero_of(i)];
    const float code = rintf(rintf(x[i] / s) + z);
    if (Mask) {
      y[i] = code >= qmin && code <= qmax ? 1.0f : 0.0f;
    } else {
      const float q = code < qmin ? qmin : code > qmax ? qmax : code;
      y[i] = s * (q - z);
    }
  }
}

template <bool Mask>
void fake_quantize(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const Tensor& scale = args.inputs[1];
  const cudaStream_t s = stream_of(args);
  check_scales_kernel<<<blocks_for(scale.numel()), 256, 0, s>>>(
      static_cast<const float*>(scale.raw()), scale.numel(), error_flag());
  CUDA_CHECK_LAUNCH();
  const int64_t n = x.numel();
  if (n == 0) return;
  const int bits = static_cast<int>(args.node.attrs.bits);
  fake_quantize_kernel<Mask><<<blocks_for(n), 256, 0, s>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(scale.raw()),
      static_cast<const float*>(args.inputs[2].raw()), static_cast<float*>(args.output.raw()), n,
      kernels::quant_param_map(x.shape(), scale.shape(), args.node.attrs),
      kernels::quant_param_map(x.shape(), args.inputs[2].shape(), args.node.attrs),
      -static_cast<float>(1 << (bits - 1)), static_cast<float>((1 << (bits - 1)) - 1));
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

// c (m, n) i32 = a (m, k) i8 · b (k, n) i8 on `stream`.
void int8_gemm(const int8_t* a, const int8_t* b, int32_t* c, int64_t m, int64_t n, int64_t k,
               cudaStream_t stream) {
  if (m * n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile),
                  static_cast<unsigned>((m + kTile - 1) / kTile));
  matmul_int8_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(a, b, c, m, n, k);
  CUDA_CHECK_LAUNCH();
}

void matmul_int8(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const Tensor& b = args.inputs[1];
  int8_gemm(static_cast<const int8_t*>(a.raw()), static_cast<const int8_t*>(b.raw()),
            static_cast<int32_t*>(args.output.raw()), a.size(0), b.size(1), a.size(1),
            stream_of(args));
}

// QuantizedLinear, as on the CPU: per row of x a scale max|x|/63 and 7-bit codes
// (kQuantizedLinearXMax; one block per row), the int8 GEMM, then y = sum·s_row·s_col.
__global__ void quantize_rows_kernel(const float* x, int8_t* codes, float* row_scale, int64_t k) {
  __shared__ float shared[32];
  const float* xr = x + blockIdx.x * k;
  float top = 0.0f;
  for (int64_t p = threadIdx.x; p < k; p += blockDim.x) top = fmaxf(top, fabsf(xr[p]));
  top = block_max(top, shared);
  const float scale = top > 0.0f ? top / static_cast<float>(kernels::kQuantizedLinearXMax) : 1.0f;
  if (threadIdx.x == 0) row_scale[blockIdx.x] = scale;
  for (int64_t p = threadIdx.x; p < k; p += blockDim.x)
    codes[blockIdx.x * k + p] = static_cast<int8_t>(rintf(xr[p] / scale));
}
__global__ void scale_sums_kernel(const int32_t* sums, const float* row_scale,
                                  const float* col_scale, float* y, int64_t rows, int64_t n) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * n;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = static_cast<float>(sums[e]) * row_scale[e / n] * col_scale[e % n];
}

void quantized_linear(const KernelArgs& args) {
  const int64_t k = args.inputs[1].size(0), n = args.inputs[1].size(1);
  const int64_t rows = k > 0 ? args.inputs[0].numel() / k : 0;
  if (rows * n == 0) return;
  const cudaStream_t stream = stream_of(args);
  const size_t codes_bytes = (static_cast<size_t>(rows * k) + 255) / 256 * 256;
  const size_t scales_bytes = (static_cast<size_t>(rows) * sizeof(float) + 255) / 256 * 256;
  char* work = static_cast<char*>(
      scratch(codes_bytes + scales_bytes + static_cast<size_t>(rows * n) * sizeof(int32_t)));
  int8_t* codes = reinterpret_cast<int8_t*>(work);
  float* row_scale = reinterpret_cast<float*>(work + codes_bytes);
  int32_t* sums = reinterpret_cast<int32_t*>(work + codes_bytes + scales_bytes);
  quantize_rows_kernel<<<static_cast<unsigned>(rows), 256, 0, stream>>>(
      static_cast<const float*>(args.inputs[0].raw()), codes, row_scale, k);
  CUDA_CHECK_LAUNCH();
  int8_gemm(codes, static_cast<const int8_t*>(args.inputs[1].raw()), sums, rows, n, k, stream);
  scale_sums_kernel<<<blocks_for(rows * n), 256, 0, stream>>>(
      sums, row_scale, static_cast<const float*>(args.inputs[2].raw()),
      static_cast<float*>(args.output.raw()), rows, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void define_quant_kernels(OpRegistry& r) {
  r.define(Op::Quantize).cuda(quantize);
  r.define(Op::Dequantize).cuda(dequantize);
  r.define(Op::FakeQuantize).cuda(fake_quantize<false>);
  r.define(Op::FakeQuantizeMask).cuda(fake_quantize<true>);
  r.define(Op::MatMulInt8).cuda(matmul_int8);
  r.define(Op::QuantizedLinear).cuda(quantized_linear);
}

}  // namespace gw::cuda
