// test_lab05.cpp — public tests of lab 05 (quantization): the lecture's 4×4 example in 2 bits,
// round-trip error bounds per granularity, k-means on a known set, the integer-only matmul
// against exact int64 arithmetic, the post-training quantization of a small model, and the
// straight-through gradient of fake quantization (through your lab 04 gradients()).
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/quantize.h"
#include "observe.h"

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

// Whether `call` throws an E (observed for the grader). An untouched stub's NotImplemented
// does not count: the error must come from a check.
template <typename E>
bool throws(const std::string& what, const std::function<void()>& call) {
  bool thrown = false;
  try {
    call();
  } catch (const NotImplemented&) {
  } catch (const E&) {
    thrown = true;
  } catch (...) {
  }
  observe::flag(what + " is rejected", thrown);
  return thrown;
}

TEST(LectureExample, AsymmetricPerTensorTwoBitsGivesTheLecturesScaleZeroAndCodes) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, false));
  observe::count("scales", p.scale.numel());
  ASSERT_EQ(p.scale.numel(), 1) << "per tensor: one scale";
  EXPECT_NEAR(p.scale.item(), 1.0667, 1e-4) << "S = (r_max − r_min)/(q_max − q_min) = 3.2/3";
  EXPECT_EQ(p.zero_point.item(), -1.0) << "Z = round(q_min − r_min/S) = round(−0.9875)";
  const std::vector<double> want = {1, -2, 0, -1, -1, -1, -2, 1, -2, 1, -1, -2, 1, -1, 0, 0};
  observe::value("S", p.scale.item(), 2e-4);
  observe::value("Z", p.zero_point.item());
  const Tensor q = quantize(lecture_w(), p);
  observe::tensor("codes", q);
  EXPECT_EQ(q.dtype(), DType::i8) << "codes are i8 whatever the number of bits";
  EXPECT_EQ(q.to_doubles(), want) << "q = clamp(round(r/S) + Z, −2, 1), row by row";
}

TEST(LectureExample, SymmetricPerTensorTwoBitsHasScale2_12AndError2_28) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, true));
  observe::value("S", p.scale.item(), 2e-6);
  observe::value("Z", p.zero_point.item());
  observe::value("reconstruction error", reconstruction_error(lecture_w(), p), 1e-2);
  EXPECT_NEAR(p.scale.item(), 2.12, 1e-6) << "S = max|r| / q_max = 2.12 / 1";
  EXPECT_EQ(p.zero_point.item(), 0.0) << "symmetric: Z = 0";
  EXPECT_NEAR(reconstruction_error(lecture_w(), p), 2.28, 5e-3) << "‖W − S·q‖";
}

TEST(LectureExample, SymmetricPerChannelTwoBitsHasOneScalePerRowAndError2_08) {
  const QuantParams p = compute_qparams(lecture_w(), scheme(2, true, Granularity::per_channel, 0));
  observe::text("shape of the scales", shape_str(p.scale.shape()));
  observe::values("scales", p.scale.to_doubles(), 2e-6);
  observe::value("reconstruction error", reconstruction_error(lecture_w(), p), 1e-2);
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
    double worst = 0;  // the largest error in steps: at most 1/2 (the check below)
    for (size_t i = 0; i < r.size(); ++i)
      worst = std::max(worst, std::fabs(r[i] - back[i]) /
                                  scale[static_cast<size_t>(p.index_of(static_cast<int64_t>(i)))]);
    observe::value(std::to_string(s.bits) + "-bit scheme: largest error in steps", worst,
                   0.5 * (1 + 1e-5));
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
  observe::text("shape of the scales", shape_str(p.scale.shape()));
  observe::count("slot of element 9", p.index_of(9));
  observe::count("slot of element 14", p.index_of(14));
  EXPECT_EQ(p.scale.shape(), (Shape{3, 3})) << "⌈10/4⌉ = 3 groups per row";
  EXPECT_EQ(p.index_of(9), 2) << "element (0, 9) is in the third group of row 0";
  EXPECT_EQ(p.index_of(10 + 4), 4) << "element (1, 4) is in the second group of row 1";
}

TEST(EdgeCases, AConstantTensorHasAFiniteScaleAndRoundTrips) {
  for (double c : {0.0, 5.0, -3.5}) {
    const Tensor x = Tensor::full({2, 3}, c, DType::f32);
    for (bool sym : {false, true}) {
      const QuantParams p = compute_qparams(x, scheme(8, sym));
      const std::string what = "constant " + std::to_string(c) + (sym ? " symmetric" : "");
      observe::flag(what + ": the scale is finite and positive",
                    std::isfinite(p.scale.item()) && p.scale.item() > 0);
      ASSERT_TRUE(std::isfinite(p.scale.item()) && p.scale.item() > 0)
          << "constant " << c << ": S = |r|/q_max, or 1 when r = 0 — never 0 or NaN";
      const Tensor back_t = dequantize(quantize(x, p), p);
      observe::tensor(what + ": round trip", back_t, 2e-6);
      const std::vector<double> back = back_t.to_doubles();
      for (double v : back) EXPECT_NEAR(v, c, 1e-6) << "constant " << c << " symmetric " << sym;
    }
  }
}

