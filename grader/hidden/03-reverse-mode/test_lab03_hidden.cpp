// test_lab03_hidden.cpp — hidden tests of lab 03: backprop on random graphs with shared
// subexpressions and broadcasting, 10⁵-node chains and a wide, deep graph on a 256 KiB stack
// (sort and backprop without recursion), the backward loop's errors, and every one of the
// twenty lab-03 VJP rules on random shapes, axes, permutations, flags and batches, all
// against central differences. Inputs come from GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "gw/autodiff.h"
#include "hidden.h"
#include "lab_testing.h"
#include "random_graph.h"

namespace gw {
namespace {

const char* const kExplicitStack =
    "a recursive walk overflows a 256 KiB stack on a long chain: use an explicit stack";

TEST(HiddenBackprop, RandomGraphsWithSharedSubexpressionsAndBroadcasting) {
  SCOPED_TRACE(hidden::seed_note());
  for (uint64_t k = 0; k < 4; ++k) {
    Graph g;
    hidden::RandomGraph r = hidden::random_graph(g, hidden::seed(100 + k), 10 + 2 * k);
    const auto adj = backprop(r.output, r.feeds);
    for (Node* x : r.inputs) {
      const Tensor expected = labs::oracle_gradient(r.output, x, r.feeds);
      auto it = adj.find(x);
      bool zero = true;
      for (double v : expected.to_doubles()) zero = zero && v == 0;
      if (it == adj.end()) {
        EXPECT_TRUE(zero) << "graph " << k << " (" << r.recipe << "): expected an adjoint for "
                          << x->name << " (its gradient is not zero), got none";
        continue;
      }
      EXPECT_TRUE(
          labs::close("graph " + std::to_string(k) + " (" + r.recipe + ") adjoint of " + x->name,
                      it->second, expected, 1e-6, 1e-5));
    }
  }
}

TEST(HiddenBackprop, ValueUsedManyTimesSumsEveryPartialAdjoint) {
  SCOPED_TRACE(hidden::seed_note());
  // y = Σ (x·x·x + sin(x)·x + exp(x)): x has six consumers.
  Graph g;
  Node* x = g.input("x", {5}, DType::f64);
  Node* y = sum(add(add(mul(mul(x, x), x), mul(sin(x), x)), exp(x)));
  const Feeds at{{x, labs::uniform({5}, hidden::seed(110))}};
  const auto adj = backprop(y, at);
  ASSERT_TRUE(adj.count(x)) << "expected an adjoint for x, got none";
  EXPECT_TRUE(labs::close("adjoint of x (six consumers)", adj.at(x),
                          labs::oracle_gradient(y, x, at), 1e-6, 1e-6));
}

TEST(HiddenBackprop, ChainOf100000NodesRunsOnASmallStack) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = add(labs::long_chain(mul(x, 0.5), 100000, 1.0, 1e-3), 0.0);
  const ::testing::AssertionResult result = labs::on_small_stack(kExplicitStack, [&] {
    const auto adj = backprop(v, {{x, labs::scalar_tensor(1.5)}});
    if (!adj.count(x))
      return ::testing::AssertionFailure() << "expected an adjoint for x, got none";
    return labs::near("∂/∂x of 0.5·x through 10⁵ ops ·1 and +1e-3", adj.at(x), 0.5, 1e-12);
  });
  EXPECT_TRUE(result);
}

TEST(HiddenTopologicalOrder, WideAndDeepGraphWithManyOutputs) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  std::vector<Node*> outs;
  Node* v = x;
  std::mt19937_64 rng(hidden::seed(120));
  for (int i = 0; i < 30000; ++i) {
    v = std::uniform_int_distribution<int>(0, 1)(rng) ? add(v, x) : mul(v, 1.0);
    if (i % 5000 == 0) outs.push_back(v);
  }
  outs.push_back(v);
  std::shuffle(outs.begin(), outs.end(), rng);
  const ::testing::AssertionResult result = labs::on_small_stack(
      kExplicitStack, [&] { return labs::is_topological(topological_order(outs), outs); });
  EXPECT_TRUE(result);
}

void by_backprop(Node* y, Node*, const Feeds& at) { (void)backprop(y, at); }

TEST(HiddenBackprop, OpWithoutAVjpRuleIsAnErrorNamingIt) {
  SCOPED_TRACE(hidden::seed_note());
  EXPECT_TRUE(labs::rejects_op_without_vjp(by_backprop, hidden::draw_shape(130, {{1, 4}, {2, 5}}),
                                           hidden::seed(131)));
}

