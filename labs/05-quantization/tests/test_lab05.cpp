// test_lab05.cpp — public tests of lab 05 (quantization): the lecture's 4×4 example in 2 bits,
// round-trip error bounds per granularity, k-means on a known set, the integer-only matmul
// against exact int64 arithmetic, the post-training quantization of a small model, and the
// straight-through gradient of fake quantization (through your lab 04 gradients()).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gw/autodiff.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/quantize.h"

namespace gw {
namespace {

// The lecture's weight matrix.
Tensor lecture_w() {
  return Tensor::from_values({4, 4}, {2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91,
                                      1.92, 0, -1.03, 1.87, 0, 1.53, 1.49},
                             DType::f32);
}

QuantScheme scheme(int bits, bool symmetric, Granularity g = Granularity::per_tensor,
                   int64_t axis = 0, int64_t group = 0) {
  QuantScheme s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.granularity = g;
  s.axis = axis;
  s.group_size = group;
  return s;
}

// ‖W − S⊙(q − Z)‖ (Frobenius).
double reconstruction_error(const Tensor& w, const QuantParams& p) {
  const std::vector<double> a = w.to_doubles(), b = dequantize(quantize(w, p), p).to_doubles();
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, DType::f32);
}

TEST(LectureExample, AsymmetricPerTensorTwoBitsGivesTheLecturesScaleZeroAndCodes) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, false));
  ASSERT_EQ(p.scale.numel(), 1) << "per tensor: one scale";
  EXPECT_NEAR(p.scale.item(), 1.0667, 1e-4) << "S = (r_max − r_min)/(q_max − q_min) = 3.2/3";
  EXPECT_EQ(p.zero_point.item(), -1.0) << "Z = round(q_min − r_min/S) = round(−0.9875)";
  const std::vector<double> want = {1, -2, 0, -1, -1, -1, -2, 1, -2, 1, -1, -2, 1, -1, 0, 0};
  const Tensor q = quantize(lecture_w(), p);
  EXPECT_EQ(q.dtype(), DType::i8) << "codes are i8 whatever the number of bits";
  EXPECT_EQ(q.to_doubles(), want) << "q = clamp(round(r/S) + Z, −2, 1), row by row";
}

TEST(LectureExample, SymmetricPerTensorTwoBitsHasScale2_12AndError2_28) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, true));
  EXPECT_NEAR(p.scale.item(), 2.12, 1e-6) << "S = max|r| / q_max = 2.12 / 1";
  EXPECT_EQ(p.zero_point.item(), 0.0) << "symmetric: Z = 0";
  EXPECT_NEAR(reconstruction_error(lecture_w(), p), 2.28, 5e-3) << "‖W − S·q‖";
}

TEST(LectureExample, SymmetricPerChannelTwoBitsHasOneScalePerRowAndError2_08) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, true, Granularity::per_channel, 0));
  ASSERT_EQ(p.scale.shape(), (Shape{4})) << "per channel along axis 0: one scale per row";
  const std::vector<double> s = p.scale.to_doubles();
  const std::vector<double> want = {2.09, 2.12, 1.92, 1.87};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(s[i], want[i], 1e-6) << "row " << i;
  EXPECT_NEAR(reconstruction_error(lecture_w(), p), 2.08, 5e-3)
      << "per-channel scales fit each row: smaller error than per tensor (2.28)";
}

TEST(RoundTrip, EachElementIsWithinHalfAStepOfItsValueForEveryGranularity) {
  const Tensor x = uniform({6, 10}, 3, -2.0, 3.0);
  const std::vector<QuantScheme> schemes = {
      scheme(8, false), scheme(4, false, Granularity::per_channel, 1),
      scheme(3, false, Granularity::per_group, 1, 4),  // groups of 4 along 10: the last has 2
      scheme(5, true, Granularity::per_channel, 0)};
  for (const QuantScheme& s : schemes) {
    const QuantParams p = compute_qparams(x, s);
    const std::vector<double> r = x.to_doubles(), back = dequantize(quantize(x, p), p).to_doubles();
    const std::vector<double> scale = p.scale.to_doubles();
    for (size_t i = 0; i < r.size(); ++i) {
      const double step = scale[static_cast<size_t>(p.index_of(static_cast<int64_t>(i)))];
      ASSERT_LE(std::fabs(r[i] - back[i]), 0.5 * step * (1 + 1e-5))
          << "element " << i << " of " << s.bits << "-bit scheme: rounding to the nearest code "
          << "leaves at most S/2; more means a truncation or a wrong slot";
    }
  }
}

