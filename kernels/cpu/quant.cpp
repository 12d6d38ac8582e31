// quant.cpp — CPU kernels of Quantize, Dequantize, FakeQuantize (and its mask), MatMulInt8 and
// QuantizedLinear.
//
// They implement lab 05's formulas directly: q = clamp(round(x/S) + Z) with rounding
// half to even (as numpy and torch round), r = S(q − Z), and an int8 GEMM accumulated in
// i32, the way integer-only inference hardware does it.
#include <cmath>
#include <cstring>
#include <vector>

#include "common/op_shapes.h"
#include "cpu/cpu_kernels.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

using kernels::QuantParamMap;


void check_scales(const Tensor& scale, const char* op) {
  const float* s = scale.data<float>();
  for (int64_t c = 0; c < scale.numel(); ++c)
    GW_CHECK(std::isfinite(s[c]) && s[c] > 0.0f, op, ": scale[", c, "] = ", s[c],
             " must be positive and finite");
}

void quantize_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  check_scales(args.inputs[1], "quantize");
  const float* xs = x.data<float>();
  const float* scale = args.inputs[1].data<float>();
  const float* zero = args.inputs[2].data<float>();
  const QuantParamMap scale_of =
      kernels::quant_param_map(x.shape(), args.inputs[1].shape(), args.node.attrs);
  const QuantParamMap zero_of =
      kernels::quant_param_map(x.shape(), args.inputs[2].shape(), args.node.attrs);
  const int bits = static_cast<int>(args.node.attrs.bits);
  const float qmin = -static_cast<float>(1 << (bits - 1));
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  int8_t* q = args.output.data<int8_t>();
  const int64_t count = x.numel();
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) {
    float v = std::nearbyint(xs[i] / scale[scale_of(i)]) + zero[zero_of(i)];
    v = std::nearbyint(v);  // a fractional zero point still yields an integer code
    // NaN inputs compare false both ways and land on qmin: never an undefined cast
    v = v >= qmin ? v : qmin;
    v = v <= qmax ? v : qmax;
    q[i] = static_cast<int8_t>(v);
  }
}

// FakeQuantize (Mask = false): S·(q − Z) with q as quantize_kernel computes it; its mask
// (Mask = true): 1 where the unclamped code lies in [q_min, q_max], else 0.
template <bool Mask>
void fake_quantize_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  check_scales(args.inputs[1], args.node.def().name);
  const float* xs = x.data<float>();
  const float* scale = args.inputs[1].data<float>();
  const float* zero = args.inputs[2].data<float>();
  const QuantParamMap scale_of =
      kernels::quant_param_map(x.shape(), args.inputs[1].shape(), args.node.attrs);
  const QuantParamMap zero_of =
      kernels::quant_param_map(x.shape(), args.inputs[2].shape(), args.node.attrs);
  const int bits = static_cast<int>(args.node.attrs.bits);
  const float qmin = -static_cast<float>(1 << (bits - 1));
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  float* y = args.output.data<float>();
  const int64_t count = x.numel();
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) {
    const float s = scale[scale_of(i)], z = zero[zero_of(i)];
    const float code = std::nearbyint(std::nearbyint(xs[i] / s) + z);
    if constexpr (Mask) {
      y[i] = code >= qmin && code <= qmax ? 1.0f : 0.0f;
    } else {
      const float q = code < qmin ? qmin : code > qmax ? qmax : code;
      y[i] = s * (q - z);
    }
  }
}

template <typename T>
void dequantize_typed(const KernelArgs& args) {
  const Tensor& qt = args.inputs[0];
  const int8_t* q = qt.data<int8_t>();
  const float* scale = args.inputs[1].data<float>();
  const float* zero = args.inputs[2].data<float>();
  const QuantParamMap scale_of =
      kernels::quant_param_map(qt.shape(), args.inputs[1].shape(), args.node.attrs);
  const QuantParamMap zero_of =
      kernels::quant_param_map(qt.shape(), args.inputs[2].shape(), args.node.attrs);
  T* r = args.output.data<T>();
  const int64_t count = qt.numel();
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i)
    r[i] = static_cast<T>(scale[scale_of(i)]) *
           (static_cast<T>(q[i]) - static_cast<T>(zero[zero_of(i)]));
}

