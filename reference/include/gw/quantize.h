// quantize.h — lab 05: linear and k-means quantization, integer-only matrix products, and the
// post-training quantization of a model's weights.
//
// Linear quantization maps a real value r to an N-bit integer code q with a scale S and a
// zero point Z:
//     r ≈ S·(q − Z),   q ∈ [q_min, q_max] = [−2^(N−1), 2^(N−1) − 1]
//     asymmetric: S = (r_max − r_min) / (q_max − q_min),  Z = round(q_min − r_min / S)
//     symmetric:  S = max|r| / q_max,                     Z = 0
// with the range [r_min, r_max] widened to include 0.
// Per tensor, one (S, Z) serves every element; per channel, each index along an axis has its
// own; per group, each run of g consecutive elements along the reduction axis has its own
// (the last group of a row may be shorter). K-means quantization stores instead, for each
// element, the index of its nearest centroid in a small float codebook.
//   lab 05  compute_qparams, quantize, dequantize     (reference/passes/linear_quant.cpp)
//           kmeans_quantize                           (reference/passes/kmeans_quant.cpp)
//           quantize_multiplier, requantize,
//           integer_matmul                            (reference/passes/integer_matmul.cpp)
//           quantize_model_weights                    (reference/passes/ptq.cpp)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gw/graph.h"
#include "gw/tensor.h"

namespace gw {

/// Which elements share one (S, Z).
enum class Granularity {
  per_tensor,   ///< one pair for the whole tensor
  per_channel,  ///< one pair per index along `axis`
  per_group,    ///< one pair per run of `group_size` elements along `axis`, for each index
                ///< of the other axes; the last run of each row may be shorter
};

/// How to quantize a tensor linearly.
struct QuantScheme {
  int bits = 8;                                  ///< N, from 2 to 8
  bool symmetric = false;                        ///< Z = 0 and S = max|r| / q_max
  Granularity granularity = Granularity::per_tensor;
  int64_t axis = 0;        ///< per_channel: the channel axis; per_group: the reduction axis
  int64_t group_size = 0;  ///< per_group: g ≥ 1
};

/// The smallest and largest code of N bits: [−2^(N−1), 2^(N−1) − 1].
inline int32_t qmin_of(int bits) { return -(1 << (bits - 1)); }
inline int32_t qmax_of(int bits) { return (1 << (bits - 1)) - 1; }

/// Scales and zero points of a tensor of `shape` under `scheme`, and which element uses which.
/// `scale` and `zero_point` are f32 tensors of param_shape(): () per tensor, (d) per channel
/// with d = shape[axis], and `shape` with shape[axis] replaced by ⌈shape[axis]/g⌉ per group.
/// Zero points hold integers (in f32, as the Quantize and Dequantize ops take them).
struct QuantParams {
  QuantScheme scheme;
  Shape shape;       ///< the quantized tensor's shape
  Tensor scale;      ///< S, f32 of param_shape()
  Tensor zero_point; ///< Z, f32 of param_shape(), integers in [q_min, q_max]

