// half_convert.cpp — f32 <-> f16 and f32 <-> bf16 by bit manipulation (lab 06).
//
// Every f16/bf16 value in the framework goes through these four functions: the CPU kernels
// store 16-bit floats as bit patterns and compute in f32, and a cast to f16/bf16 rounds here.
// Layouts: f32 = 1 sign, 8 exponent (bias 127), 23 mantissa bits; f16 = 1, 5 (bias 15), 10;
// bf16 = 1, 8 (bias 127), 7 (the top half of an f32).
#include "gw/dtype.h"
#include "gw/error.h"

namespace gw {

uint16_t float_to_f16_bits(float x) {
  // BEGIN LAB 06: f32 -> f16 bits: split sign and magnitude (bits_of); inf and NaN first (NaN stays quiet with its sign: mantissa 0x200 | (f32 mantissa >> 13)); magnitudes that round past 65504 -> ±inf; below 2⁻¹⁴ a subnormal in steps of 2⁻²⁴ (or ±0), rounded to nearest even from the exact mantissa; else rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, to nearest even (a carry into the exponent is right)
  const uint32_t u = bits_of(x);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t mag = u & 0x7fffffffu;
  if (mag >= 0x7f800000u) {  // inf, or NaN made quiet with its top payload bits
    const uint32_t nan = mag > 0x7f800000u ? 0x200u | ((mag >> 13) & 0x3ffu) : 0u;
    return static_cast<uint16_t>(sign | 0x7c00u | nan);
  }
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (mag < 0x38800000u) {  // below 2⁻¹⁴: a subnormal (units of 2⁻²⁴) or zero
    const int exponent = static_cast<int>(mag >> 23);
    if (exponent < 102) return static_cast<uint16_t>(sign);  // below 2⁻²⁵: rounds to ±0
    const uint32_t mantissa = (mag & 0x7fffffu) | 0x800000u;
    const int shift = 126 - exponent;  // the bits below one unit of 2⁻²⁴
    uint32_t q = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t h = (mag >> 13) - (112u << 10);  // exponent 127 -> 15, mantissa 23 -> 10 bits
  const uint32_t rest = mag & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
  // END LAB 06
}

float f16_bits_to_float(uint16_t h) {
  // BEGIN LAB 06: f16 bits -> f32, exactly: exponent 31 is inf/NaN (mantissa << 13 as it is: a signalling NaN stays signalling), exponent 0 is zero or a subnormal (mantissa · 2⁻²⁴), else rebias the exponent (15 -> 127) and widen the mantissa; build the f32 with float_of
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return float_of(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    const float v = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // exact: · 2⁻²⁴
    return sign ? -v : v;
  }
  return float_of(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  // END LAB 06
}

uint16_t float_to_bf16_bits(float x) {
  // BEGIN LAB 06: f32 -> bf16 bits: NaN stays NaN (the top 16 bits with mantissa bit 6 set: quiet, sign and top payload kept); otherwise keep the top 16 bits rounded to nearest even on the 16 dropped ones (adding 0x7fff plus the kept lowest bit does it, overflow to inf included)
  const uint32_t u = bits_of(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
  // END LAB 06
}

float bf16_bits_to_float(uint16_t h) {
  // BEGIN LAB 06: bf16 bits -> f32: the pattern is the top half of an f32
  return float_of(static_cast<uint32_t>(h) << 16);
  // END LAB 06
}

}  // namespace gw
