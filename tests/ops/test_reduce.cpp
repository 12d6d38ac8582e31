// test_reduce.cpp — Sum, Max and Mean over axis sets: CPU kernels against a naive f64
// reference, accuracy of long f32 sums, shape/dtype rules and counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gw/ops.h"
#include "ops_reference.h"
#include "op_cases.h"
#include "testing.h"

namespace gw {
namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const testing::OpCases kReduceCases({
    GW_OP_CASE("sum_axis", return sum(p({2, 3, 4}), {1});),
    GW_OP_CASE("sum_all", return sum(p({2, 3}));),
    GW_OP_CASE("sum_keepdims", return sum(p({2, 3}), {-1}, true);),
    GW_OP_CASE("sum_two_blocks", return sum(p({2, 3, 4}), {0, 2});),
    GW_OP_CASE("mean_axis", return mean(p({2, 3}), {0});),
    GW_OP_CASE("mean_keepdims", return mean(p({2, 3, 2}), {1, 2}, true);),
    GW_OP_CASE("max_axis", return max(p({3, 4}), {1});),
    GW_OP_CASE("max_all", return max(p({2, 3}));),
    GW_OP_CASE("max_keepdims", return max(p({2, 3, 4}), {0}, true);),
});

using testing::all_close;
using testing::naive_run;
using testing::random_tensor;

// Reference: every input element lands in the output element with its reduced axes zeroed.
Tensor reference(Op op, const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  const Shape& s = x.shape();
  const int64_t rank = static_cast<int64_t>(s.size());
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  std::vector<bool> red(s.size(), false);
  for (int64_t a : axes) red[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  Shape kept_dims = s, out;  // kept_dims: reduced axes set to 1
  for (size_t k = 0; k < s.size(); ++k) {
    if (red[k]) kept_dims[k] = 1;
    if (!red[k] || keepdims) out.push_back(kept_dims[k]);
  }
  const double start = op == Op::Max ? -INFINITY : 0.0;
  std::vector<double> acc(static_cast<size_t>(numel(out)), start);
  const std::vector<double> v = x.to_doubles();
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto idx = testing::unravel(i, s);
    for (size_t k = 0; k < s.size(); ++k)
      if (red[k]) idx[k] = 0;
    double& a = acc[static_cast<size_t>(testing::ravel(idx, kept_dims))];
    a = op == Op::Max ? std::max(a, v[static_cast<size_t>(i)]) : a + v[static_cast<size_t>(i)];
  }
  if (op == Op::Mean)
    for (double& a : acc) a /= static_cast<double>(x.numel()) / static_cast<double>(acc.size());
  return Tensor::from_values(out, acc, DType::f64);
}

Node* build(Op op, Node* x, const std::vector<int64_t>& axes, bool keepdims) {
  if (op == Op::Sum) return sum(x, axes, keepdims);
  if (op == Op::Max) return max(x, axes, keepdims);
  return mean(x, axes, keepdims);
}

void check(Op op, const Shape& shape, const std::vector<int64_t>& axes, bool keepdims, DType dtype,
           uint64_t seed) {
  std::string trace =
      std::string(op_name(op)) + " " + dtype_name(dtype) + " " + shape_str(shape) + " axes {";
  for (int64_t a : axes) trace += std::to_string(a) + " ";
  SCOPED_TRACE(trace + "}" + (keepdims ? " keepdims" : ""));
  const Tensor xv = random_tensor(shape, dtype, seed);
  Graph g;
  Node* x = g.input("x", shape, dtype);
  Node* y = build(op, x, axes, keepdims);
  const Tensor want = reference(op, xv, axes, keepdims);
  ASSERT_EQ(y->shape, want.shape());
  const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
  EXPECT_TRUE(all_close(naive_run(y, {{x, xv}}), want, tol, tol));
}

TEST(Reduce, SumMaxMeanMatchTheNaiveReferenceOverAxisSets) {
  const std::vector<std::vector<int64_t>> sets = {
      {}, {0}, {1}, {-1}, {0, 2}, {1, 3}, {0, 1, 3}, {-3, -1}, {3, 0}, {0, 1, 2, 3}};
  const Shape shapes[] = {{3, 4, 5, 6}, {2, 7, 1, 33}, {1, 9, 1, 1}};
  uint64_t seed = 1;
  for (Op op : {Op::Sum, Op::Max, Op::Mean})
    for (DType t : {DType::f32, DType::f64})
      for (const Shape& s : shapes)
        for (const auto& axes : sets)
          for (bool keep : {false, true}) check(op, s, axes, keep, t, seed++);
}

TEST(Reduce, LargeTensorsTakeTheThreadedPathsAndStayCorrect) {
  const std::vector<std::vector<int64_t>> sets = {{0}, {1}, {2}, {0, 2}, {}};
  uint64_t seed = 100;
  for (Op op : {Op::Sum, Op::Max, Op::Mean})
    for (const auto& axes : sets) check(op, {40, 50, 33}, axes, false, DType::f32, seed++);
  check(Op::Sum, {3, 40000}, {1}, true, DType::f32, seed++);  // few long rows, chunked
  // Few wide columns (a bias gradient (b·s, h) -> (h)): the rows are cut into chunks.
  for (Op op : {Op::Sum, Op::Max, Op::Mean}) {
    check(op, {4000, 130}, {0}, false, DType::f32, seed++);
    check(op, {3000, 300}, {0}, true, DType::f64, seed++);
  }
}

TEST(Reduce, OneAndRankZeroInputsReduceToThemselves) {
  for (Op op : {Op::Sum, Op::Max, Op::Mean}) {
    check(op, {}, {}, false, DType::f32, 1);
    check(op, {1}, {0}, false, DType::f64, 2);
    check(op, {7}, {0}, true, DType::f32, 3);
  }
}

TEST(Reduce, MillionElementF32SumKeepsF32Precision) {
  // Values in [0, 1): a float accumulator would drift by ~1e-4 relative after 1e6 additions.
  const Tensor xv = random_tensor({1000000}, DType::f32, 7, 0.0, 1.0);
  double want = 0;
  for (double v : xv.to_doubles()) want += v;
  Graph g;
  Node* x = g.input("x", {1000000});
  const double got = naive_run(sum(x), {{x, xv}}).item();
  EXPECT_NEAR(got, want, 1e-6 * want);
  const double got_mean = naive_run(mean(x), {{x, xv}}).item();
  EXPECT_NEAR(got_mean, want / 1e6, 1e-6 * want / 1e6);
}

TEST(Reduce, MaxPropagatesNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Graph g;
  Node* x = g.constant(Tensor::from_values({2, 3}, {1, nan, 3, 4, 5, 6}, DType::f32));
  const std::vector<double> got = naive_run(max(x, {1})).to_doubles();
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_EQ(got[1], 6);
}

TEST(Reduce, AxesAreNormalizedAndSortedInTheNode) {
  Graph g;
  Node* x = g.input("x", {2, 3, 4});
  EXPECT_EQ(sum(x, {-1, 0})->attrs.axes, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(mean(x)->attrs.axes, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(max(x, {1}, true)->shape, (Shape{2, 1, 4}));
}

TEST(Reduce, BadAxesAreShapeErrorsNamingTheOp) {
  Graph g;
  Node* x = g.input("x", {2, 3});
  std::string msg = testing::error_message<ShapeError>([&] { sum(x, {0, -2}); });
  EXPECT_NE(msg.find("sum"), std::string::npos) << msg;
  msg = testing::error_message<ShapeError>([&] { mean(x, {2}); });
  EXPECT_NE(msg.find("mean"), std::string::npos) << msg;
  Node* empty = g.input("e", {0, 3});
  msg = testing::error_message<ShapeError>([&] { max(empty, {0}); });
  EXPECT_NE(msg.find("max"), std::string::npos) << msg;
}

TEST(Reduce, IntegerInputIsADTypeErrorNamingTheOp) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::i32);
  const std::string msg = testing::error_message<DTypeError>([&] { max(x); });
  EXPECT_NE(msg.find("max"), std::string::npos) << msg;
}

// Lab 07's convention: k numbers take k − 1 adds (or comparisons); mean divides once more.
TEST(Reduce, FlopsAreKMinusOnePerOutputAndBytesTheInputPlusOutput) {
  Graph g;
  Node* x = g.input("x", {4, 5, 6});
  Node* s = sum(x, {1});
  Node* m = max(x, {0, 2}, true);
  Node* a = mean(x);
  EXPECT_EQ(s->def().flops(*s), 120 - 24) << "24 sums of 5";
  EXPECT_EQ(m->def().flops(*m), 120 - 5) << "5 maxima of 24";
  EXPECT_EQ(a->def().flops(*a), 119 + 1) << "119 adds and a divide";
  for (Node* y : {s, m, a})
    EXPECT_EQ(y->def().bytes(*y), 4.0 * (120 + numel(y->shape))) << y->str();
}

}  // namespace
}  // namespace gw
