// dtype.h — the element types a tensor can hold, and fp16/bf16 conversion.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// f32 -> f16 with round-to-nearest-even, overflow to inf, subnormals and NaN kept.
uint16_t float_to_f16_bits(float x);
/// f16 -> f32, exact.
float f16_bits_to_float(uint16_t h);
/// f32 -> bf16 with round-to-nearest-even; NaN stays NaN.
uint16_t float_to_bf16_bits(float x);
/// bf16 -> f32, exact.
float bf16_bits_to_float(uint16_t h);

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