TEST(HiddenBackprop, RuleWithTheWrongShapeIsAShapeError) {
  SCOPED_TRACE(hidden::seed_note());
  EXPECT_TRUE(labs::rejects_wrong_shape_rule(
      by_backprop, Op::Sin, [](Node* x) { return sin(x); },
      hidden::draw_shape(140, {{2, 4}, {1, 3}}), hidden::seed(141)));
}

TEST(HiddenBackprop, IntegerTargetsGetNoAdjoint) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* logits = g.input("logits", {2, 3}, DType::f64);
  Node* targets = g.input("t", {2}, DType::i32);
  Node* loss = sum(softmax_cross_entropy(logits, targets));
  const Feeds at{{logits, labs::uniform({2, 3}, hidden::seed(600))},
                 {targets, Tensor::from_values({2}, {1, 2}, DType::i32)}};
  const auto adj = backprop(loss, at);
  EXPECT_EQ(adj.count(targets), 0u) << "expected no adjoint for the integer targets, got one";
  ASSERT_TRUE(adj.count(logits)) << "expected an adjoint for the logits, got none";
  EXPECT_TRUE(labs::close("adjoint of logits", adj.at(logits),
                          labs::oracle_gradient(loss, logits, at), 1e-6, 1e-5));
}

// ---- the rules on random shapes --------------------------------------------------------------

// A shape of `rank` dimensions 1 to 4.
Shape random_shape(uint64_t salt, int rank) {
  return hidden::draw_shape(
      salt, std::vector<std::pair<int64_t, int64_t>>(static_cast<size_t>(rank), {1, 4}));
}

// The rule check of `node` against a random ȳ from `salt`, with the looser hidden tolerance.
::testing::AssertionResult rule(Node* node, const Feeds& at, const std::vector<Node*>& wrt,
                                uint64_t salt, const std::string& name) {
  return labs::vjp_rule_matches(node, at, wrt, hidden::seed(salt), name + " " + node->str(), 1e-6,
                                1e-5);
}

TEST(HiddenVjpRule, ElementwiseOnRandomShapes) {
  SCOPED_TRACE(hidden::seed_note());
  for (int rank = 0; rank <= 3; ++rank) {
    Graph g;
    const Shape s = random_shape(200 + rank, rank);
    Node* a = g.input("a", s, DType::f64);  // positive, for log, rsqrt, div, pow
    Node* b = g.input("b", s, DType::f64);
    const Feeds at{{a, labs::uniform(s, hidden::seed(210 + rank), 0.3, 2.0)},
                   {b, labs::uniform(s, hidden::seed(220 + rank), -2.0, 2.0)}};
    const double c = hidden::draw_real(230 + rank, -2.0, 3.0);
    EXPECT_TRUE(rule(exp(b), at, {b}, 1, "exp: x̄ = ȳ·y"));
    EXPECT_TRUE(rule(log(a), at, {a}, 2, "log: x̄ = ȳ/x"));
    EXPECT_TRUE(rule(sin(b), at, {b}, 3, "sin: x̄ = ȳ·cos x"));
    EXPECT_TRUE(rule(relu(b), at, {b}, 4, "relu: x̄ = ȳ·[x > 0]"));
    EXPECT_TRUE(rule(add(a, b), at, {a, b}, 5, "add: ā = b̄ = ȳ"));
    EXPECT_TRUE(rule(mul(a, b), at, {a, b}, 6, "mul: ā = ȳ·b, b̄ = ȳ·a"));
    EXPECT_TRUE(rule(tanh(b), at, {b}, 7, "tanh: x̄ = ȳ·(1 − y²)"));
    EXPECT_TRUE(rule(rsqrt(a), at, {a}, 8, "rsqrt: x̄ = −½·ȳ·y³"));
    EXPECT_TRUE(
        rule(pow(a, c), at, {a}, 9, "pow by c = " + std::to_string(c) + ": x̄ = ȳ·c·x^(c−1)"));
    EXPECT_TRUE(rule(div(b, a), at, {a, b}, 10, "div y = n/d: n̄ = ȳ/d, d̄ = −ȳ·n/d²"));
  }
}

// The reduced axes of a rank-3 shape: a random non-empty subset, in random order.
std::vector<int64_t> random_axes(uint64_t salt) {
  std::mt19937_64 rng(hidden::seed(salt));
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < 3; ++a)
    if (std::uniform_int_distribution<int>(0, 1)(rng))
      axes.push_back(a - 3 * std::uniform_int_distribution<int>(0, 1)(rng));
  if (axes.empty()) axes.push_back(std::uniform_int_distribution<int64_t>(0, 2)(rng));
  std::shuffle(axes.begin(), axes.end(), rng);
  return axes;
}

