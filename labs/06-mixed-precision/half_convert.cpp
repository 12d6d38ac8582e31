// Lab 06: your copy of this file. Replace each GW_TODO("lab 06: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 06: f32 -> f16 bits: split sign and magnitude (bits_of); inf and NaN first (NaN stays quiet with its sign: mantissa 0x200 | (f32 mantissa >> 13)); magnitudes that round past 65504 -> ±inf; below 2⁻¹⁴ a subnormal in steps of 2⁻²⁴ (or ±0), rounded to nearest even from the exact mantissa; else rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, to nearest even (a carry into the exponent is right)", x);
}

float f16_bits_to_float(uint16_t h) {
  GW_TODO("lab 06: f16 bits -> f32, exactly: exponent 31 is inf/NaN (mantissa << 13 as it is: a signalling NaN stays signalling), exponent 0 is zero or a subnormal (mantissa · 2⁻²⁴), else rebias the exponent (15 -> 127) and widen the mantissa; build the f32 with float_of", h);
}

uint16_t float_to_bf16_bits(float x) {
  GW_TODO("lab 06: f32 -> bf16 bits: NaN stays NaN (the top 16 bits with mantissa bit 6 set: quiet, sign and top payload kept); otherwise keep the top 16 bits rounded to nearest even on the 16 dropped ones (adding 0x7fff plus the kept lowest bit does it, overflow to inf included)", x);
}

float bf16_bits_to_float(uint16_t h) {
  GW_TODO("lab 06: bf16 bits -> f32: the pattern is the top half of an f32", h);
}

}  // namespace gw
