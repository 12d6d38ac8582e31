// test_lab03.cpp — public tests of lab 03 (reverse mode): the topological sort, the lecture's
// reverse trace v̄7 … v̄1 through backprop, adjoints summed over several consumers,
// broadcasting, the backward loop's errors (an op without a rule, a rule that returns the
// wrong shape), 10⁵-node chains on a 256 KiB stack (no recursion), and each of the twenty
// VJP rules on its own against central differences (the tests' own oracle, not your lab 01).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gw/autodiff.h"
#include "lab_testing.h"

namespace gw {
namespace {

using labs::near;
using labs::scalar_tensor;

const char* const kExplicitStack =
    "a recursive walk (a function or a lambda calling itself) overflows a small stack on a "
    "chain of 10⁵ nodes: use an explicit stack";

// ---- topological_order ----------------------------------------------------------------------

TEST(TopologicalOrder, PutsEveryNodeAfterItsInputs) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  EXPECT_TRUE(labs::is_topological(topological_order({l.y}), {l.y}));
}

TEST(TopologicalOrder, HoldsOnlyWhatTheOutputNeeds) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  Node* unrelated = exp(l.x1);
  (void)unrelated;
  const std::vector<Node*> order = topological_order({l.v4});
  EXPECT_EQ(order.size(), 3u) << "v4 = x1·x2 depends on x1, x2 and itself only";
  EXPECT_TRUE(labs::is_topological(order, {l.v4}));
}

TEST(TopologicalOrder, ListsNodesSharedBySeveralOutputsOnce) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  EXPECT_TRUE(labs::is_topological(topological_order({l.v4, l.y, l.v5}), {l.v4, l.y, l.v5}))
      << "v4 and v5 are outputs and also inputs of y: each node appears once";
}

TEST(TopologicalOrder, SortsAChainOf100000NodesWithoutOverflowingTheStack) {
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = labs::long_chain(x, 100000);
  const ::testing::AssertionResult result = labs::on_small_stack(kExplicitStack, [&] {
    const std::vector<Node*> order = topological_order({v});
    observe::count("nodes in the order", static_cast<int64_t>(order.size()));
    observe::flag("x first and the output last", !order.empty() && order.front() == x && order.back() == v);
    if (order.size() != 100001u || order.front() != x || order.back() != v)
      return ::testing::AssertionFailure()
             << "expected the 100001 nodes of the chain, x first and the output last; got "
             << order.size() << " nodes";
    return ::testing::AssertionSuccess();
  });
  EXPECT_TRUE(result);
}

// ---- backprop -------------------------------------------------------------------------------

// The lecture graph at (2, 5) and its adjoints.
struct LectureBackprop {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  std::unordered_map<const Node*, Tensor> adj =
      backprop(l.y, {{l.x1, scalar_tensor(2)}, {l.x2, scalar_tensor(5)}});
  Tensor of(Node* n) const {
    auto it = adj.find(n);
    return it == adj.end() ? Tensor() : it->second;
  }
};

TEST(Backprop, ReproducesTheLectureReverseTrace) {
  LectureBackprop b;
  EXPECT_TRUE(near("v̄7 = ȳ", b.of(b.l.y), 1.0, 1e-12, "the output is seeded with 1"));
  EXPECT_TRUE(near("v̄6", b.of(b.l.v6), 1.0, 1e-12, "v̄6 = v̄7·∂v7/∂v6"));
  EXPECT_TRUE(near("v̄5", b.of(b.l.v5), -1.0, 1e-12, "v7 = v6 − v5, so v̄5 = −v̄7"));
  EXPECT_TRUE(near("v̄4", b.of(b.l.v4), 1.0, 1e-12));
  EXPECT_TRUE(near("v̄3", b.of(b.l.v3), 1.0, 1e-12));
}

TEST(Backprop, AdjointOfX2SumsOverSinAndMul) {
  LectureBackprop b;
  EXPECT_TRUE(near("v̄2 = ∂y/∂x2", b.of(b.l.x2), 2 - std::cos(5.0), 1e-9,
                   "x2 feeds sin and mul: v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716"));
}

