// test_quant.cpp — Quantize, Dequantize and MatMulInt8 on the CPU (lab 05's formulas and its
// lecture example reproduced), and the AllReduce kernel's use of the run's Communicator.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "gw/ops.h"
#include "nn_testing.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using namespace gw::testing;

namespace {

// Fake quantization of an f64 case value: through f32 (the op's dtype) and back. Its gradient
// is the straight-through estimator, not the staircase's true (zero) derivative, so the
// numerical checks skip it; the rules' agreement and the CUDA twin still apply.
Node* fake_quantized(CaseLeaves& p, bool mask) {
  Node* x = cast(p({4, 6}, -1.0, 1.0), DType::f32);
  Node* scale = p.graph.constant(Tensor::full({6}, 0.05, DType::f32));
  Node* zero = p.graph.constant(Tensor::full({6}, 3.0, DType::f32));
  Node* y = mask ? fake_quantize_mask(x, scale, zero, 5, 1) : fake_quantize(x, scale, zero, 5, 1);
  return cast(y, p.dtype);
}
const OpCases kQuantCases({
    OpCase{"fake_quantize", [](CaseLeaves& p) { return fake_quantized(p, false); }, 1e-6, 1e-6,
           /*differentiable=*/false},
    OpCase{"fake_quantize_mask", [](CaseLeaves& p) { return fake_quantized(p, true); }},
});

// The lecture's 4×4 weight matrix (lab 05).
const std::vector<double> kLectureW = {2.09, -0.98, 1.48, 0.09,  0.05, -0.14, -1.08, 2.12,
                                       -0.91, 1.92, 0,    -1.03, 1.87, 0,     1.53,  1.49};

Tensor quantize_run(const Tensor& x, const Tensor& s, const Tensor& z, int bits, int64_t axis) {
  return run_op({x, s, z}, [&](Graph&, auto& in) { return quantize(in[0], in[1], in[2], bits, axis); });
}
Tensor dequantize_run(const Tensor& q, const Tensor& s, const Tensor& z, int64_t axis) {
  return run_op({q, s, z}, [&](Graph&, auto& in) { return dequantize(in[0], in[1], in[2], axis); });
}
Tensor scalar(double v) { return Tensor::from_values({}, {v}); }

// ‖W − S⊙q‖ (Frobenius) of a dequantized matrix.
double error_norm(const Tensor& r) {
  const std::vector<double> v = r.to_doubles();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += (v[i] - kLectureW[i]) * (v[i] - kLectureW[i]);
  return std::sqrt(s);
}

}  // namespace

TEST(Quantize, LectureAsymmetricTwoBitExample) {
  Tensor w = Tensor::from_values({4, 4}, kLectureW);
  const double s = (2.12 - -1.08) / (1 - -2);  // (r_max − r_min) / (q_max − q_min)
  const double z = std::nearbyint(-2 - -1.08 / s);
  EXPECT_NEAR(s, 1.0667, 1e-4);
  EXPECT_EQ(z, -1);
  Tensor q = quantize_run(w, scalar(s), scalar(z), 2, 0);
  EXPECT_EQ(q.dtype(), DType::i8);
  const std::vector<double> expect = {1, -2, 0, -1, -1, -1, -2, 1, -2, 1, -1, -2, 1, -1, 0, 0};
  EXPECT_EQ(q.to_doubles(), expect);
}

TEST(Quantize, LectureSymmetricPerTensorAndPerChannelErrors) {
  Tensor w = Tensor::from_values({4, 4}, kLectureW);
  Tensor zero = scalar(0);
  Tensor q = quantize_run(w, scalar(2.12), zero, 2, 0);
  EXPECT_NEAR(error_norm(dequantize_run(q, scalar(2.12), zero, 0)), 2.28, 5e-3);
  Tensor s = Tensor::from_values({4}, {2.09, 2.12, 1.92, 1.87});
  Tensor z = Tensor::zeros({4});
  Tensor qc = quantize_run(w, s, z, 2, 0);
  EXPECT_NEAR(error_norm(dequantize_run(qc, s, z, 0)), 2.08, 5e-3);
}

TEST(Quantize, RoundTripIsWithinHalfAStep) {
  for (int bits : {2, 4, 8}) {
    Tensor x = random_tensor({9, 13}, DType::f32, 50, -3, 5);
    const double qmin = -std::pow(2, bits - 1), qmax = std::pow(2, bits - 1) - 1;
    const double s = 8.0 / (qmax - qmin), z = std::nearbyint(qmin - -3 / s);
    Tensor r = dequantize_run(quantize_run(x, scalar(s), scalar(z), bits, 0), scalar(s),
                              scalar(z), 0);
    EXPECT_TRUE(all_close(r, x, s / 2 + 1e-5, 0)) << bits << " bits";
  }
}

TEST(Quantize, PerChannelAlongLastAxisUsesEachColumnsScale) {
  Tensor x = random_tensor({6, 5}, DType::f32, 51, -1, 1);
  Tensor s = Tensor::from_values({5}, {0.01, 0.02, 0.05, 0.1, 0.2});
  Tensor z = Tensor::from_values({5}, {0, 1, -2, 3, 0});
  Tensor q = quantize_run(x, s, z, 8, -1);
  const std::vector<double> xv = x.to_doubles(), qv = q.to_doubles(), sv = s.to_doubles(),
                            zv = z.to_doubles();
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = i % 5;
    const double expect =
        std::clamp(std::nearbyint(static_cast<float>(xv[i]) / static_cast<float>(sv[c])) + zv[c],
                   -128.0, 127.0);
    ASSERT_EQ(qv[i], expect) << "element " << i;
  }
  Tensor r = dequantize_run(q, s, z, 1);
  for (size_t i = 0; i < xv.size(); ++i)
    EXPECT_NEAR(r.to_doubles()[i], sv[i % 5] * (qv[i] - zv[i % 5]), 1e-6);
}