TEST(Granularity, PerGroupHasOnePairPerRunOfGAlongTheAxisAndTheLastRunMayBeShort) {
  const Tensor x = uniform({3, 10}, 4, -1.0, 1.0);
  const QuantParams p = compute_qparams(x, scheme(4, false, Granularity::per_group, 1, 4));
  EXPECT_EQ(p.scale.shape(), (Shape{3, 3})) << "⌈10/4⌉ = 3 groups per row";
  EXPECT_EQ(p.index_of(9), 2) << "element (0, 9) is in the third group of row 0";
  EXPECT_EQ(p.index_of(10 + 4), 4) << "element (1, 4) is in the second group of row 1";
}

TEST(EdgeCases, AConstantTensorHasAFiniteScaleAndRoundTrips) {
  for (double c : {0.0, 5.0, -3.5}) {
    const Tensor x = Tensor::full({2, 3}, c, DType::f32);
    for (bool sym : {false, true}) {
      const QuantParams p = compute_qparams(x, scheme(8, sym));
      ASSERT_TRUE(std::isfinite(p.scale.item()) && p.scale.item() > 0)
          << "constant " << c << ": S = |r|/q_max, or 1 when r = 0 — never 0 or NaN";
      const std::vector<double> back = dequantize(quantize(x, p), p).to_doubles();
      for (double v : back) EXPECT_NEAR(v, c, 1e-6) << "constant " << c << " symmetric " << sym;
    }
  }
}

TEST(EdgeCases, CodesSaturateAtBothEnds) {
  const QuantParams p = compute_qparams(Tensor::from_values({2}, {-1, 1}, DType::f32),
                                        scheme(4, true));
  const std::vector<double> q =
      quantize(Tensor::from_values({2}, {-100, 100}, DType::f32), p).to_doubles();
  EXPECT_EQ(q, (std::vector<double>{-8, 7})) << "outside the range: clamp to [q_min, q_max]";
}

TEST(BadInput, BitsGroupSizeAxisAndNonFiniteValuesAreErrors) {
  const Tensor x = uniform({2, 3}, 5, -1, 1);
  EXPECT_THROW(compute_qparams(x, scheme(1, false)), Error) << "bits below 2";
  EXPECT_THROW(compute_qparams(x, scheme(9, false)), Error) << "bits above 8";
  EXPECT_THROW(compute_qparams(x, scheme(4, false, Granularity::per_group, 1, 0)), Error);
  EXPECT_THROW(compute_qparams(x, scheme(4, false, Granularity::per_channel, 5)), Error);
  EXPECT_THROW(compute_qparams(Tensor::from_values({2}, {1.0, NAN}, DType::f32), scheme(8, false)),
               Error);
  EXPECT_THROW(quantize(Tensor::from_values({2}, {INFINITY, 0}, DType::f32),
                        compute_qparams(Tensor::from_values({2}, {0, 1}, DType::f32), scheme(8, false))),
               Error);
}

TEST(KMeans, OneBitSplitsAKnownSetIntoItsTwoClusters) {
  const Tensor x = Tensor::from_values({6}, {0.0, 0.1, 0.2, 10.0, 10.1, 10.2}, DType::f32);
  const KMeansQuant k = kmeans_quantize(x, 1, 5);
  ASSERT_EQ(k.codebook.shape(), (Shape{2}));
  const std::vector<double> book = k.codebook.to_doubles();
  EXPECT_NEAR(book[0], 0.1, 1e-6) << "the mean of the low cluster";
  EXPECT_NEAR(book[1], 10.1, 1e-5) << "the mean of the high cluster";
  EXPECT_EQ(k.indices.to_doubles(), (std::vector<double>{0, 0, 0, 1, 1, 1}));
}