TEST(Backprop, AdjointOfX1SumsOverLnAndMul) {
  LectureBackprop b;
  EXPECT_TRUE(near("v̄1 = ∂y/∂x1", b.of(b.l.x1), 5.5, 1e-9,
                   "adjoint of x1 should sum over both consumers (ln and mul): "
                   "v̄1 = v̄4·v2 + v̄3/v1 = 5 + 0.5"));
}

TEST(Backprop, BroadcastingGraphMatchesCentralDifferences) {
  // y = Σ relu(x W + b) ∘ c: b (4) is broadcast over the 3 rows, c (3, 1) over columns.
  Graph g;
  Node* x = g.input("x", {3, 2}, DType::f64);
  Node* w = g.input("W", {2, 4}, DType::f64);
  Node* b = g.input("b", {4}, DType::f64);
  Node* c = g.input("c", {3, 1}, DType::f64);
  Node* y = sum(mul(relu(add(matmul(x, w), b)), c));
  const Feeds at{{x, labs::uniform({3, 2}, 1)},
                 {w, labs::uniform({2, 4}, 2)},
                 {b, labs::uniform({4}, 3)},
                 {c, labs::uniform({3, 1}, 4)}};
  const auto adj = backprop(y, at);
  for (Node* in : {x, w, b, c}) {
    ASSERT_TRUE(adj.count(in)) << "no adjoint for " << in->name;
    EXPECT_TRUE(labs::close("adjoint of " + in->name, adj.at(in), labs::oracle_gradient(y, in, at),
                            1e-6, 1e-6))
        << "a broadcast input's adjoint is summed back to its own shape";
  }
}

TEST(Backprop, NonScalarOutputIsSeededWithOnes) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* y = exp(x);
  const Feeds at{{x, labs::uniform({2, 3}, 5)}};
  const auto adj = backprop(y, at);
  ASSERT_TRUE(adj.count(x));
  EXPECT_TRUE(labs::close("adjoint of x for y = exp(x), ȳ = ones", adj.at(x), eval(y, at)));
}

TEST(Backprop, IntegerTargetsGetNoAdjoint) {
  Graph g;
  Node* logits = g.input("logits", {2, 3}, DType::f64);
  Node* targets = g.input("t", {2}, DType::i32);
  Node* loss = sum(softmax_cross_entropy(logits, targets));
  const Feeds at{{logits, labs::uniform({2, 3}, 6)},
                 {targets, Tensor::from_values({2}, {1, 2}, DType::i32)}};
  const auto adj = backprop(loss, at);
  EXPECT_EQ(adj.count(targets), 0u) << "integer targets are not differentiable: their rule "
                                       "entry is nullptr, and they get no adjoint";
  ASSERT_TRUE(adj.count(logits)) << "no adjoint for the logits";
  EXPECT_TRUE(labs::close("adjoint of the logits", adj.at(logits),
                          labs::oracle_gradient(loss, logits, at), 1e-6, 1e-6));
}

TEST(Backprop, CompareContributesNoGradientAndIsNotAnError) {
  // y = Σ x ∘ (x > 0.1): compare's rule returns nullptr for both inputs.
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* mask = compare(x, g.scalar(0.1, DType::f64), CompareOp::gt);
  Node* y = sum(mul(x, mask));
  const Feeds at{{x, labs::uniform({2, 3}, 7)}};
  const ::testing::AssertionResult result =
      labs::in_child("a rule may return nullptr for an input: skip that entry", [&] {
        const auto adj = backprop(y, at);
        if (!adj.count(x)) return ::testing::AssertionFailure() << "no adjoint for x";
        return labs::close("adjoint of x for y = Σ x ∘ (x > 0.1)", adj.at(x), eval(mask, at));
      });
  EXPECT_TRUE(result);
}

// backprop(y) as the error tests call it.
void by_backprop(Node* y, Node*, const Feeds& at) { (void)backprop(y, at); }

