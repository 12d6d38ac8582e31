// Lab 05: your copy of this file. Replace each GW_TODO("lab 05: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 05: write M = m·2^e with m in [0.5, 1) (std::frexp); M0 = round(m·2^31), ties away from zero (std::llround); if that reaches 2^31, halve it and raise e, except when e is already 0 (M within 2^−32 of 1): then M0 = 2^31 − 1; shift = −e", multiplier);
}

int8_t requantize(int32_t acc, FixedPointMultiplier multiplier, int32_t z_y) {
  GW_TODO("lab 05: in int64: high = acc·M0 / 2^31 rounded to nearest, ties away from zero; then high / 2^shift rounded the same way (|high| < 2^31, so a shift of 32 or more gives 0: never shift an int64 by 63 or more); + z_y; saturate to [−128, 127]", acc, multiplier, z_y);
}

Tensor integer_matmul(const Tensor& q_w, int32_t z_w, const Tensor& q_x, int32_t z_x,
                      FixedPointMultiplier multiplier, int32_t z_y) {
  GW_TODO("lab 05: check the operands (i8 codes, (m, k) and (k, n): gw::DTypeError, gw::ShapeError); acc_ij = Σ_p q_W[i,p]·q_X[p,j] − z_w·Σ_p q_X[p,j] − z_x·Σ_p q_W[i,p] + k·z_w·z_x, all in int32 (the sums of q_W's rows and q_X's columns once each); y_ij = requantize(acc_ij, multiplier, z_y), an i8 (m, n) tensor", q_w, z_w, q_x, z_x, multiplier, z_y);
}

}  // namespace gw