TEST(KMeans, CentroidsStartEvenlySpacedAndAnEmptyClusterStays) {
  // Zero iterations: the initial codebook min + j(max − min)/(2^N − 1).
  const Tensor x = Tensor::from_values({4}, {0.0, 0.0, 0.0, 3.0}, DType::f32);
  EXPECT_EQ(kmeans_quantize(x, 2, 0).codebook.to_doubles(), (std::vector<double>{0, 1, 2, 3}));
  // Centroids 1 and 2 receive no element: they stay at 1 and 2.
  EXPECT_EQ(kmeans_quantize(x, 2, 3).codebook.to_doubles(), (std::vector<double>{0, 1, 2, 3}));
}

TEST(KMeans, PerChannelCodebooksAndTheirValues) {
  const Tensor x = uniform({8, 3}, 6, -1, 1);
  const KMeansQuant k = kmeans_quantize(x, 2, 10, 1);
  EXPECT_EQ(k.codebook.shape(), (Shape{3, 4})) << "one codebook of 4 per column";
  const std::vector<double> r = x.to_doubles(), v = kmeans_dequantize(k).to_doubles();
  for (size_t i = 0; i < r.size(); ++i) EXPECT_LT(std::fabs(r[i] - v[i]), 0.5) << i;
}

// The int64 oracle of the integer matmul: the same integers, done with plenty of bits.
int8_t oracle(int64_t acc, FixedPointMultiplier m, int32_t z_y) {
  auto round_shift = [](int64_t v, int s) {
    if (s == 0) return v;
    const int64_t half = int64_t{1} << (s - 1);
    return v >= 0 ? (v + half) >> s : -((-v + half) >> s);
  };
  const int64_t y = round_shift(round_shift(acc * m.m0, 31), m.shift) + z_y;
  return static_cast<int8_t>(std::max<int64_t>(-128, std::min<int64_t>(127, y)));
}

TEST(IntegerMatmul, MultiplierIsAQ31MantissaAndAShift) {
  const FixedPointMultiplier m = quantize_multiplier(0.3);
  EXPECT_GE(m.m0, 1 << 30) << "M0 is the mantissa in [0.5, 1) as Q31";
  EXPECT_NEAR(m.m0 * std::ldexp(1.0, -31 - m.shift), 0.3, 1e-9);
  EXPECT_EQ(m.shift, 1) << "0.3 = 0.6 · 2^−1";
  EXPECT_THROW(quantize_multiplier(1.5), Error);
  EXPECT_THROW(quantize_multiplier(0.0), Error);
}

TEST(IntegerMatmul, RequantizeRoundsHalfAwayFromZeroAndSaturates) {
  const FixedPointMultiplier half{1 << 30, 0};  // M = 0.5
  EXPECT_EQ(requantize(5, half, 0), 3) << "2.5 rounds away from zero";
  EXPECT_EQ(requantize(-5, half, 0), -3) << "−2.5 rounds away from zero";
  EXPECT_EQ(requantize(1000, half, 0), 127) << "saturates at 127";
  EXPECT_EQ(requantize(-1000, half, 10), -128) << "saturates at −128";
}

