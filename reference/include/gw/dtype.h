// dtype.h — the element types a tensor can hold, and fp16/bf16 conversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace gw {

/// Element type of a tensor. f64 exists for gradient checking (lab 01); f16 and bf16 are
/// stored as 16-bit patterns and, on a CPU, computed by converting to f32 (lab 06).
enum class DType : uint8_t { f64, f32, f16, bf16, i8, i32 };

/// Bytes per element.
size_t dtype_size(DType t);
/// "f64", "f32", "f16", "bf16", "i8" or "i32".
const char* dtype_name(DType t);
/// Parses a name as printed by dtype_name; throws gw::UsageError otherwise.
DType parse_dtype(const std::string& name);
/// True for f64, f32, f16 and bf16.
bool is_floating(DType t);

/// IEEE binary16 bit pattern.
struct f16 {
  uint16_t bits;  ///< the raw pattern: 1 sign, 5 exponent, 10 mantissa bits
};
/// bfloat16 bit pattern (the top half of an f32).
struct bf16 {
  uint16_t bits;  ///< the raw pattern: 1 sign, 8 exponent, 7 mantissa bits
};

/// f32 -> f16 bit pattern: round to nearest even; values past 65504 (after rounding) become
/// ±inf; results below 2⁻¹⁴ are subnormal (steps of 2⁻²⁴) or ±0; NaN stays NaN, quiet, with
/// its sign and the top 9 bits of its payload: mantissa 0x200 | (f32 mantissa >> 13), as the
/// F16C instruction vcvtps2ph does.
uint16_t float_to_f16_bits(float x);
/// f16 bit pattern -> f32, exact for every pattern (subnormals included); a NaN keeps its
/// sign and mantissa bits as they are (mantissa << 13), so a signalling NaN stays signalling
/// (vcvtph2ps would quiet it; the tests only ask that a NaN decodes to a NaN of its sign).
float f16_bits_to_float(uint16_t h);
/// f32 -> bf16 bit pattern (the top 16 bits of the f32, rounded to nearest even); values
/// that round past the largest bf16 become ±inf; NaN stays NaN, quiet, with its sign and the
/// top 7 bits of its payload: the f32's top 16 bits with mantissa bit 6 set.
uint16_t float_to_bf16_bits(float x);
/// bf16 bit pattern -> f32, exact.
float bf16_bits_to_float(uint16_t h);

/// The bit pattern of an f32.
inline uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
/// The f32 of a bit pattern.
inline float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

/// Maps a C++ element type to its DType (used by Tensor::data<T>() to check).
template <typename T> struct dtype_of;
/// @cond INTERNAL
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<f16> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::i8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
/// @endcond

}  // namespace gw