TEST(Backprop, OpWithoutAVjpRuleIsAnError) {
  EXPECT_TRUE(labs::rejects_op_without_vjp(by_backprop, {2, 3}, 8));
}

TEST(Backprop, RuleThatReturnsTheWrongShapeIsAShapeError) {
  EXPECT_TRUE(labs::rejects_wrong_shape_rule(
      by_backprop, Op::Exp, [](Node* x) { return exp(x); }, {2, 3}, 9));
}

TEST(Backprop, RunsThroughAChainOf100000NodesOnASmallStack) {
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = labs::long_chain(x, 100000, 1.0);
  const ::testing::AssertionResult result = labs::on_small_stack(kExplicitStack, [&] {
    const auto adj = backprop(v, {{x, scalar_tensor(0.3)}});
    if (!adj.count(x)) return ::testing::AssertionFailure() << "no adjoint for x";
    return near("∂/∂x of the chain (·1, +1e-6, ·1, …)", adj.at(x), 1.0, 1e-12);
  });
  EXPECT_TRUE(result);
}

// ---- the twenty VJP rules: each against central differences of Σ(y ∘ ȳ) -----------------

// x of `shape`, fed with values in [lo, hi), and the rule check of build(x).
::testing::AssertionResult unary_rule(const std::string& rule, const Shape& shape,
                                      const std::function<Node*(Node*)>& build, double lo = -1,
                                      double hi = 1) {
  Graph g;
  Node* x = g.input("x", shape, DType::f64);
  return labs::vjp_rule_matches(build(x), {{x, labs::uniform(shape, 1, lo, hi)}}, {x}, 99, rule);
}

// a, b of `shape`, fed with values in [lo, hi), and the rule check of build(a, b).
::testing::AssertionResult binary_rule(const std::string& rule, const Shape& shape,
                                       Node* (*build)(Node*, Node*), double lo = -1,
                                       double hi = 1) {
  Graph g;
  Node* a = g.input("a", shape, DType::f64);
  Node* b = g.input("b", shape, DType::f64);
  const Feeds at{{a, labs::uniform(shape, 1, lo, hi)}, {b, labs::uniform(shape, 2, lo, hi)}};
  return labs::vjp_rule_matches(build(a, b), at, {a, b}, 99, rule);
}

TEST(VjpRule, Exp) {
  EXPECT_TRUE(unary_rule("exp: x̄ = ȳ·exp(x) = ȳ·y", {2, 3}, [](Node* x) { return exp(x); }));
}

TEST(VjpRule, Log) {
  EXPECT_TRUE(unary_rule(
      "log: x̄ = ȳ / x", {2, 3}, [](Node* x) { return log(x); }, 0.5, 2));
}

TEST(VjpRule, Sin) {
  EXPECT_TRUE(unary_rule(
      "sin: x̄ = ȳ·cos(x)", {2, 3}, [](Node* x) { return sin(x); }, -3, 3));
}

TEST(VjpRule, Tanh) {
  EXPECT_TRUE(unary_rule(
      "tanh: x̄ = ȳ·(1 − y²)", {2, 3}, [](Node* x) { return tanh(x); }, -2, 2));
}

TEST(VjpRule, Relu) {
  EXPECT_TRUE(
      unary_rule("relu: x̄ = ȳ where x > 0, else 0", {2, 3}, [](Node* x) { return relu(x); }));
}

TEST(VjpRule, Rsqrt) {
  EXPECT_TRUE(unary_rule(
      "rsqrt, y = x^(−1/2): x̄ = −½·ȳ·y³", {2, 3}, [](Node* x) { return rsqrt(x); }, 0.5, 2));
}

TEST(VjpRule, PowScalar) {
  EXPECT_TRUE(unary_rule(
      "pow by c = 3: x̄ = ȳ·c·x^(c−1)", {2, 3}, [](Node* x) { return pow(x, 3.0); }, -1.5, 1.5));
  EXPECT_TRUE(unary_rule(
      "pow by c = −0.5: x̄ = ȳ·c·x^(c−1)", {2, 3}, [](Node* x) { return pow(x, -0.5); }, 0.5, 2));
}