TEST(HiddenVjpRule, SumMeanAndMaxOnRandomAxes) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  const Shape s = hidden::draw_shape(300, {{2, 4}, {2, 4}, {2, 4}});  // every axis counts
  Node* x = g.input("x", s, DType::f64);
  const Feeds at{{x, labs::uniform(s, hidden::seed(301))}};
  for (int k = 0; k < 3; ++k) {
    const std::vector<int64_t> axes = random_axes(310 + k);
    const bool keep = k % 2 == 1;
    EXPECT_TRUE(rule(sum(x, axes, keep), at, {x}, 10 + k, "sum: x̄ = ȳ copied along the axes"));
    EXPECT_TRUE(rule(mean(x, axes, keep), at, {x}, 20 + k, "mean: x̄ = ȳ copied / count"));
    EXPECT_TRUE(rule(max(x, axes, keep), at, {x}, 30 + k, "max: ȳ to the maximum"));
  }
  EXPECT_TRUE(rule(sum(x), at, {x}, 13, "sum of everything"));
  EXPECT_TRUE(rule(mean(x), at, {x}, 23, "mean of everything"));
  EXPECT_TRUE(rule(max(x), at, {x}, 33, "max of everything"));
}

TEST(HiddenVjpRule, MaxSharesTheAdjointAmongRandomTies) {
  SCOPED_TRACE(hidden::seed_note());
  // Rows of n values drawn from {0, 1, 2}: ties at the maximum are common, and a random row
  // holds a tie for certain (two elements set to 3). x̄ = ȳ/ties there.
  std::mt19937_64 rng(hidden::seed(340));
  const int64_t rows = std::uniform_int_distribution<int64_t>(2, 5)(rng);
  const int64_t n = std::uniform_int_distribution<int64_t>(2, 6)(rng);
  std::vector<double> x(static_cast<size_t>(rows * n)), y_bar(static_cast<size_t>(rows));
  for (double& v : x) v = static_cast<double>(std::uniform_int_distribution<int>(0, 2)(rng));
  const int64_t tied = std::uniform_int_distribution<int64_t>(0, rows - 1)(rng);
  x[static_cast<size_t>(tied * n)] = x[static_cast<size_t>(tied * n + n - 1)] = 3;
  for (double& v : y_bar) v = std::uniform_real_distribution<double>(-2, 2)(rng);
  std::vector<double> expected(x.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const auto row = x.begin() + r * n;
    const double top = *std::max_element(row, row + n);
    const auto ties = std::count(row, row + n, top);
    for (int64_t j = 0; j < n; ++j)
      if (row[j] == top)
        expected[static_cast<size_t>(r * n + j)] = y_bar[static_cast<size_t>(r)] / ties;
  }
  Graph g;
  Node* xn = g.constant(Tensor::from_values({rows, n}, x, DType::f64));
  Node* y = max(xn, {-1});
  const std::vector<Node*> adj =
      y->def().vjp(*y, g.constant(Tensor::from_values({rows}, y_bar, DType::f64)));
  ASSERT_TRUE(adj.size() == 1 && adj[0] != nullptr) << "expected one adjoint for max's input";
  EXPECT_TRUE(labs::close("max over the last axis with ties", eval(adj[0]),
                          Tensor::from_values({rows, n}, expected, DType::f64)))
      << "expected ȳ shared evenly among the elements equal to the maximum";
}

TEST(HiddenVjpRule, BroadcastReshapeAndPermuteOnRandomShapes) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  const Shape s = random_shape(400, 3);
  Node* col = g.input("col", {s[1], 1}, DType::f64);
  Node* row = g.input("row", {s[2]}, DType::f64);
  Node* x = g.input("x", {s[0], s[1], s[2], 2}, DType::f64);
  const Feeds at{{col, labs::uniform({s[1], 1}, hidden::seed(401))},
                 {row, labs::uniform({s[2]}, hidden::seed(402))},
                 {x, labs::uniform(x->shape, hidden::seed(403))}};
  EXPECT_TRUE(
      rule(broadcast_to(col, {s[0], s[1], s[2] + 1}), at, {col}, 40, "broadcast: sum back"));
  EXPECT_TRUE(rule(broadcast_to(row, {s[0], 2, s[2]}), at, {row}, 41, "broadcast: sum back"));
  EXPECT_TRUE(rule(reshape(x, {s[0] * s[1], -1}), at, {x}, 42, "reshape: ȳ reshaped back"));
  EXPECT_TRUE(rule(reshape(x, {2, s[2], s[1] * s[0]}), at, {x}, 43, "reshape: ȳ reshaped back"));
  std::vector<int64_t> order(4), perm(4);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(hidden::seed(404));
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < 4; ++i) perm[order[i]] = order[(i + 1) % 4];  // a 4-cycle: p ≠ p⁻¹
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(rule(permute(x, perm), at, {x}, 44 + k, "permute: ȳ by the inverse permutation"));
    std::shuffle(perm.begin(), perm.end(), rng);
  }
}

