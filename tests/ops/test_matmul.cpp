// test_matmul.cpp — MatMul: the CPU kernel against a naive f64 triple loop on odd shapes,
// batched and shared-b, all four transpose combinations; shape and dtype errors; FLOPs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gw/ops.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using gw::testing::all_close;
using gw::testing::naive_run;
using gw::testing::random_tensor;

namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const gw::testing::OpCases kMatmulCases({
    GW_OP_CASE("matmul", return matmul(p({2, 3}), p({3, 4}));),
    GW_OP_CASE("matmul_ta", return matmul(p({3, 2}), p({3, 4}), true, false);),
    GW_OP_CASE("matmul_tb", return matmul(p({2, 3}), p({4, 3}), false, true);),
    GW_OP_CASE("matmul_ta_tb", return matmul(p({3, 2}), p({4, 3}), true, true);),
    GW_OP_CASE("matmul_batched", return matmul(p({2, 2, 3}), p({2, 3, 4}));),
    GW_OP_CASE("matmul_shared_b", return matmul(p({2, 2, 3}), p({3, 4}));),
    GW_OP_CASE("matmul_shared_b_tb", return matmul(p({2, 2, 3}), p({4, 3}), false, true);),
    GW_OP_CASE("matmul_shared_b_ta", return matmul(p({2, 3, 2}), p({3, 4}), true, false);),
});

// A stored (..., rows, cols) operand seen as its logical (..., r, c) matrix: transposed
// operands are stored (..., c, r).
double at(const std::vector<double>& x, int64_t batch_offset, int64_t r, int64_t c,
          int64_t stored_cols, bool transposed) {
  return transposed ? x[batch_offset + c * stored_cols + r] : x[batch_offset + r * stored_cols + c];
}

// c (batch, m, n) = op(a) op(b) in f64; b shared when `shared_b`.
Tensor reference_matmul(const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t k,
                        int64_t n, bool ta, bool tb, bool shared_b, const Shape& out_shape) {
  const std::vector<double> av = a.to_doubles(), bv = b.to_doubles();
  std::vector<double> c(static_cast<size_t>(batch * m * n));
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += at(av, p * m * k, i, q, ta ? m : k, ta) *
                 at(bv, shared_b ? 0 : p * k * n, q, j, tb ? k : n, tb);
        c[static_cast<size_t>((p * m + i) * n + j)] = acc;
      }
  return Tensor::from_values(out_shape, c, DType::f64);
}

// Builds matmul on random operands of the given logical sizes and compares with the loop.
::testing::AssertionResult check_matmul(Shape batch_dims, int64_t m, int64_t k, int64_t n,
                                        bool ta, bool tb, bool shared_b, DType dtype,
                                        uint64_t seed) {
  Shape sa = batch_dims, sb = shared_b ? Shape{} : batch_dims;
  sa.push_back(ta ? k : m);
  sa.push_back(ta ? m : k);
  sb.push_back(tb ? n : k);
  sb.push_back(tb ? k : n);
  Graph g;
  Tensor a = random_tensor(sa, dtype, seed), b = random_tensor(sb, dtype, seed + 100);
  Node* c = matmul(g.constant(a), g.constant(b), ta, tb);
  int64_t batch = numel(batch_dims);
  Shape out = batch_dims;
  out.push_back(m);
  out.push_back(n);
  if (c->shape != out)
    return ::testing::AssertionFailure() << "inferred " << shape_str(c->shape) << ", expected "
                                         << shape_str(out);
  const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
  return all_close(naive_run(c).astype(DType::f64),
                   reference_matmul(a, b, batch, m, k, n, ta, tb, shared_b, out), tol, tol);
}

std::string case_name(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  return "m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
         " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
}

const int64_t kSizes[] = {1, 7, 33, 64};

}  // namespace

TEST(MatMul, TwoDMatchesNaiveLoopOnOddShapesAndAllTransposes) {
  for (int64_t m : kSizes)
    for (int64_t k : kSizes)
      for (int64_t n : kSizes)
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            SCOPED_TRACE(case_name(m, k, n, ta, tb));
            EXPECT_TRUE(check_matmul({}, m, k, n, ta, tb, true, DType::f32, m * 31 + k + n));
          }
}

TEST(MatMul, BatchedMatchesNaiveLoopWithAllTransposes) {
  for (int64_t m : {1, 7, 33})
    for (int64_t k : {7, 64})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          SCOPED_TRACE(case_name(m, k, 33, ta, tb));
          EXPECT_TRUE(check_matmul({2, 3}, m, k, 33, ta, tb, false, DType::f32, 7));
        }
}

