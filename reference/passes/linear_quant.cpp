// linear_quant.cpp — lab 05: linear quantization, r ≈ S·(q − Z), per tensor, per channel or per
// group (gw/quantize.h). Every element's (S, Z) slot is QuantParams::index_of(i).
#include <algorithm>
#include <cmath>
#include <vector>

#include "gw/error.h"
#include "gw/quantize.h"

namespace gw {

QuantParams compute_qparams(const Tensor& x, const QuantScheme& scheme) {
  QuantParams p = QuantParams::zeros(x.shape(), scheme);
  const std::vector<double> r = finite_values(x, "compute_qparams");
  // BEGIN LAB 05: the min and max of each slot's elements (index_of), widened to include 0; then S and Z per slot: asymmetric S = (max − min)/(q_max − q_min), Z = round(q_min − min/S) clamped to [q_min, q_max]; symmetric S = max|r|/q_max, Z = 0; a slot of zeros (S would be 0) gets S = 1
  const int64_t slots = numel(p.param_shape());
  std::vector<double> lo(static_cast<size_t>(slots), 0.0), hi(static_cast<size_t>(slots), 0.0);
  for (int64_t i = 0; i < static_cast<int64_t>(r.size()); ++i) {
    const size_t s = static_cast<size_t>(p.index_of(i));
    lo[s] = std::min(lo[s], r[static_cast<size_t>(i)]);
    hi[s] = std::max(hi[s], r[static_cast<size_t>(i)]);
  }
  const double qmin = qmin_of(scheme.bits), qmax = qmax_of(scheme.bits);
  float* S = p.scale.data<float>();
  float* Z = p.zero_point.data<float>();
  for (size_t s = 0; s < lo.size(); ++s) {
    double scale = scheme.symmetric ? std::max(-lo[s], hi[s]) / qmax : (hi[s] - lo[s]) / (qmax - qmin);
    if (!(scale > 0)) scale = 1.0;  // all zeros
    S[s] = static_cast<float>(scale);
    const double z = scheme.symmetric ? 0.0 : std::nearbyint(qmin - lo[s] / S[s]);
    Z[s] = static_cast<float>(std::clamp(z, qmin, qmax));
  }
  return p;
  // END LAB 05
}

Tensor quantize(const Tensor& x, const QuantParams& params) {
  GW_CHECK_AS(ShapeError, x.shape() == params.shape, "quantize: input ", shape_str(x.shape()),
              " but the parameters are for ", shape_str(params.shape));
  const std::vector<double> r = finite_values(x, "quantize");
  // BEGIN LAB 05: q = clamp(round(r/S) + Z, q_min, q_max) per element with its slot's (S, Z), rounding half to even (std::nearbyint); return an i8 tensor of x's shape
  const float* S = params.scale.data<float>();
  const float* Z = params.zero_point.data<float>();
  const double qmin = qmin_of(params.scheme.bits), qmax = qmax_of(params.scheme.bits);
  std::vector<double> q(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    const size_t s = static_cast<size_t>(params.index_of(static_cast<int64_t>(i)));
    const double code = std::nearbyint(static_cast<float>(r[i]) / S[s]) + Z[s];
    q[i] = std::clamp(code, qmin, qmax);
  }
  return Tensor::from_values(x.shape(), q, DType::i8);
  // END LAB 05
}

Tensor dequantize(const Tensor& q, const QuantParams& params) {
  GW_CHECK_AS(ShapeError, q.shape() == params.shape && q.dtype() == DType::i8, "dequantize: ",
              q.str(), " must be i8 codes of shape ", shape_str(params.shape));
  // BEGIN LAB 05: r = S·(q − Z) per element with its slot's (S, Z), as an f32 tensor of q's shape
  const std::vector<double> codes = q.to_doubles();
  const float* S = params.scale.data<float>();
  const float* Z = params.zero_point.data<float>();
  std::vector<double> r(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const size_t s = static_cast<size_t>(params.index_of(static_cast<int64_t>(i)));
    r[i] = S[s] * (static_cast<float>(codes[i]) - Z[s]);
  }
  return Tensor::from_values(q.shape(), r, DType::f32);
  // END LAB 05
}

}  // namespace gw