void dequantize_kernel(const KernelArgs& args) {
  if (args.output.dtype() == DType::f64) return dequantize_typed<double>(args);
  dequantize_typed<float>(args);
}

// c (m, n) = a (m, k) · b (k, n) in i32, exactly (int8_gemm.cpp).
void matmul_int8_kernel(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const Tensor& b = args.inputs[1];
  int8_gemm(a.size(0), b.size(1), a.size(1), a.data<int8_t>(), b.data<int8_t>(),
            args.output.data<int32_t>());
}

// QuantizedLinear: each row r of x gets the scale s_r = max|x_r|/63 and the 7-bit codes
// q = round(x_r/s_r) in [−63, 63] (kQuantizedLinearXMax), stored as u = q + 64 in [1, 127] for
// the u8·s8 GEMM; then Σ_p q·w = Σ_p u·w − 64·Σ_p w (the weight's column sums), and
// y = that·s_r·s_w[j].
void quantized_linear_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t k = args.inputs[1].size(0), n = args.inputs[1].size(1);
  const int64_t rows = k > 0 ? x.numel() / k : 0;
  const float* xs = x.data<float>();
  const int8_t* w = args.inputs[1].data<int8_t>();
  const float* w_scale = args.inputs[2].data<float>();
  thread_local std::vector<uint8_t> codes;
  thread_local std::vector<float> row_scale;
  thread_local std::vector<int32_t> sums, col_sum;
  codes.resize(static_cast<size_t>(rows * k));
  row_scale.resize(static_cast<size_t>(rows));
  sums.resize(static_cast<size_t>(rows * n));
  col_sum.assign(static_cast<size_t>(n), 0);
  // Pointers, not the thread_local vectors, inside the parallel loops: each OpenMP thread
  // would see its own (empty) thread_local copy.
  uint8_t* xu = codes.data();
  float* xs_scale = row_scale.data();
  int32_t* wsum = col_sum.data();
  constexpr float kMax = static_cast<float>(kernels::kQuantizedLinearXMax);
  // Round half to even without a libm call: adding and subtracting 1.5·2^23 rounds a float of
  // magnitude < 2^22 to an integer in the default rounding mode, and it vectorizes.
  constexpr float kRound = 12582912.0f;
#pragma omp parallel for schedule(static) if (rows * k > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xs + r * k;
    float top = 0.0f;
    for (int64_t p = 0; p < k; ++p) {  // not std::fmax: a libm call without -ffinite-math
      const float a = std::fabs(xr[p]);
      top = a > top ? a : top;
    }
    const float s = top > 0.0f ? top / kMax : 1.0f;
    xs_scale[r] = s;
    uint8_t* ur = xu + r * k;
    for (int64_t p = 0; p < k; ++p) {
      const float rounded = (xr[p] / s + kRound) - kRound;  // not folded: no -ffast-math
      ur[p] = static_cast<uint8_t>(static_cast<int>(rounded) + 64);
    }
  }
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) wsum[j] += w[p * n + j];
  u7s8_gemm(rows, n, k, xu, w, sums.data());
  const int32_t* acc = sums.data();
  float* y = args.output.data<float>();
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j)
      y[r * n + j] = static_cast<float>(acc[r * n + j] - 64 * wsum[j]) * xs_scale[r] * w_scale[j];
}

}  // namespace

void define_quant_kernels(OpRegistry& r) {
  r.define(Op::Quantize).cpu(quantize_kernel);
  r.define(Op::Dequantize).cpu(dequantize_kernel);
  r.define(Op::FakeQuantize).cpu(fake_quantize_kernel<false>);
  r.define(Op::FakeQuantizeMask).cpu(fake_quantize_kernel<true>);
  r.define(Op::MatMulInt8).cpu(matmul_int8_kernel);
  r.define(Op::QuantizedLinear).cpu(quantized_linear_kernel);
}

}  // namespace gw::cpu