TEST(VjpRule, AddAndMulOfEqualShapes) {
  EXPECT_TRUE(binary_rule("add: ā = ȳ, b̄ = ȳ", {2, 3}, [](Node* a, Node* b) { return add(a, b); }));
  EXPECT_TRUE(
      binary_rule("mul: ā = ȳ·b, b̄ = ȳ·a", {2, 3}, [](Node* a, Node* b) { return mul(a, b); }));
}

TEST(VjpRule, Div) {
  EXPECT_TRUE(binary_rule(
      "div, y = a/b: ā = ȳ/b, b̄ = −ȳ·a/b²", {2, 3}, [](Node* a, Node* b) { return div(a, b); }, 0.5,
      2));
}

// The rule check of a reduction of x (2, 3, 4) over one axis, two axes with keepdims, and
// every axis.
::testing::AssertionResult reduction_rule(const std::string& rule,
                                          Node* (*reduce)(Node*, std::vector<int64_t>, bool)) {
  ::testing::AssertionResult r = ::testing::AssertionSuccess();
  const std::vector<std::pair<std::vector<int64_t>, bool>> cases = {
      {{1}, false}, {{0, 2}, true}, {{}, false}};
  for (const auto& c : cases) {
    std::string what = rule + " (axes";
    for (int64_t a : c.first) what += " " + std::to_string(a);
    what += c.first.empty() ? " all)" : c.second ? ", keepdims)" : ")";
    if (r) r = unary_rule(what, {2, 3, 4}, [&](Node* x) { return reduce(x, c.first, c.second); });
  }
  return r;
}

TEST(VjpRule, SumAlongAxes) {
  EXPECT_TRUE(reduction_rule("sum: x̄ = ȳ copied along the reduced axes", sum));
}

TEST(VjpRule, Mean) {
  EXPECT_TRUE(
      reduction_rule("mean: x̄ = ȳ copied along the reduced axes / the number averaged", mean));
}

TEST(VjpRule, Max) {
  EXPECT_TRUE(reduction_rule("max: ȳ goes to the element equal to the maximum", max));
}

TEST(VjpRule, MaxSharesTheAdjointEvenlyAmongTies) {
  Graph g;
  Node* x = g.constant(Tensor::from_values({2, 3}, {1, 3, 3, 2, 5, 0}, DType::f64));
  Node* y = max(x, {1});
  Node* y_bar = g.constant(Tensor::from_values({2}, {4, 1}, DType::f64));
  const std::vector<Node*> adjoint = y->def().vjp(*y, y_bar);
  ASSERT_EQ(adjoint.size(), 1u) << "max has one input";
  ASSERT_NE(adjoint[0], nullptr) << "max: x needs an adjoint";
  EXPECT_TRUE(labs::close("max over axis 1 of [[1, 3, 3], [2, 5, 0]] with ȳ = [4, 1]",
                          eval(adjoint[0]),
                          Tensor::from_values({2, 3}, {0, 2, 2, 0, 1, 0}, DType::f64)))
      << "the two tied maxima of row 0 share ȳ = 4 evenly (2 each), so x̄ still sums to ȳ";
}

TEST(VjpRule, BroadcastSumsBackToTheInputShape) {
  EXPECT_TRUE(unary_rule("broadcast (3, 1) → (2, 3, 4): x̄ = ȳ summed back to x's shape (sum_to)",
                         {3, 1}, [](Node* x) {
                           return broadcast_to(x, {2, 3, 4});
                         }));
}

TEST(VjpRule, Reshape) {
  EXPECT_TRUE(
      unary_rule("reshape (2, 3, 4) → (4, 6): x̄ = ȳ reshaped to x's shape", {2, 3, 4}, [](Node* x) {
        return reshape(x, {4, 6});
      }));
}

