// quant_params.cpp — the bookkeeping of lab 05's quantization (gw/quantize.h) that is not the
// lesson: which parameter slot an element uses, the shape of the parameters, k-means values,
// and the names of the weight schemes.
#include <algorithm>
#include <cmath>

#include "gw/error.h"
#include "gw/quantize.h"

namespace gw {

QuantParams QuantParams::zeros(const Shape& shape, const QuantScheme& scheme) {
  GW_CHECK(scheme.bits >= 2 && scheme.bits <= 8, "quantize: bits ", scheme.bits,
           " must be in 2..8 (codes are stored as i8)");
  QuantParams p;
  p.scheme = scheme;
  p.shape = shape;
  if (scheme.granularity != Granularity::per_tensor) {
    p.scheme.axis = normalize_axis(scheme.axis, static_cast<int64_t>(shape.size()), "quantize");
    if (scheme.granularity == Granularity::per_group)
      GW_CHECK(scheme.group_size >= 1, "quantize: group size ", scheme.group_size,
               " must be at least 1");
  }
  p.scale = Tensor::full(p.param_shape(), 1.0, DType::f32);
  p.zero_point = Tensor::zeros(p.param_shape(), DType::f32);
  return p;
}

Shape QuantParams::param_shape() const {
  switch (scheme.granularity) {
    case Granularity::per_tensor: return {};
    case Granularity::per_channel: return {shape[static_cast<size_t>(scheme.axis)]};
    case Granularity::per_group: {
      Shape s = shape;
      int64_t& d = s[static_cast<size_t>(scheme.axis)];
      d = (d + scheme.group_size - 1) / scheme.group_size;
      return s;
    }
  }
  return {};
}

int64_t QuantParams::index_of(int64_t i) const {
  if (scheme.granularity == Granularity::per_tensor) return 0;
  const size_t a = static_cast<size_t>(scheme.axis);
  int64_t inner = 1;
  for (size_t k = a + 1; k < shape.size(); ++k) inner *= shape[k];
  const int64_t dim = shape[a];
  const int64_t j = (i / inner) % dim;  // the index along the axis
  if (scheme.granularity == Granularity::per_channel) return j;
  const int64_t groups = (dim + scheme.group_size - 1) / scheme.group_size;
  return ((i / (inner * dim)) * groups + j / scheme.group_size) * inner + i % inner;
}

std::vector<double> finite_values(const Tensor& x, const char* who) {
  std::vector<double> v = x.to_doubles();
  for (size_t i = 0; i < v.size(); ++i)
    GW_CHECK(std::isfinite(v[i]), who, ": element ", i, " is ", v[i],
             "; only finite values can be quantized");
  return v;
}

Tensor kmeans_dequantize(const KMeansQuant& k) {
  const Tensor indices = k.indices.to(Device::cpu());
  const std::vector<double> idx = indices.to_doubles();
  const std::vector<double> book = k.codebook.to_doubles();
  const int64_t centroids = k.codebook.shape().back();
  int64_t inner = 1, dim = 1;
  if (k.axis >= 0) {
    dim = indices.shape()[static_cast<size_t>(k.axis)];
    for (size_t a = static_cast<size_t>(k.axis) + 1; a < indices.shape().size(); ++a)
      inner *= indices.shape()[a];
  }
  std::vector<double> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t channel = k.axis >= 0 ? (static_cast<int64_t>(i) / inner) % dim : 0;
    out[i] = book[static_cast<size_t>(channel * centroids + static_cast<int64_t>(idx[i]))];
  }
  return Tensor::from_values(indices.shape(), out, DType::f32);
}

const char* weight_scheme_name(WeightScheme scheme) {
  switch (scheme) {
    case WeightScheme::int8_channel: return "int8-channel";
    case WeightScheme::int4_group: return "int4-g32";
    case WeightScheme::kmeans4: return "kmeans4";
  }
  return "?";
}

WeightScheme weight_scheme_from_name(const std::string& name) {
  for (WeightScheme s : {WeightScheme::int8_channel, WeightScheme::int4_group, WeightScheme::kmeans4})
    if (name == weight_scheme_name(s)) return s;
  throw UsageError("quantization scheme \"" + name +
                   "\" is not one of int8-channel, int4-g32, kmeans4");
}

Tensor QuantizedWeight::dequantized() const {
  return kmeans.codebook.defined() ? kmeans_dequantize(kmeans) : dequantize(codes, params);
}

}  // namespace gw