TEST(HiddenVjpRule, MatMulFlagsAndBatches) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape d = random_shape(500, 5);  // m, k, n, batch, batch
  const int64_t m = d[0], k = d[1] + 1, n = d[2], bt = d[3] + 1, b2 = d[4];
  Graph g;
  Node* a = g.input("a", {m, k}, DType::f64);
  Node* at_ = g.input("aT", {k, m}, DType::f64);
  Node* b = g.input("b", {k, n}, DType::f64);
  Node* bt_ = g.input("bT", {n, k}, DType::f64);
  Node* ba = g.input("ba", {bt, m, k}, DType::f64);
  Node* bb = g.input("bb", {bt, k, n}, DType::f64);
  Node* b4 = g.input("b4", {b2, bt, m, k}, DType::f64);
  Feeds at;
  uint64_t salt = 510;
  for (Node* x : {a, at_, b, bt_, ba, bb, b4})
    at[x] = labs::uniform(x->shape, hidden::seed(salt++));
  const char* z = "matmul: X̄ = Z̄Wᵀ, W̄ = XᵀZ̄";
  EXPECT_TRUE(rule(matmul(a, b), at, {a, b}, 50, z));
  EXPECT_TRUE(rule(matmul(at_, b, true, false), at, {at_, b}, 51, z));
  EXPECT_TRUE(rule(matmul(a, bt_, false, true), at, {a, bt_}, 52, z));
  EXPECT_TRUE(rule(matmul(at_, bt_, true, true), at, {at_, bt_}, 53, z));
  EXPECT_TRUE(rule(matmul(ba, bb), at, {ba, bb}, 54, z));
  const char* shared = "matmul with a 2-D W shared by the batch: W̄ summed over the batch axes";
  EXPECT_TRUE(rule(matmul(ba, b), at, {ba, b}, 55, shared));
  EXPECT_TRUE(rule(matmul(b4, b), at, {b4, b}, 56, shared));
  EXPECT_TRUE(rule(matmul(b4, bt_, false, true), at, {b4, bt_}, 57, shared));
}

TEST(HiddenVjpRule, SoftmaxFamilyOnRandomRows) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape d = random_shape(600, 3);
  const int64_t rows = d[0] + 1, v = d[1] + 2;
  std::mt19937_64 rng(hidden::seed(601));
  std::vector<double> t(static_cast<size_t>(rows));
  for (double& e : t)
    e = static_cast<double>(std::uniform_int_distribution<int64_t>(0, v - 1)(rng));
  Graph g;
  Node* logits = g.input("logits", {rows, v}, DType::f64);
  Node* x3 = g.input("x3", {d[2], rows, v}, DType::f64);
  Node* targets = g.input("t", {rows}, DType::i32);
  const Feeds at{{logits, labs::uniform({rows, v}, hidden::seed(602), -3, 3)},
                 {x3, labs::uniform({d[2], rows, v}, hidden::seed(603), -3, 3)},
                 {targets, Tensor::from_values({rows}, t, DType::i32)}};
  EXPECT_TRUE(rule(softmax_cross_entropy(logits, targets), at, {logits}, 60,
                   "softmax-cross-entropy: (softmax(x) − onehot(t))·ḡ"));
  EXPECT_TRUE(rule(softmax(logits), at, {logits}, 61, "softmax: x̄ = y ∘ (ȳ − Σ ȳy)"));
  EXPECT_TRUE(rule(softmax(x3), at, {x3}, 62, "softmax: x̄ = y ∘ (ȳ − Σ ȳy)"));
  EXPECT_TRUE(rule(log_softmax(logits), at, {logits}, 63, "log-softmax: x̄ = ȳ − exp(y)·Σ ȳ"));
  EXPECT_TRUE(rule(log_softmax(x3), at, {x3}, 64, "log-softmax: x̄ = ȳ − exp(y)·Σ ȳ"));
}

}  // namespace
}  // namespace gw
