// element_access.h — typed element loads and stores and dtype dispatch for the CPU kernels
// of the elementwise, reduction and shape families (private to kernels/cpu).
//
// Kernels are templates over the storage type T (double, float, gw::f16, gw::bf16, int8_t,
// int32_t). They compute in Compute<T>: double for f64 and the integers, float for f32 and
// for the 16-bit floats, which a CPU emulates by converting to f32 and rounding back
// (lab 06). dispatch_dtype<CpuStorage> (kernels/common/dtype_dispatch.h) calls a generic
// lambda with a value of the storage type, so one template body serves every dtype a kernel
// accepts.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include <vector>

#include "common/dtype_dispatch.h"
#include "gw/dtype.h"
#include "gw/error.h"
#include "gw/tensor.h"

namespace gw::cpu {

/// Below this many elements a kernel stays on one thread: forking costs more than the work.
constexpr int64_t kElementwiseParallelMin = 32768;

/// Arithmetic type of storage type T.
template <typename T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<f16> { using type = float; };
template <> struct ComputeOf<bf16> { using type = float; };
template <> struct ComputeOf<int8_t> { using type = double; };
template <> struct ComputeOf<int32_t> { using type = double; };
template <typename T> using Compute = typename ComputeOf<T>::type;

/// Integers round to nearest (ties to even) and saturate; NaN becomes 0.
template <typename I>
inline I to_integer(double v) {
  if (std::isnan(v)) return 0;
  const double lo = static_cast<double>(std::numeric_limits<I>::min());
  const double hi = static_cast<double>(std::numeric_limits<I>::max());
  return static_cast<I>(std::nearbyint(v < lo ? lo : v > hi ? hi : v));
}

/// Element i of p in T's compute type.
inline double load(const double* p, int64_t i) { return p[i]; }
inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const f16* p, int64_t i) { return f16_bits_to_float(p[i].bits); }
inline float load(const bf16* p, int64_t i) { return float_of(uint32_t{p[i].bits} << 16); }
inline double load(const int8_t* p, int64_t i) { return p[i]; }
inline double load(const int32_t* p, int64_t i) { return p[i]; }

/// Stores v (any arithmetic value) as element i of p, rounding to p's type.
template <typename V> inline void store(double* p, int64_t i, V v) {
  p[i] = static_cast<double>(v);
}
template <typename V> inline void store(float* p, int64_t i, V v) {
  p[i] = static_cast<float>(v);
}
template <typename V> inline void store(f16* p, int64_t i, V v) {
  p[i].bits = float_to_f16_bits(static_cast<float>(v));
}
// bf16 inline, so that loops over it vectorize: the top half of the f32, rounded to nearest
// even (the carry of the rounding may reach the exponent: that is the correct result, up to
// ±inf); NaN is kept quiet with its sign. The same results as gw::float_to_bf16_bits, whose
// out-of-line version is lab 06's (and is checked against this one's hardware equivalent).
template <typename V> inline void store(bf16* p, int64_t i, V v) {
  const uint32_t u = bits_of(static_cast<float>(v));
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  p[i].bits = static_cast<uint16_t>(nan ? (u >> 16) | 0x40u : (u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
template <typename V> inline void store(int8_t* p, int64_t i, V v) {
  p[i] = to_integer<int8_t>(static_cast<double>(v));
}
template <typename V> inline void store(int32_t* p, int64_t i, V v) {
  p[i] = to_integer<int32_t>(static_cast<double>(v));
}

/// e^x in float, written so that the compiler vectorizes a loop over it (std::exp is one
/// libm call per element, about 25x slower in SiLU). e^x = 2ⁿ·e^r with n = round(x/ln 2),
/// r = x − n·ln 2 (ln 2 split in two so r is exact) and e^r from Cephes' degree-6 polynomial:
/// error within 2 ulp on [−87, 88]. x is clamped there, so it never overflows (e^88.7 at most,
/// ~1.2e−38 at least): for kernels whose result saturates (sigmoid, SiLU); Op::Exp keeps
/// std::exp, which handles ±inf exactly. NaN gives NaN.
inline float vec_expf(float x) {
  x = x < -87.3f ? -87.3f : x;  // maxps/minps: kernels/CMakeLists.txt adds -fno-trapping-math
  x = x > 88.7f ? 88.7f : x;
  const float shifter = 12582912.0f;  // 1.5·2²³: adding and subtracting it rounds to an integer
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2ⁿ as a float's bits. A NaN x gives a NaN n, whose cast to int is undefined: use 0 for the
  // scale (the polynomial is NaN already, so the result stays NaN).
  const float whole = n == n ? n : 0.0f;
  const int32_t bits = (static_cast<int32_t>(whole) + 127) * (1 << 23);
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/// σ(x) = 1/(1 + e^−x), stable on both sides (e^−x → ∞ gives 0, e^−x → 0 gives 1); in float
/// it has no branch and a vectorizable exp.
inline float vec_sigmoid(float x) { return 1.0f / (1.0f + vec_expf(-x)); }
inline double vec_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// e^x in the compute type: vec_expf for float, std::exp for double.
inline float vec_exp(float x) { return vec_expf(x); }
inline double vec_exp(double x) { return std::exp(x); }

/// The CPU's storage type of each dtype, for kernels::dispatch_dtype.
struct CpuStorage {
  using f64 = double;
  using f32 = float;
  using f16 = gw::f16;
  using bf16 = gw::bf16;
  using i8 = int8_t;
  using i32 = int32_t;
  static constexpr const char* name = "cpu";
};
using kernels::Accepts;
using kernels::dispatch_dtype;

/// Fills the contiguous `out` with elements of `in`: output multi-index i reads input element
/// offset + Σ i[k]·stride[k] (strides in elements; 0 repeats). Any dtype; defined in shape.cpp.
void strided_copy(const Tensor& in, Tensor& out, const std::vector<int64_t>& stride,
                  int64_t offset = 0);

}  // namespace gw::cpu