TEST(IntegerMatmul, MatchesExactInt64ArithmeticOnASmallProduct) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> code(-128, 127);
  const int64_t m = 3, k = 5, n = 4;
  std::vector<double> w(m * k), x(k * n);
  for (double& v : w) v = code(rng);
  for (double& v : x) v = code(rng);
  const int32_t z_w = 3, z_x = -7, z_y = 5;
  const FixedPointMultiplier mult = quantize_multiplier(0.0013);
  const Tensor y = integer_matmul(Tensor::from_values({m, k}, w, DType::i8), z_w,
                                  Tensor::from_values({k, n}, x, DType::i8), z_x, mult, z_y);
  ASSERT_EQ(y.shape(), (Shape{m, n}));
  ASSERT_EQ(y.dtype(), DType::i8);
  const std::vector<double> got = y.to_doubles();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += (static_cast<int64_t>(w[i * k + p]) - z_w) * (static_cast<int64_t>(x[p * n + j]) - z_x);
      EXPECT_EQ(got[i * n + j], oracle(acc, mult, z_y))
          << "y[" << i << "][" << j << "]: Σ(q_W − Z_W)(q_X − Z_X) = " << acc;
    }
}

TEST(PostTrainingQuantization, TheRewrittenModelComputesWithTheQuantizedWeights) {
  Graph g;
  Node* x = g.input("x", {4, 8});
  Node* w1 = g.parameter("w1", uniform({8, 64}, 8, -0.5, 0.5));
  Node* w2 = g.parameter("w2", uniform({64, 3}, 9, -0.5, 0.5));
  Node* y = matmul(relu(matmul(x, w1)), w2);
  const Tensor input = uniform({4, 8}, 10, -1, 1);
  const std::vector<double> before = eval(y, {{x, input}}).to_doubles();
  for (WeightScheme s : {WeightScheme::int8_channel, WeightScheme::int4_group, WeightScheme::kmeans4}) {
    Graph g2;
    Node* x2 = g2.input("x", {4, 8});
    Node* v1 = g2.parameter("w1", w1->value.clone());
    Node* v2 = g2.parameter("w2", w2->value.clone());
    Node* y2 = matmul(relu(matmul(x2, v1)), v2);
    const std::vector<QuantizedWeight> q = quantize_model_weights({v1, v2}, s);
    ASSERT_EQ(q.size(), 2u);
    rewrite_with_quantized_weights({v1, v2}, q);
    const std::vector<double> after = eval(y2, {{x2, input}}).to_doubles();
    double worst = 0;
    for (size_t i = 0; i < after.size(); ++i) worst = std::max(worst, std::fabs(after[i] - before[i]));
    EXPECT_GT(worst, 0.0) << weight_scheme_name(s) << ": the model must now use the quantized weights";
    EXPECT_LT(worst, s == WeightScheme::int8_channel ? 0.02 : 0.3) << weight_scheme_name(s);
  }
}

TEST(StraightThrough, TheGradientPassesWhereTheCodeIsNotClampedAndStopsElsewhere) {
  // 4 bits, S = 0.1, Z = 1 per tensor: codes round(x/S) + Z in [−8, 7], so x passes for
  // round(x/0.1) in [−9, 6], i.e. x in [−0.95, 0.65) (up to the f32 ties at the edges).
  Graph g;
  const std::vector<double> xs = {-10, -0.94, -0.5, 0, 0.3, 0.64, 0.66, 10};
  const std::vector<double> ws = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> pass = {0, 1, 1, 1, 1, 1, 0, 0};
  Node* x = g.parameter("x", Tensor::from_values({8}, xs, DType::f32));
  Node* scale = g.constant(Tensor::full({}, 0.1, DType::f32));
  Node* zero = g.constant(Tensor::full({}, 1.0, DType::f32));
  Node* w = g.constant(Tensor::from_values({8}, ws, DType::f32));
  Node* loss = sum(mul(w, fake_quantize(x, scale, zero, 4)));
  const std::vector<Node*> grads = gradients(loss, {x});
  ASSERT_EQ(grads.size(), 1u);
  ASSERT_NE(grads[0], nullptr);
  const std::vector<double> got = eval(grads[0], {}).to_doubles();
  ASSERT_EQ(got.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(got[i], ws[i] * pass[i])
        << "x = " << xs[i] << ": x̄ = ȳ·w = " << ws[i] << " where the code is not clamped, "
        << "0 where it is (the straight-through estimator)";
}

}  // namespace
}  // namespace gw
