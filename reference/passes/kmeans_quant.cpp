// kmeans_quant.cpp — lab 05: k-means quantization by Lloyd's algorithm (gw/quantize.h): each
// element is replaced by the index of its nearest centroid in a codebook of 2^N floats.
#include <cmath>
#include <vector>

#include "gw/error.h"
#include "gw/quantize.h"

namespace gw {

KMeansQuant kmeans_quantize(const Tensor& x, int bits, int iterations, int64_t axis) {
  GW_CHECK(bits >= 1 && bits <= 8, "kmeans_quantize: bits ", bits, " must be in 1..8");
  GW_CHECK(iterations >= 0, "kmeans_quantize: iterations ", iterations, " must be ≥ 0");
  const std::vector<double> r = finite_values(x, "kmeans_quantize");
  // BEGIN LAB 05: one codebook of 2^bits centroids (per index along k.axis when it is ≥ 0, else one): start evenly spaced from the min to the max of its elements, then `iterations` times assign every element to its nearest centroid (the lower index on a tie) and move every centroid to the mean of its elements (an empty one stays); return k.indices (i32, x's shape), k.codebook (f32 (2^bits), or (channels, 2^bits)) and k.axis (−1, or `axis` made non-negative with normalize_axis)
  KMeansQuant k;
  k.axis = axis < 0 ? -1 : normalize_axis(axis, x.dim(), "kmeans_quantize");
  const int64_t centroids = int64_t{1} << bits;
  int64_t inner = 1, channels = 1;
  if (k.axis >= 0) {
    channels = x.size(k.axis);
    for (int64_t a = k.axis + 1; a < x.dim(); ++a) inner *= x.size(a);
  }
  auto channel_of = [&](size_t i) {
    return k.axis >= 0 ? (static_cast<int64_t>(i) / inner) % channels : 0;
  };
  std::vector<double> book(static_cast<size_t>(channels * centroids));
  std::vector<double> lo(static_cast<size_t>(channels), INFINITY), hi(lo.size(), -INFINITY);
  for (size_t i = 0; i < r.size(); ++i) {
    const size_t c = static_cast<size_t>(channel_of(i));
    lo[c] = std::fmin(lo[c], r[i]);
    hi[c] = std::fmax(hi[c], r[i]);
  }
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t j = 0; j < centroids; ++j) {
      const double l = std::isfinite(lo[c]) ? lo[c] : 0.0, h = std::isfinite(hi[c]) ? hi[c] : 0.0;
      book[static_cast<size_t>(c * centroids + j)] = l + j * (h - l) / (centroids - 1);
    }
  std::vector<double> index(r.size(), 0.0);
  auto assign = [&] {
    for (size_t i = 0; i < r.size(); ++i) {
      const double* b = book.data() + channel_of(i) * centroids;
      int64_t best = 0;
      for (int64_t j = 1; j < centroids; ++j)
        if (std::fabs(r[i] - b[j]) < std::fabs(r[i] - b[best])) best = j;
      index[i] = static_cast<double>(best);
    }
  };
  for (int it = 0; it < iterations; ++it) {
    assign();
    std::vector<double> total(book.size(), 0.0), count(book.size(), 0.0);
    for (size_t i = 0; i < r.size(); ++i) {
      const size_t slot = static_cast<size_t>(channel_of(i) * centroids + static_cast<int64_t>(index[i]));
      total[slot] += r[i];
      count[slot] += 1.0;
    }
    for (size_t s = 0; s < book.size(); ++s)
      if (count[s] > 0) book[s] = total[s] / count[s];
  }
  assign();
  k.indices = Tensor::from_values(x.shape(), index, DType::i32);
  k.codebook = Tensor::from_values(k.axis >= 0 ? Shape{channels, centroids} : Shape{centroids},
                                   book, DType::f32);
  return k;
  // END LAB 05
}

}  // namespace gw