TEST(EdgeCases, CodesSaturateAtBothEnds) {
  const QuantParams p = compute_qparams(Tensor::from_values({2}, {-1, 1}, DType::f32),
                                        scheme(4, true));
  const Tensor codes = quantize(Tensor::from_values({2}, {-100, 100}, DType::f32), p);
  observe::tensor("codes of −100 and 100", codes);
  const std::vector<double> q = codes.to_doubles();
  EXPECT_EQ(q, (std::vector<double>{-8, 7})) << "outside the range: clamp to [q_min, q_max]";
}

TEST(EdgeCases, TheZeroPointIsClampedWhenTheScaleRoundsDown) {
  // r = {−332·2⁻¹⁴⁹, 0} in 8 bits: S = 332/255 ≈ 1.3 smallest subnormals rounds down to one in
  // f32, and q_min − r_min/S = −128 + 332 = 204 is no code.
  const Tensor x = Tensor::from_values({2}, {-332 * std::ldexp(1.0, -149), 0.0}, DType::f32);
  const QuantParams p = compute_qparams(x, scheme(8, false));
  observe::value("Z", p.zero_point.item());
  EXPECT_EQ(p.zero_point.item(), 127.0)
      << "Z = round(q_min − r_min/S) clamped to [q_min, q_max]: 204 becomes 127";
  const Tensor codes = quantize(x, p);
  observe::tensor("codes", codes);
  EXPECT_EQ(codes.to_doubles(), (std::vector<double>{-128, 127}));
}

TEST(BadInput, BitsGroupSizeAxisAndNonFiniteValuesAreErrors) {
  const Tensor x = uniform({2, 3}, 5, -1, 1);
  // With good arguments the same x quantizes: the errors below are the arguments' fault.
  const QuantParams good = compute_qparams(x, scheme(8, false));
  observe::flag("S is finite and positive", std::isfinite(good.scale.item()) && good.scale.item() > 0);
  EXPECT_TRUE(std::isfinite(good.scale.item()) && good.scale.item() > 0);
  EXPECT_TRUE(throws<Error>("bits 1", [&] { compute_qparams(x, scheme(1, false)); }))
      << "bits below 2";
  EXPECT_TRUE(throws<Error>("bits 9", [&] { compute_qparams(x, scheme(9, false)); }))
      << "bits above 8";
  EXPECT_TRUE(throws<Error>("group size 0", [&] {
    compute_qparams(x, scheme(4, false, Granularity::per_group, 1, 0));
  }));
  EXPECT_TRUE(throws<Error>("axis 5", [&] {
    compute_qparams(x, scheme(4, false, Granularity::per_channel, 5));
  }));
  EXPECT_TRUE(throws<Error>("a NaN", [&] {
    compute_qparams(Tensor::from_values({2}, {1.0, NAN}, DType::f32), scheme(8, false));
  }));
  const QuantParams p01 = compute_qparams(Tensor::from_values({2}, {0, 1}, DType::f32), scheme(8, false));
  EXPECT_TRUE(throws<Error>("an infinity", [&] {
    quantize(Tensor::from_values({2}, {INFINITY, 0}, DType::f32), p01);
  }));
  const Tensor a = Tensor::zeros({2, 3}, DType::i8);
  EXPECT_TRUE(throws<ShapeError>("(2, 3)·(2, 3)", [&] {
    integer_matmul(a, 0, a, 0, FixedPointMultiplier{1 << 30, 0}, 0);
  })) << "integer_matmul of (2, 3) by (2, 3): the inner sizes differ, a gw::ShapeError";
  EXPECT_TRUE(throws<DTypeError>("f32 operands", [&] {
    integer_matmul(Tensor::zeros({2, 3}), 0, Tensor::zeros({3, 2}), 0, FixedPointMultiplier{1 << 30, 0}, 0);
  })) << "integer_matmul takes i8 codes: f32 operands are a gw::DTypeError";
}