TEST(VjpRule, PermuteUsesTheInversePermutation) {
  EXPECT_TRUE(unary_rule("permute by (1, 2, 0): x̄ = ȳ permuted by the inverse (2, 0, 1)", {2, 3, 4},
                         [](Node* x) {
                           return permute(x, {1, 2, 0});
                         }));
  EXPECT_TRUE(unary_rule("permute by (0, 3, 1, 2): x̄ = ȳ permuted by the inverse (0, 2, 3, 1)",
                         {2, 3, 4, 5}, [](Node* x) {
                           return permute(x, {0, 3, 1, 2});
                         }));
}

// The rule check of matmul(a, b, ta, tb) for a, b of the given shapes.
::testing::AssertionResult matmul_rule(const std::string& rule, const Shape& a_shape,
                                       const Shape& b_shape, bool ta = false, bool tb = false) {
  Graph g;
  Node* a = g.input("a", a_shape, DType::f64);
  Node* b = g.input("b", b_shape, DType::f64);
  const Feeds at{{a, labs::uniform(a_shape, 1)}, {b, labs::uniform(b_shape, 2)}};
  return labs::vjp_rule_matches(matmul(a, b, ta, tb), at, {a, b}, 99, rule);
}

TEST(VjpRule, MatMulGivesZbarWtransposedAndXtransposedZbar) {
  EXPECT_TRUE(matmul_rule("matmul Z = XW: X̄ = Z̄Wᵀ, W̄ = XᵀZ̄", {3, 4}, {4, 2}));
}

TEST(VjpRule, MatMulWithTransposeFlags) {
  EXPECT_TRUE(matmul_rule("matmul Z = AᵀBᵀ: Āᵀ = Z̄B, B̄ᵀ = AZ̄", {4, 3}, {2, 4}, true, true));
  EXPECT_TRUE(matmul_rule("matmul Z = ABᵀ: Ā = Z̄B, B̄ᵀ = AᵀZ̄", {3, 4}, {2, 4}, false, true));
}

TEST(VjpRule, MatMulOfBatches) {
  EXPECT_TRUE(
      matmul_rule("batched matmul Z = XW: X̄ = Z̄Wᵀ, W̄ = XᵀZ̄ per batch", {2, 3, 4}, {2, 4, 5}));
}

TEST(VjpRule, MatMulSharedWeightSumsOverTheBatch) {
  EXPECT_TRUE(
      matmul_rule("matmul of X (b, s, d) = (2, 3, 4) by a 2-D W (d, h) = (4, 5) shared "
                  "by every batch: W̄ = Σ over the batch axes of XᵀZ̄, of W's shape "
                  "(sum_to)",
                  {2, 3, 4}, {4, 5}));
}

TEST(VjpRule, Softmax) {
  EXPECT_TRUE(unary_rule(
      "softmax over the last axis: x̄ = y ∘ (ȳ − Σⱼ ȳⱼyⱼ)", {3, 5},
      [](Node* x) { return softmax(x); }, -2, 2));
}

TEST(VjpRule, LogSoftmax) {
  EXPECT_TRUE(unary_rule(
      "log-softmax over the last axis: x̄ = ȳ − exp(y)·Σⱼ ȳⱼ", {3, 5},
      [](Node* x) { return log_softmax(x); }, -2, 2));
}

TEST(VjpRule, SoftmaxCrossEntropyIsSoftmaxMinusOneHot) {
  Graph g;
  Node* logits = g.input("logits", {3, 5}, DType::f64);
  Node* targets = g.input("targets", {3}, DType::i32);
  const Feeds at{{logits, labs::uniform({3, 5}, 1, -2, 2)},
                 {targets, Tensor::from_values({3}, {4, 0, 2}, DType::i32)}};
  EXPECT_TRUE(labs::vjp_rule_matches(softmax_cross_entropy(logits, targets), at, {logits}, 99,
                                     "softmax-cross-entropy: logits get (softmax(x) − "
                                     "onehot(t))·ḡ per row, targets nullptr"));
}

}  // namespace
}  // namespace gw
