// test_int8_linear.cpp — the int8 fast path of quantized models: quantized_linear quantizes
// each row of x to 7-bit codes (scale max|x_r|/63), runs one exact int8 GEMM and rescales; the
// fuse_int8_linear pass rewrites matmul(x, dequantize(q, S, 0)) into it and nothing else.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/passes.h"

namespace gw {
namespace {

Tensor uniform(const Shape& shape, uint32_t seed, double lo, double hi, DType dtype) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

// Symmetric int8 codes (k, n) with one scale per column, from a random weight.
struct Int8Weight {
  Tensor codes, scale;
  Int8Weight(int64_t k, int64_t n, uint32_t seed) {
    const std::vector<double> w = uniform({k, n}, seed, -1, 1, DType::f64).to_doubles();
    std::vector<double> s(static_cast<size_t>(n)), q(w.size());
    for (int64_t j = 0; j < n; ++j) {
      double top = 0;
      for (int64_t p = 0; p < k; ++p) top = std::max(top, std::fabs(w[p * n + j]));
      s[j] = top / 127;
      for (int64_t p = 0; p < k; ++p) q[p * n + j] = std::nearbyint(w[p * n + j] / s[j]);
    }
    codes = Tensor::from_values({k, n}, q, DType::i8);
    scale = Tensor::from_values({n}, s, DType::f32);
  }
};

TEST(QuantizedLinear, EqualsRowQuantizedXTimesTheCodesRescaled) {
  const int64_t b = 3, s = 5, k = 40, n = 7;
  const Tensor x = uniform({b, s, k}, 1, -2, 2, DType::f32);
  const Int8Weight w(k, n, 2);
  Graph g;
  Node* in = g.input("x", {b, s, k}, DType::f32);
  Node* y = quantized_linear(in, g.constant(w.codes), g.constant(w.scale));
  ASSERT_EQ(y->shape, (Shape{b, s, n}));
  Executor ex(g, {y});
  const std::vector<double> got = ex.run({{in, x}})[0].to_doubles();
  // Oracle: the same rounding in double, integer sums exact.
  const std::vector<double> xd = x.to_doubles();
  const std::vector<float> xs(xd.begin(), xd.end());
  const std::vector<double> q = w.codes.to_doubles(), sw = w.scale.to_doubles();
  for (int64_t r = 0; r < b * s; ++r) {
    float top = 0;
    for (int64_t p = 0; p < k; ++p) top = std::fmax(top, std::fabs(xs[r * k + p]));
    const float sr = top / 63.0f;
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += static_cast<int64_t>(std::nearbyint(xs[r * k + p] / sr)) *
               static_cast<int64_t>(q[p * n + j]);
      const double want = static_cast<double>(acc) * sr * sw[j];
      EXPECT_NEAR(got[r * n + j], want, 1e-5 * (1 + std::fabs(want))) << r << "," << j;
    }
  }
}

TEST(QuantizedLinear, ExtremeCodesStayExact) {
  // Every x code ±63 and every weight code ±127 with the same signs: each int16 pair sum of a
  // u8·s8 GEMM is at its largest, and the result must still be exact.
  const int64_t m = 4, k = 256, n = 8;
  std::vector<double> xv(static_cast<size_t>(m * k)), qv(static_cast<size_t>(k * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t p = 0; p < k; ++p) xv[r * k + p] = (p % 3 == 0) ? -2.0 : 2.0;
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) qv[p * n + j] = (p % 3 == 0) ? -127 : 127;
  Graph g;
  Node* y = quantized_linear(g.constant(Tensor::from_values({m, k}, xv, DType::f32)),
                             g.constant(Tensor::from_values({k, n}, qv, DType::i8)),
                             g.constant(Tensor::full({n}, 1.0, DType::f32)));
  Executor ex(g, {y});
  // Σ_p 63·127 over k terms, times s_x = 2/63 and s_w = 1: 2·127·k.
  // (f32 rounding of s_x only; one saturated pair would be off by thousands)
  for (double v : ex.run({})[0].to_doubles()) EXPECT_NEAR(v, 2.0 * 127 * k, 1e-6 * 2 * 127 * k);
}

TEST(QuantizedLinear, ZeroRowsGiveZeroAndBadOperandsAreErrors) {
  Graph g;
  const Int8Weight w(8, 3, 3);
  Node* y = quantized_linear(g.constant(Tensor::zeros({2, 8}, DType::f32)), g.constant(w.codes),
                             g.constant(w.scale));
  Executor ex(g, {y});
  for (double v : ex.run({})[0].to_doubles()) EXPECT_EQ(v, 0.0);
  Node* codes = g.constant(w.codes);
  Node* scale = g.constant(w.scale);
  EXPECT_THROW(quantized_linear(g.input("a", {2, 9}, DType::f32), codes, scale), ShapeError);
  EXPECT_THROW(quantized_linear(g.input("b", {2, 8}, DType::f64), codes, scale), DTypeError);
  EXPECT_THROW(quantized_linear(g.input("c", {2, 8}, DType::f32), scale, scale), Error);
}

TEST(FuseInt8Linear, RewritesSymmetricPerChannelInt8AndKeepsTheResult) {
  const int64_t m = 6, k = 32, n = 5;
  const Int8Weight w(k, n, 4);
  const Tensor x = uniform({m, k}, 5, -1, 1, DType::f32);
  Graph g;
  Node* in = g.input("x", {m, k}, DType::f32);
  Node* deq = dequantize(g.constant(w.codes), g.constant(w.scale),
                         g.constant(Tensor::zeros({n}, DType::f32)), 1);
  Node* y = relu(matmul(in, deq));
  Executor before(g, {y});
  const std::vector<double> want = before.run({{in, x}})[0].to_doubles();
  ASSERT_EQ(fuse_int8_linear(g), 1);
  EXPECT_EQ(y->inputs[0]->op, Op::QuantizedLinear);
  Executor after(g, {y});
  const std::vector<double> got = after.run({{in, x}})[0].to_doubles();
  // Only x's rounding differs: |Δ| ≤ Σ_p s_x/2 · |W_pj| ≤ k · (1/63)/2 · max|W|.
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], k / 126.0) << i;
  EXPECT_EQ(fuse_int8_linear(g), 0);  // nothing left to fuse
}

TEST(FuseInt8Linear, LeavesAsymmetricGroupedAndTransposedProductsAlone) {
  const Int8Weight w(16, 4, 6);
  Graph g;
  Node* x = g.input("x", {3, 16}, DType::f32);
  Node* codes = g.constant(w.codes);
  Node* scale = g.constant(w.scale);
  Node* nonzero = g.constant(Tensor::full({4}, 1.0, DType::f32));
  Node* zero = g.constant(Tensor::zeros({4}, DType::f32));
  matmul(x, dequantize(codes, scale, nonzero, 1));            // Z ≠ 0
  matmul(g.input("xt", {16, 3}, DType::f32), dequantize(codes, scale, zero, 1),
         /*transpose_a=*/true);                                           // transposed x
  matmul(g.input("x4", {3, 4}, DType::f32),
         dequantize(codes, scale, zero, 1), false, true);     // transposed W
  EXPECT_EQ(fuse_int8_linear(g), 0);
}

}  // namespace
}  // namespace gw
