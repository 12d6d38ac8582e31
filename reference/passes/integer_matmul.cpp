// integer_matmul.cpp — lab 05: the integer-only product of quantized matrices, as integer
// inference hardware computes it (gw/quantize.h). With r = S(q − Z) for W, X and Y,
//     q_Y = Z_Y + (S_W·S_X / S_Y) · Σ (q_W − Z_W)(q_X − Z_X),
// the sum in int32 (the lecture's q_W q_X − Z_W q_X − Z_X q_W + Z_W Z_X), and the real
// multiplier M = S_W·S_X/S_Y applied as a Q31 fixed-point multiply and a rounding shift.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gw/error.h"
#include "gw/quantize.h"

namespace gw {

FixedPointMultiplier quantize_multiplier(double multiplier) {
  GW_CHECK(multiplier > 0.0 && multiplier < 1.0, "quantize_multiplier: M = ", multiplier,
           " must be in (0, 1)");
  // BEGIN LAB 05: write M = m·2^e with m in [0.5, 1) (std::frexp); M0 = round(m·2^31), ties away from zero (std::llround); if that reaches 2^31, halve it and raise e, except when e is already 0 (M within 2^−32 of 1): then M0 = 2^31 − 1; shift = −e
  int exponent = 0;
  const double mantissa = std::frexp(multiplier, &exponent);  // M = mantissa · 2^exponent
  int64_t m0 = std::llround(mantissa * 2147483648.0);
  if (m0 == (int64_t{1} << 31)) {
    if (exponent == 0) return {std::numeric_limits<int32_t>::max(), 0};  // shift stays ≥ 0
    m0 /= 2;
    ++exponent;
  }
  return {static_cast<int32_t>(m0), -exponent};
  // END LAB 05
}

int8_t requantize(int32_t acc, FixedPointMultiplier multiplier, int32_t z_y) {
  // BEGIN LAB 05: in int64: high = acc·M0 / 2^31 rounded to nearest, ties away from zero; then high / 2^shift rounded the same way (|high| < 2^31, so a shift of 32 or more gives 0: never shift an int64 by 63 or more); + z_y; saturate to [−128, 127]
  auto rounding_shift = [](int64_t v, int s) -> int64_t {  // v / 2^s, ties away from zero
    if (s == 0) return v;
    if (s >= 62) return 0;  // |v| < 2^62 here, so v / 2^s rounds to 0
    const int64_t half = int64_t{1} << (s - 1);
    return v >= 0 ? (v + half) >> s : -((-v + half) >> s);
  };
  const int64_t high = rounding_shift(static_cast<int64_t>(acc) * multiplier.m0, 31);
  const int64_t y = rounding_shift(high, multiplier.shift) + z_y;
  return static_cast<int8_t>(y < -128 ? -128 : y > 127 ? 127 : y);
  // END LAB 05
}

Tensor integer_matmul(const Tensor& q_w, int32_t z_w, const Tensor& q_x, int32_t z_x,
                      FixedPointMultiplier multiplier, int32_t z_y) {
  // BEGIN LAB 05: check the operands (i8 codes, (m, k) and (k, n): gw::DTypeError, gw::ShapeError); acc_ij = Σ_p q_W[i,p]·q_X[p,j] − z_w·Σ_p q_X[p,j] − z_x·Σ_p q_W[i,p] + k·z_w·z_x, all in int32 (the sums of q_W's rows and q_X's columns once each); y_ij = requantize(acc_ij, multiplier, z_y), an i8 (m, n) tensor
  GW_CHECK_AS(DTypeError, q_w.dtype() == DType::i8 && q_x.dtype() == DType::i8,
              "integer_matmul: ", q_w.str(), " and ", q_x.str(), " must be i8 codes");
  GW_CHECK_AS(ShapeError, q_w.dim() == 2 && q_x.dim() == 2 && q_w.size(1) == q_x.size(0),
              "integer_matmul: W ", shape_str(q_w.shape()), " and X ", shape_str(q_x.shape()),
              " must be (m, k) and (k, n)");
  const int64_t m = q_w.size(0), k = q_w.size(1), n = q_x.size(1);
  Tensor out = Tensor::empty({m, n}, DType::i8);
  const int8_t* w = q_w.data<int8_t>();
  const int8_t* x = q_x.data<int8_t>();
  int8_t* y = out.data<int8_t>();
  std::vector<int32_t> row_sum(static_cast<size_t>(m), 0), col_sum(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) row_sum[static_cast<size_t>(i)] += w[i * k + p];
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) col_sum[static_cast<size_t>(j)] += x[p * n + j];
  const int32_t zz = static_cast<int32_t>(k) * z_w * z_x;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(w[i * k + p]) * x[p * n + j];
      acc += -z_w * col_sum[static_cast<size_t>(j)] - z_x * row_sum[static_cast<size_t>(i)] + zz;
      y[i * n + j] = requantize(acc, multiplier, z_y);
    }
  return out;
  // END LAB 05
}

}  // namespace gw
