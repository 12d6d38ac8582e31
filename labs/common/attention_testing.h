// attention_testing.h — what lab 08's public and hidden tests share: flash attention's
// forward and backward ops run on concrete tensors, checked against the naive ops (the
// oracle), and the allocator's peak around a run.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"

namespace gw::labs {

/// One attention problem: q, k, v (b, n, s, d), the output's adjoint ō, causal or not.
struct AttentionCase {
  Tensor q, k, v, go;
  bool causal = false;
  std::string str() const {
    const Shape& s = q.shape();
    return "(b, n, s, d) = (" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " +
           std::to_string(s[2]) + ", " + std::to_string(s[3]) + ")" +
           (causal ? " causal" : " not causal") + " " + dtype_name(q.dtype());
  }
};

/// Values uniform in [lo, hi) from std::mt19937_64(seed).
inline Tensor uniform_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo = -1.0,
                             double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

/// q and k in [−2, 2) (peaked softmax rows), v and ō in [−1, 1).
inline AttentionCase random_case(const Shape& shape, bool causal, DType dtype, uint64_t seed) {
  return {uniform_tensor(shape, dtype, seed, -2, 2), uniform_tensor(shape, dtype, seed + 1, -2, 2),
          uniform_tensor(shape, dtype, seed + 2), uniform_tensor(shape, dtype, seed + 3), causal};
}

/// The flash op's packed output (b, n, s, d + 1).
inline Tensor flash_packed(const AttentionCase& c) {
  Graph g;
  return eval(flash_attention_packed(g.constant(c.q), g.constant(c.k), g.constant(c.v), c.causal));
}

/// The first d columns (the output) or the last one (the LSE) of a packed output.
inline Tensor unpack(const Tensor& packed, bool lse) {
  const Shape& s = packed.shape();
  const int64_t d = s[3] - 1;
  const std::vector<double> y = packed.to_doubles();
  std::vector<double> out;
  for (size_t r = 0; r < y.size() / static_cast<size_t>(d + 1); ++r) {
    const auto row = y.begin() + static_cast<int64_t>(r) * (d + 1);
    if (lse)
      out.push_back(row[d]);
    else
      out.insert(out.end(), row, row + d);
  }
  return Tensor::from_values(lse ? Shape{s[0], s[1], s[2]} : Shape{s[0], s[1], s[2], d}, out,
                             DType::f64);
}

/// The naive op's output, in f64.
inline Tensor naive_output(const AttentionCase& c) {
  Graph g;
  return eval(attention(g.constant(c.q), g.constant(c.k), g.constant(c.v), c.causal))
      .astype(DType::f64);
}

/// log Σ_j exp(q_i·k_j/√d) over the keys row i sees, in f64 (b, n, s).
inline Tensor reference_lse(const AttentionCase& c) {
  const Shape& s = c.q.shape();
  const int64_t heads = s[0] * s[1], t = s[2], d = s[3];
  const double scale = 1 / std::sqrt(static_cast<double>(d));
  const std::vector<double> q = c.q.to_doubles(), k = c.k.to_doubles();
  std::vector<double> out;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < t; ++i) {
      const int64_t seen = c.causal ? i + 1 : t;
      std::vector<double> w(static_cast<size_t>(seen));
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < seen; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += q[(h * t + i) * d + e] * k[(h * t + j) * d + e];
        mx = std::max(mx, w[static_cast<size_t>(j)] = scale * dot);
      }
      for (double x : w) sum += std::exp(x - mx);
      out.push_back(mx + std::log(sum));
    }
  return Tensor::from_values({s[0], s[1], t}, out, DType::f64);
}

/// q̄, k̄, v̄ (3, b, n, s, d) from the flash backward op given ō (the LSE's adjoint 0), f64.
inline Tensor flash_gradients(const AttentionCase& c) {
  const Shape& s = c.q.shape();
  const std::vector<double> go = c.go.to_doubles();
  std::vector<double> packed_go;
  for (size_t r = 0; r < go.size() / static_cast<size_t>(s[3]); ++r) {
    packed_go.insert(packed_go.end(), go.begin() + static_cast<int64_t>(r) * s[3],
                     go.begin() + static_cast<int64_t>(r + 1) * s[3]);
    packed_go.push_back(0.0);
  }
  Graph g;
  Node* q = g.constant(c.q);
  Node* k = g.constant(c.k);
  Node* v = g.constant(c.v);
  Node* y = flash_attention_packed(q, k, v, c.causal);
  Node* gy = g.constant(Tensor::from_values(y->shape, packed_go, c.q.dtype()));
  return eval(flash_attention_backward(q, k, v, y, gy, c.causal)).astype(DType::f64);
}

/// The same from the naive backward op.
inline Tensor naive_gradients(const AttentionCase& c) {
  Graph g;
  return eval(attention_backward(g.constant(c.q), g.constant(c.k), g.constant(c.v),
                                 g.constant(c.go), c.causal))
      .astype(DType::f64);
}

/// |a − b| ≤ tol·(1 + |b|) everywhere; the message names the first bad element.
inline ::testing::AssertionResult agree(const std::string& what, const Tensor& a, const Tensor& b,
                                        double tol) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(a.shape())
                                         << ", expected " << shape_str(b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= tol * (1 + std::fabs(y[i]))))
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << x[i]
                                           << ", naive attention gives " << y[i];
  return ::testing::AssertionSuccess();
}

/// Forward (output and LSE) and backward of one case against the naive ops.
inline ::testing::AssertionResult flash_matches_naive(const AttentionCase& c, double tol) {
  const Tensor packed = flash_packed(c);
  ::testing::AssertionResult r = agree(c.str() + " output", unpack(packed, false),
                                       naive_output(c), tol);
  if (r) r = agree(c.str() + " LSE", unpack(packed, true), reference_lse(c), tol);
  if (r) {
    const Tensor got = flash_gradients(c), want = naive_gradients(c);
    r = agree(c.str() + " gradients (q̄, k̄, v̄ packed)", got, want, tol);
  }
  return r;
}

/// The most extra bytes in use while one forward and one backward of flash attention run.
inline int64_t flash_peak_extra_bytes(const AttentionCase& c) {
  Graph g;
  Node* q = g.constant(c.q);
  Node* k = g.constant(c.k);
  Node* v = g.constant(c.v);
  Node* y = flash_attention_packed(q, k, v, c.causal);
  Node* b = flash_attention_backward(q, k, v, y, y, c.causal);
  MemoryProbe probe;
  eval(std::vector<Node*>{y, b});
  return probe.peak_extra_bytes();
}

}  // namespace gw::labs