TEST(KMeans, OneBitSplitsAKnownSetIntoItsTwoClusters) {
  const Tensor x = Tensor::from_values({6}, {0.0, 0.1, 0.2, 10.0, 10.1, 10.2}, DType::f32);
  const KMeansQuant k = kmeans_quantize(x, 1, 5);
  observe::tensor("codebook", k.codebook, 2e-5);
  observe::tensor("indices", k.indices);
  ASSERT_EQ(k.codebook.shape(), (Shape{2}));
  const std::vector<double> book = k.codebook.to_doubles();
  EXPECT_NEAR(book[0], 0.1, 1e-6) << "the mean of the low cluster";
  EXPECT_NEAR(book[1], 10.1, 1e-5) << "the mean of the high cluster";
  EXPECT_EQ(k.indices.to_doubles(), (std::vector<double>{0, 0, 0, 1, 1, 1}));
}

TEST(KMeans, CentroidsStartEvenlySpacedAndAnEmptyClusterStays) {
  // Zero iterations: the initial codebook min + j(max − min)/(2^N − 1).
  const Tensor x = Tensor::from_values({4}, {0.0, 0.0, 0.0, 3.0}, DType::f32);
  const Tensor start = kmeans_quantize(x, 2, 0).codebook;
  observe::tensor("codebook after 0 iterations", start, 1e-6);
  EXPECT_EQ(start.to_doubles(), (std::vector<double>{0, 1, 2, 3}));
  // Centroids 1 and 2 receive no element: they stay at 1 and 2.
  const Tensor after = kmeans_quantize(x, 2, 3).codebook;
  observe::tensor("codebook after 3 iterations", after, 1e-6);
  EXPECT_EQ(after.to_doubles(), (std::vector<double>{0, 1, 2, 3}));
}

TEST(KMeans, PerChannelCodebooksAndTheirValues) {
  const Tensor x = uniform({8, 3}, 6, -1, 1);
  const KMeansQuant k = kmeans_quantize(x, 2, 10, 1);
  observe::text("shape of the codebooks", shape_str(k.codebook.shape()));
  EXPECT_EQ(k.codebook.shape(), (Shape{3, 4})) << "one codebook of 4 per column";
  const std::vector<double> r = x.to_doubles(), v = kmeans_dequantize(k).to_doubles();
  double worst = 0;
  for (size_t i = 0; i < r.size(); ++i) worst = std::max(worst, std::fabs(r[i] - v[i]));
  observe::value("largest error", worst, 0.5);
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
  observe::flag("M0 ≥ 2^30", m.m0 >= 1 << 30);
  observe::value("M0·2^(−31−shift)", m.m0 * std::ldexp(1.0, -31 - m.shift), 2e-9);
  observe::count("shift of 0.3", m.shift);
  EXPECT_GE(m.m0, 1 << 30) << "M0 is the mantissa in [0.5, 1) as Q31";
  EXPECT_NEAR(m.m0 * std::ldexp(1.0, -31 - m.shift), 0.3, 1e-9);
  EXPECT_EQ(m.shift, 1) << "0.3 = 0.6 · 2^−1";
  EXPECT_TRUE(throws<Error>("M = 1.5", [] { quantize_multiplier(1.5); }));
  EXPECT_TRUE(throws<Error>("M = 0", [] { quantize_multiplier(0.0); }));
}

TEST(IntegerMatmul, RequantizeRoundsHalfAwayFromZeroAndSaturates) {
  const FixedPointMultiplier half{1 << 30, 0};  // M = 0.5
  observe::indices("requantized 5, −5, 1000, −1000",
                   {requantize(5, half, 0), requantize(-5, half, 0), requantize(1000, half, 0),
                    requantize(-1000, half, 10)});
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
  observe::tensor("y", y);
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
    observe::count(std::string(weight_scheme_name(s)) + ": quantized weights", static_cast<int64_t>(q.size()));
    ASSERT_EQ(q.size(), 2u);
    rewrite_with_quantized_weights({v1, v2}, q);
    const std::vector<double> after = eval(y2, {{x2, input}}).to_doubles();
    double worst = 0;
    for (size_t i = 0; i < after.size(); ++i) worst = std::max(worst, std::fabs(after[i] - before[i]));
    // Within the bound the test asserts: any answer inside it is right.
    observe::flag(std::string(weight_scheme_name(s)) + ": y changed", worst > 0);
    observe::value(std::string(weight_scheme_name(s)) + ": largest change of y", worst,
                   s == WeightScheme::int8_channel ? 0.02 : 0.3);
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
  observe::values("x̄ of sum(w ⊙ fake_quantize(x))", got);
  ASSERT_EQ(got.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(got[i], ws[i] * pass[i])
        << "x = " << xs[i] << ": x̄ = ȳ·w = " << ws[i] << " where the code is not clamped, "
        << "0 where it is (the straight-through estimator)";
}

}  // namespace
}  // namespace gw
