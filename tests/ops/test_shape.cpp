// test_shape.cpp — Reshape, Permute, Broadcast, Slice, Concat and the builders transpose and
// sum_to: CPU kernels against naive index-walking references for several dtypes, shape
// rules, errors and counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "gw/ops.h"
#include "ops_reference.h"
#include "op_cases.h"
#include "testing.h"

namespace gw {
namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const testing::OpCases kShapeCases({
    GW_OP_CASE("reshape", return reshape(p({2, 3}), {3, 2});),
    GW_OP_CASE("permute", return permute(p({2, 3, 4}), {2, 0, 1});),
    GW_OP_CASE("transpose", return transpose(p({2, 3, 4}));),
    GW_OP_CASE("broadcast", return broadcast_to(p({2, 1}), {2, 3});),
    GW_OP_CASE("broadcast_new_axes", return broadcast_to(p({3}), {2, 4, 3});),
    GW_OP_CASE("slice", return slice(p({3, 5}), 1, 1, 3);),
    GW_OP_CASE("slice_from_start", return slice(p({4, 2}), 0, 0, 2);),
    GW_OP_CASE("concat", return concat({p({2, 3}), p({2, 2}), p({2, 1})}, 1);),
});

using testing::all_close;
using testing::naive_run;
using testing::random_tensor;
using testing::ravel;
using testing::unravel;

// Shape kernels copy bytes, so each is checked on every element size (8, 4, 2 and 1 bytes).
const DType kTypes[] = {DType::f64, DType::f32, DType::bf16, DType::i32, DType::i8};

// Random values that every dtype above stores exactly (integers in [-100, 100]).
Tensor random_exact(const Shape& s, DType t, uint64_t seed) {
  std::vector<double> v = random_tensor(s, DType::f64, seed, -100, 100).to_doubles();
  for (double& e : v) e = std::round(e);
  return Tensor::from_values(s, v, t);
}

// ---- Reshape -------------------------------------------------------------------------------
TEST(Shape, ReshapeResolvesMinusOneAndKeepsTheValues) {
  const Tensor xv = random_exact({4, 6, 5}, DType::f32, 1);
  Graph g;
  Node* x = g.input("x", {4, 6, 5});
  Node* y = reshape(x, {-1, 10});
  EXPECT_EQ(y->shape, (Shape{12, 10}));
  EXPECT_EQ(y->attrs.shape, (Shape{12, 10}));
  EXPECT_TRUE(y->def().is_view);
  const Tensor got = naive_run(y, {{x, xv}});
  EXPECT_EQ(got.shape(), (Shape{12, 10}));
  EXPECT_EQ(got.to_doubles(), xv.to_doubles());
  EXPECT_EQ(reshape(g.input("one", {1, 1}), {})->shape, Shape{});
}

TEST(Shape, ReshapeRejectsTwoMinusOnesAndNumelChanges) {
  Graph g;
  Node* x = g.input("x", {4, 6});
  std::string msg = testing::error_message<ShapeError>([&] { reshape(x, {-1, -1}); });
  EXPECT_NE(msg.find("reshape"), std::string::npos) << msg;
  msg = testing::error_message<ShapeError>([&] { reshape(x, {5, 5}); });
  EXPECT_NE(msg.find("reshape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(4, 6)"), std::string::npos) << msg;
  EXPECT_THROW(reshape(x, {-1, 7}), ShapeError);
}

// ---- Permute -------------------------------------------------------------------------------
// Reference: out[i] = x[j] with j[perm[k]] = i[k].
std::vector<double> permuted(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape out;
  for (int64_t p : perm) out.push_back(x.shape()[static_cast<size_t>(p)]);
  const std::vector<double> v = x.to_doubles();
  std::vector<double> r(v.size());
  for (int64_t i = 0; i < numel(out); ++i) {
    const auto oi = unravel(i, out);
    std::vector<int64_t> ii(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) ii[static_cast<size_t>(perm[k])] = oi[k];
    r[static_cast<size_t>(i)] = v[static_cast<size_t>(ravel(ii, x.shape()))];
  }
  return r;
}

TEST(Shape, PermuteMatchesTheReferenceForEveryPermutationOf4DAndEveryDType) {
  const Shape s = {2, 3, 1, 5};
  std::vector<int64_t> perm = {0, 1, 2, 3};
  uint64_t seed = 1;
  do {
    for (DType t : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " perm " + std::to_string(perm[0]) +
                   std::to_string(perm[1]) + std::to_string(perm[2]) + std::to_string(perm[3]));
      const Tensor xv = random_exact(s, t, seed++);
      Graph g;
      Node* x = g.input("x", s, t);
      const Tensor got = naive_run(permute(x, perm), {{x, xv}});
      EXPECT_EQ(got.dtype(), t);
      EXPECT_EQ(got.to_doubles(), permuted(xv, perm));
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
}

TEST(Shape, PermuteOfALarge3DTensorMatchesTheReference) {
  const Tensor xv = random_tensor({33, 40, 27}, DType::f32, 3);  // 35640: threaded
  Graph g;
  Node* x = g.input("x", {33, 40, 27});
  for (std::vector<int64_t> perm : {std::vector<int64_t>{2, 0, 1}, {1, 2, 0}, {0, 2, 1}})
    EXPECT_EQ(naive_run(permute(x, perm), {{x, xv}}).to_doubles(), permuted(xv, perm));
}

TEST(Shape, TransposeSwapsTheLastTwoAxesByDefault) {
  Graph g;
  Node* x = g.input("x", {2, 3, 4});
  EXPECT_EQ(transpose(x)->attrs.perm, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(transpose(x)->shape, (Shape{2, 4, 3}));
  EXPECT_EQ(transpose(x, 0, -1)->shape, (Shape{4, 3, 2}));
}

TEST(Shape, PermuteRejectsRepeatedOrMissingAxes) {
  Graph g;
  Node* x = g.input("x", {2, 3, 4});
  std::string msg = testing::error_message<ShapeError>([&] { permute(x, {0, 0, 1}); });
  EXPECT_NE(msg.find("permute"), std::string::npos) << msg;
  msg = testing::error_message<ShapeError>([&] { permute(x, {1, 0}); });
  EXPECT_NE(msg.find("permute"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(2, 3, 4)"), std::string::npos) << msg;
}

// ---- Broadcast and sum_to ----------------------------------------------------------------
TEST(Shape, BroadcastMatchesTheReferenceForEveryDType) {
  const std::pair<Shape, Shape> cases[] = {{{}, {3, 4}},        {{4, 1, 3}, {5, 4, 2, 3}},
                                           {{1}, {7}},          {{3, 1}, {3, 5}},
                                           {{1, 4}, {3, 4}},    {{2, 1, 1}, {2, 3, 4}},
                                           {{1, 200}, {200, 200}}};
  uint64_t seed = 1;
  for (const auto& [from, to] : cases)
    for (DType t : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + shape_str(from) + " -> " + shape_str(to));
      const Tensor xv = random_exact(from, t, seed++);
      Graph g;
      Node* x = g.input("x", from, t);
      Node* y = broadcast_to(x, to);
      ASSERT_EQ(y->op, Op::Broadcast);
      const std::vector<double> v = xv.to_doubles();
      std::vector<double> want(static_cast<size_t>(numel(to)));
      for (int64_t i = 0; i < numel(to); ++i)
        want[static_cast<size_t>(i)] =
            v[static_cast<size_t>(testing::broadcast_source(unravel(i, to), from, to))];
      EXPECT_EQ(naive_run(y, {{x, xv}}).to_doubles(), want);
    }
}

TEST(Shape, BroadcastToTheSameShapeReturnsTheInputItself) {
  Graph g;
  Node* x = g.input("x", {2, 3});
  EXPECT_EQ(broadcast_to(x, {2, 3}), x);
  EXPECT_EQ(sum_to(x, {2, 3}), x);
  EXPECT_EQ(g.size(), 1u);
}

TEST(Shape, BroadcastRejectsShapesThatDoNotFit) {
  Graph g;
  Node* x = g.input("x", {3});
  std::string msg = testing::error_message<ShapeError>([&] { broadcast_to(x, {4}); });
  EXPECT_NE(msg.find("broadcast"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3)"), std::string::npos) << msg;
  EXPECT_THROW(broadcast_to(g.input("y", {2, 3}), {3}), ShapeError);
}

TEST(Shape, SumToUndoesABroadcastBySummingTheBroadcastAxes) {
  // y (5, 4, 2, 3) from (4, 1, 3): sum_to sums axes 0 and 2 and keeps the shape (4, 1, 3).
  const Tensor yv = random_tensor({5, 4, 2, 3}, DType::f64, 4);
  Graph g;
  Node* y = g.input("y", {5, 4, 2, 3}, DType::f64);
  Node* s = sum_to(y, {4, 1, 3});
  EXPECT_EQ(s->shape, (Shape{4, 1, 3}));
  const std::vector<double> v = yv.to_doubles();
  std::vector<double> want(12, 0.0);
  for (int64_t i = 0; i < 120; ++i) {
    const auto idx = unravel(i, {5, 4, 2, 3});
    want[static_cast<size_t>(idx[1] * 3 + idx[3])] += v[static_cast<size_t>(i)];
  }
  EXPECT_TRUE(all_close(naive_run(s, {{y, yv}}), Tensor::from_values({4, 1, 3}, want, DType::f64),
                        1e-12, 1e-12));
  EXPECT_EQ(sum_to(y, {})->shape, Shape{});
  EXPECT_EQ(sum_to(g.input("z", {1, 3}), {3})->op, Op::Reshape) << "nothing to sum";
}

TEST(Shape, SumToRejectsATargetThatDoesNotBroadcast) {
  Graph g;
  Node* y = g.input("y", {4, 3});
  const std::string msg = testing::error_message<ShapeError>([&] { sum_to(y, {2, 3}); });
  EXPECT_NE(msg.find("sum_to"), std::string::npos) << msg;
}

// ---- Slice ----------------------------------------------------------------------------------
TEST(Shape, SliceMatchesTheReferenceOnEveryAxisAndDType) {
  const Shape s = {3, 4, 5, 6};
  uint64_t seed = 1;
  for (int64_t axis = 0; axis < 4; ++axis)
    for (DType t : kTypes) {
      const int64_t d = s[static_cast<size_t>(axis)];
      for (auto [start, end] : {std::pair<int64_t, int64_t>{1, d - 1}, {0, 1}, {d - 1, d}}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " axis " + std::to_string(axis) + " [" +
                     std::to_string(start) + ", " + std::to_string(end) + ")");
        const Tensor xv = random_exact(s, t, seed++);
        Graph g;
        Node* x = g.input("x", s, t);
        Node* y = slice(x, axis, start, end);
        Shape out = s;
        out[static_cast<size_t>(axis)] = end - start;
        ASSERT_EQ(y->shape, out);
        const std::vector<double> v = xv.to_doubles();
        std::vector<double> want(static_cast<size_t>(numel(out)));
        for (int64_t i = 0; i < numel(out); ++i) {
          auto idx = unravel(i, out);
          idx[static_cast<size_t>(axis)] += start;
          want[static_cast<size_t>(i)] = v[static_cast<size_t>(ravel(idx, s))];
        }
        EXPECT_EQ(naive_run(y, {{x, xv}}).to_doubles(), want);
      }
    }
}

TEST(Shape, SliceNormalizesNegativeIndicesWhenBuilt) {
  Graph g;
  Node* x = g.input("x", {3, 10});
  Node* y = slice(x, -1, -4, -1);
  EXPECT_EQ(y->attrs.axis, 1);
  EXPECT_EQ(y->attrs.start, 6);
  EXPECT_EQ(y->attrs.end, 9);
  EXPECT_EQ(y->shape, (Shape{3, 3}));
  const Tensor xv = random_tensor({3, 10}, DType::f32, 2);
  const std::vector<double> v = xv.to_doubles(), got = naive_run(y, {{x, xv}}).to_doubles();
  EXPECT_EQ(got[0], v[6]);
  EXPECT_EQ(got[8], v[28]);  // row 2, column 6 + 2
}

TEST(Shape, SliceOutOfRangeIsAShapeErrorNamingTheOp) {
  Graph g;
  Node* x = g.input("x", {3, 10});
  std::string msg = testing::error_message<ShapeError>([&] { slice(x, 1, 2, 11); });
  EXPECT_NE(msg.find("slice"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3, 10)"), std::string::npos) << msg;
  EXPECT_THROW(slice(x, 1, 5, 4), ShapeError);
  EXPECT_THROW(slice(x, 2, 0, 1), ShapeError);
}

// ---- Concat ---------------------------------------------------------------------------------
TEST(Shape, ConcatMatchesTheReferenceOnEveryAxisAndDType) {
  uint64_t seed = 1;
  for (int64_t axis = -3; axis < 3; ++axis)
    for (DType t : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " axis " + std::to_string(axis));
      const int64_t a = axis < 0 ? axis + 3 : axis;
      Graph g;
      std::vector<Node*> xs;
      std::vector<Tensor> values;
      std::unordered_map<const Node*, Tensor> feeds;
      for (int64_t size : {2, 1, 3}) {
        Shape s = {4, 5, 6};
        s[static_cast<size_t>(a)] = size;
        values.push_back(random_exact(s, t, seed++));
        xs.push_back(g.input("x" + std::to_string(size), s, t));
        feeds[xs.back()] = values.back();
      }
      Node* y = concat(xs, axis);
      Shape out = {4, 5, 6};
      out[static_cast<size_t>(a)] = 6;
      ASSERT_EQ(y->shape, out);
      // Reference: the index along the axis picks the input and the index inside it.
      std::vector<double> want(static_cast<size_t>(numel(out)));
      for (int64_t i = 0; i < numel(out); ++i) {
        auto idx = unravel(i, out);
        int64_t& along = idx[static_cast<size_t>(a)];
        size_t which = 0;
        while (along >= values[which].shape()[static_cast<size_t>(a)])
          along -= values[which++].shape()[static_cast<size_t>(a)];
        want[static_cast<size_t>(i)] =
            values[which].to_doubles()[static_cast<size_t>(ravel(idx, values[which].shape()))];
      }
      EXPECT_EQ(naive_run(y, feeds).to_doubles(), want);
    }
}

TEST(Shape, ConcatOfOneInputReturnsIt) {
  Graph g;
  Node* x = g.input("x", {2, 3});
  EXPECT_EQ(concat({x}, 1), x);
}

TEST(Shape, ConcatRejectsMismatchedShapesAndDTypes) {
  Graph g;
  Node* a = g.input("a", {2, 3});
  Node* b = g.input("b", {3, 3});
  std::string msg = testing::error_message<ShapeError>([&] { concat({a, b}, 1); });
  EXPECT_NE(msg.find("concat"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(3, 3)"), std::string::npos) << msg;
  EXPECT_EQ(concat({a, b}, 0)->shape, (Shape{5, 3}));
  Node* c = g.input("c", {2, 3}, DType::f64);
  msg = testing::error_message<DTypeError>([&] { concat({a, c}, 0); });
  EXPECT_NE(msg.find("concat"), std::string::npos) << msg;
}

// ---- counts ---------------------------------------------------------------------------------
TEST(Shape, ShapeOpsDoNoFlopsAndMoveInputPlusOutputBytes) {
  Graph g;
  Node* x = g.input("x", {4, 6});
  for (Node* y : {reshape(x, {6, 4}), permute(x, {1, 0}), broadcast_to(x, {2, 4, 6}),
                  slice(x, 1, 0, 3), concat({x, x}, 0)}) {
    EXPECT_EQ(y->def().flops(*y), 0) << y->str();
    double in = 0;
    for (Node* i : y->inputs) in += 4.0 * numel(i->shape);
    EXPECT_EQ(y->def().bytes(*y), in + 4.0 * numel(y->shape)) << y->str();
  }
}

}  // namespace
}  // namespace gw