TEST(MatMul, SharedTwoDWeightIsUsedByEveryBatch) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(case_name(7, 33, 64, ta, tb));
      EXPECT_TRUE(check_matmul({3, 5}, 7, 33, 64, ta, tb, true, DType::f32, 11));
    }
}

TEST(MatMul, ManySmallBatchedGemmsRunInParallelCorrectly) {
  // 48 heads of (64 × 32)·(32 × 64): the per-head products of attention, threaded by batch
  EXPECT_TRUE(check_matmul({12, 4}, 64, 32, 64, false, true, false, DType::f32, 5));
}

TEST(MatMul, LargeGemmThreadedByOpenBlasMatches) {
  EXPECT_TRUE(check_matmul({2}, 128, 96, 160, false, false, false, DType::f32, 3));
}

TEST(MatMul, F64IsExactToRounding) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      EXPECT_TRUE(check_matmul({2}, 7, 33, 5, ta, tb, false, DType::f64, 9));
  EXPECT_TRUE(check_matmul({4}, 7, 33, 5, false, false, true, DType::f64, 10));
}

TEST(MatMul, ZeroInnerDimensionGivesZeros) {
  Graph g;
  Node* c = matmul(g.constant(Tensor::zeros({3, 0})), g.constant(Tensor::zeros({0, 4})));
  Tensor out = naive_run(c);
  ASSERT_EQ(out.shape(), (Shape{3, 4}));
  for (double x : out.to_doubles()) EXPECT_EQ(x, 0.0);
}

// Lab 07's convention: m·n outputs of k multiplies and k − 1 adds each.
TEST(MatMul, FlopsAreBatchMNTimesTwoKMinusOne) {
  Graph g;
  Node* c = matmul(g.input("a", {2, 3, 7, 5}), g.input("b", {5, 11}));
  EXPECT_DOUBLE_EQ(c->def().flops(*c), 6.0 * 7 * 11 * (2 * 5 - 1));
  Node* t = matmul(g.input("x", {4, 5, 7}), g.input("y", {4, 11, 5}), true, true);
  EXPECT_EQ(t->shape, (Shape{4, 7, 11}));
  EXPECT_DOUBLE_EQ(t->def().flops(*t), 4.0 * 7 * 11 * (2 * 5 - 1));
}

TEST(MatMul, InnerDimensionMismatchIsShapeErrorNamingShapes) {
  Graph g;
  try {
    matmul(g.input("a", {2, 3}), g.input("b", {4, 5}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(2, 3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(4, 5)"), std::string::npos) << msg;
  }
  // the transpose flag changes which axis is inner: (3, 2)ᵀ·(4, 5) still mismatches
  EXPECT_THROW(matmul(g.input("c", {3, 2}), g.input("d", {4, 5}), true), ShapeError);
  EXPECT_NO_THROW(matmul(g.input("e", {3, 2}), g.input("f", {3, 5}), true));
}

TEST(MatMul, BatchMismatchAndLowRankAreShapeErrors) {
  Graph g;
  EXPECT_THROW(matmul(g.input("a", {2, 3, 4}), g.input("b", {3, 4, 5})), ShapeError);
  EXPECT_THROW(matmul(g.input("c", {2, 3, 4}), g.input("d", {1, 2, 4, 5})), ShapeError);
  EXPECT_THROW(matmul(g.input("e", {4}), g.input("f", {4, 5})), ShapeError);
  // a 2-D a with a batched b is not a shared case either
  EXPECT_THROW(matmul(g.input("h", {3, 4}), g.input("i", {2, 4, 5})), ShapeError);
}

TEST(MatMul, MixedOrIntegerDtypesAreDTypeErrors) {
  Graph g;
  EXPECT_THROW(matmul(g.input("a", {2, 3}), g.input("b", {3, 4}, DType::f64)), DTypeError);
  EXPECT_THROW(matmul(g.input("c", {2, 3}, DType::i32), g.input("d", {3, 4}, DType::i32)),
               DTypeError);
  const size_t before = g.size();
  EXPECT_THROW(matmul(g.input("e", {2, 3}), g.input("f", {4, 4})), ShapeError);
  EXPECT_EQ(g.size(), before + 2) << "a failed matmul must not add a node";
}