  /// An (S, Z) pair per parameter slot, S = 1 and Z = 0, for `shape` under `scheme`
  /// (validated: bits in 2–8, axis in range, group_size ≥ 1 for per_group).
  static QuantParams zeros(const Shape& shape, const QuantScheme& scheme);
  /// The shape of `scale` and `zero_point`.
  Shape param_shape() const;
  /// The parameter slot of element i (its flat index in `shape`): 0 per tensor.
  int64_t index_of(int64_t i) const;
};

/// Lab 05: the scales and zero points of `x` (f32) under `scheme`, from the minimum r_min and
/// maximum r_max of the elements of each slot, with the range widened to include 0
/// (r_min ≤ 0 ≤ r_max, so that 0 is exactly representable and Z always lies in the code range).
/// Z is rounded (half to even) and clamped into [q_min, q_max]. A constant slot r has the
/// range [min(r, 0), max(r, 0)]; a slot of zeros gets S = 1 (and Z = q_min asymmetric, 0
/// symmetric): S is never 0 or NaN.
/// @throws gw::Error for bits outside 2–8, a bad axis or group size, or a NaN or infinite
/// element (naming its index).
QuantParams compute_qparams(const Tensor& x, const QuantScheme& scheme);

/// Lab 05: the i8 codes q = clamp(round(r / S) + Z, q_min, q_max) of `x` (f32), rounding half
/// to even (as std::nearbyint does in the default rounding mode), with each element's (S, Z).
/// @throws gw::Error when x's shape is not params.shape, or an element is NaN or infinite.
Tensor quantize(const Tensor& x, const QuantParams& params);

/// Lab 05: r = S·(q − Z) for the i8 codes `q`, as f32.
Tensor dequantize(const Tensor& q, const QuantParams& params);

/// K-means quantization: each element becomes the index of a centroid of a small codebook.
struct KMeansQuant {
  Tensor indices;   ///< i32 of the input's shape, each in [0, 2^N)
  Tensor codebook;  ///< f32 (2^N) per tensor, or (channels, 2^N) per channel
  int64_t axis = -1;  ///< the channel axis, or −1 for one codebook
};

/// Lab 05: k-means quantization of `x` (f32) with 2^bits centroids, by Lloyd's algorithm:
/// the centroids start evenly spaced from min to max (c_j = min + j·(max − min)/(2^N − 1)),
/// then `iterations` times: every element goes to its nearest centroid (the lower index on a
/// tie), and every centroid moves to the mean of its elements; a centroid without elements
/// stays where it is. After the last iteration every element is assigned once more, so the
/// indices point at the nearest centroid of the returned codebook (with 0 iterations, of the
/// initial one). Centroids are kept in double and returned as f32. With axis ≥ 0, each index
/// along that axis has a codebook of its own; any negative axis means one codebook.
/// @throws gw::Error for bits outside 1–8, a bad axis, iterations < 0, or a non-finite element.
KMeansQuant kmeans_quantize(const Tensor& x, int bits, int iterations, int64_t axis = -1);

/// The values of a k-means quantization: codebook[indices] (f32 of the indices' shape).
Tensor kmeans_dequantize(const KMeansQuant& k);

/// A real multiplier M in (0, 1) as M = M0 · 2^(−31−shift): M0 is M's mantissa in [0.5, 1) as a
/// Q31 integer (M0 ∈ [2^30, 2^31)), `shift` ≥ 0 the further right shift. M within 2^−32 of 1,
/// whose mantissa would round to 2^31, is M0 = 2^31 − 1 with shift 0.
struct FixedPointMultiplier {
  int32_t m0 = 0;  ///< round(mantissa · 2^31)
  int shift = 0;   ///< n: M = mantissa · 2^(−n)
};

/// Lab 05: the fixed-point form of M = S_W·S_X / S_Y (0 < M < 1), computed once, on the host.
/// @throws gw::Error when M is not in (0, 1).
FixedPointMultiplier quantize_multiplier(double multiplier);

/// Lab 05: an int32 accumulator times M, in integers only: the rounded high half of acc·M0
/// (round(acc·M0 / 2^31), ties away from zero), then a rounding right shift by n (ties away from
/// zero), plus z_y, saturated to int8.
int8_t requantize(int32_t acc, FixedPointMultiplier multiplier, int32_t z_y);

/// Lab 05: the integer-only product of i8 codes: for W (m, k) with zero point z_w and X (k, n)
/// with zero point z_x, acc_ij = Σ_p (q_W − z_w)(q_X − z_x), computed as the lecture's
/// q_W q_X − z_w q_X − z_x q_W + z_w z_x with int32 accumulation, then requantize(acc,
/// multiplier, z_y) into i8 (m, n). No floating point.
/// @throws gw::Error for shapes that do not chain or dtypes other than i8.
Tensor integer_matmul(const Tensor& q_w, int32_t z_w, const Tensor& q_x, int32_t z_x,
                      FixedPointMultiplier multiplier, int32_t z_y);

/// The elements of `x` as doubles; throws gw::Error naming `who` and the first element that is
/// NaN or infinite (only finite values can be quantized).
std::vector<double> finite_values(const Tensor& x, const char* who);

// ---- post-training quantization of a model ---------------------------------------------------

/// The three forms post-training quantization gives a model's matmul weights.
enum class WeightScheme {
  int8_channel,  ///< int8, symmetric, one scale per output channel
  int4_group,    ///< int4, asymmetric, one (S, Z) per group of 32 along the input axis
  kmeans4,       ///< 16 centroids per output channel
};
/// "int8-channel", "int4-g32", "kmeans4".
const char* weight_scheme_name(WeightScheme scheme);
/// The scheme named `name`; throws gw::UsageError listing the names otherwise.
WeightScheme weight_scheme_from_name(const std::string& name);

/// One weight matrix W (h_in, h_out) of a model (used as x·W), quantized.
struct QuantizedWeight {
  std::string name;    ///< the Parameter's name
  Shape shape;         ///< (h_in, h_out)
  Tensor codes;        ///< int8_channel, int4_group: the i8 codes; kmeans4: i32 indices
  QuantParams params;  ///< linear schemes (`kmeans.codebook` is then undefined)
  KMeansQuant kmeans;  ///< kmeans4 (its indices are `codes`; `kmeans.codebook.defined()`)
  /// The f32 weights the codes stand for.
  Tensor dequantized() const;
};

/// Lab 05: quantizes each weight (a 2-D f32 (h_in, h_out) tensor) with `scheme`:
/// int8_channel — symmetric 8 bits per output channel (axis 1); int4_group — asymmetric 4 bits
/// in groups of 32 along the input axis (axis 0); kmeans4 — 4-bit k-means per output channel,
/// 20 iterations.
std::vector<QuantizedWeight> quantize_model_weights(const std::vector<Node*>& weights,
                                                    WeightScheme scheme);

/// The pass: every consumer of each quantized weight's Parameter in its graph reads instead a
/// node computing the weight from its codes (Dequantize of constants, or the k-means
/// codebook gathered by the indices), so the model runs with the quantized weights. Returns
/// the replacement nodes, in the order of `weights`. Build executors after the rewrite.
std::vector<Node*> rewrite_with_quantized_weights(const std::vector<Node*>& weights,
                                                  const std::vector<QuantizedWeight>& quantized);

}  // namespace gw