TEST(Quantize, OutOfRangeValuesClampToTheSignedRange) {
  Tensor x = Tensor::from_values({4}, {-100, -0.2, 0.2, 100});
  Tensor q = quantize_run(x, scalar(0.1), scalar(0), 4, 0);
  EXPECT_EQ(q.to_doubles(), (std::vector<double>{-8, -2, 2, 7}));
}

TEST(Quantize, TiesRoundHalfToEvenAsNumpyAndTorchDo) {
  Tensor x = Tensor::from_values({5}, {0.5, 1.5, 2.5, -0.5, -1.5});
  Tensor q = quantize_run(x, scalar(1), scalar(0), 8, 0);
  EXPECT_EQ(q.to_doubles(), (std::vector<double>{0, 2, 2, 0, -2}));
}

TEST(Quantize, BadBitsScalesAndDtypesAreErrors) {
  Graph g;
  Node* x = g.input("x", {3, 4});
  Node* s = g.input("s", {});
  EXPECT_THROW(quantize(x, s, s, 1), Error);
  EXPECT_THROW(quantize(x, s, s, 9), Error);
  EXPECT_THROW(quantize(x, g.input("s3", {4}), s, 8, 0), ShapeError);
  EXPECT_NO_THROW(quantize(x, g.input("s4", {4}), s, 8, 1));
  EXPECT_THROW(quantize(x, g.input("s5", {4}), s, 8, 2), ShapeError);
  EXPECT_THROW(quantize(g.input("xd", {3}, DType::f64), s, s, 8), DTypeError);
  EXPECT_THROW(dequantize(x, s, s), DTypeError);
  EXPECT_THROW(quantize_run(random_tensor({3}), scalar(0), scalar(0), 8, 0), Error);
}

TEST(MatMulInt8, ExactAgainstIntegerLoops) {
  std::mt19937 rng(52);
  std::uniform_int_distribution<int> u(-128, 127);
  for (auto [m, k, n] : {std::array<int64_t, 3>{1, 1, 1}, {7, 33, 5}, {64, 64, 64}, {3, 300, 2}}) {
    std::vector<int8_t> a(m * k), b(k * n);
    for (auto& x : a) x = static_cast<int8_t>(u(rng));
    for (auto& x : b) x = static_cast<int8_t>(u(rng));
    a[0] = b[0] = -128;  // the extreme product 16384 must not overflow
    Tensor c = run_op({Tensor::from_vector({m, k}, a), Tensor::from_vector({k, n}, b)},
                      [](Graph&, auto& in) { return matmul_int8(in[0], in[1]); });
    ASSERT_EQ(c.dtype(), DType::i32);
    const int32_t* cv = c.data<int32_t>();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int32_t acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += int32_t{a[i * k + p]} * int32_t{b[p * n + j]};
        ASSERT_EQ(cv[i * n + j], acc) << "m=" << m << " k=" << k << " n=" << n << " at " << i
                                      << "," << j;
      }
  }
}

TEST(MatMulInt8, ShapeAndDtypeErrors) {
  Graph g;
  EXPECT_THROW(matmul_int8(g.input("a", {2, 3}, DType::i8), g.input("b", {4, 2}, DType::i8)),
               ShapeError);
  EXPECT_THROW(matmul_int8(g.input("c", {2, 3}), g.input("d", {3, 2}, DType::i8)), DTypeError);
}

// The integer products count as lab 07 counts a float matmul, m·n·(2k − 1); the elementwise
// quantization ops count their arithmetic per element.
TEST(QuantOps, FlopCountsFollowTheExactMatmulConvention) {
  Graph g;
  Node* c = matmul_int8(g.input("a", {3, 5}, DType::i8), g.input("b", {5, 7}, DType::i8));
  EXPECT_EQ(c->def().flops(*c), 3.0 * 7 * (2 * 5 - 1));
  Node* x = g.input("x", {2, 4, 5});
  Node* y = quantized_linear(x, g.input("q", {5, 7}, DType::i8), g.input("s", {7}));
  EXPECT_EQ(y->def().flops(*y), 8.0 * 7 * (2 * 5 - 1) + 4.0 * 40 + 2.0 * 56)
      << "the GEMM, x's per-row quantization (abs, max, divides, rounding), the rescale";
  Node* s = g.input("scale", {});
  Node* z = g.input("zero", {});
  Node* fq = fake_quantize(x, s, z, 8, 0);
  EXPECT_EQ(fq->def().flops(*fq), 6.0 * 40) << "divide, round, add Z, clamp, subtract, scale";
  Node* q = quantize(x, s, z, 8, 0);
  EXPECT_EQ(q->def().flops(*q), 4.0 * 40);
  Node* r = dequantize(q, s, z, 0);
  EXPECT_EQ(r->def().flops(*r), 2.0 * 40);
}
