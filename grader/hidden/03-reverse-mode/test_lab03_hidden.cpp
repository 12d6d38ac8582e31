// test_lab03_hidden.cpp — hidden tests of lab 03: backprop on random graphs with shared
// subexpressions and broadcasting, a 10⁵-node chain (sort and backprop without a stack
// overflow), and every lab-03 VJP rule on random shapes, all against central differences.
// Inputs come from GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "gw/autodiff.h"
#include "gw/op_table.h"
#include "hidden.h"
#include "lab_testing.h"
#include "random_graph.h"

namespace gw {
namespace {

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
        EXPECT_TRUE(zero) << "graph " << k << " (" << r.recipe << "): no adjoint for " << x->name;
        continue;
      }
      EXPECT_TRUE(labs::close("graph " + std::to_string(k) + " (" + r.recipe + ") adjoint of " +
                                  x->name, it->second, expected, 1e-6, 1e-5));
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
  ASSERT_TRUE(adj.count(x));
  EXPECT_TRUE(labs::close("adjoint of x", adj.at(x), labs::oracle_gradient(y, x, at), 1e-6, 1e-6));
}

TEST(HiddenBackprop, ChainOf100000NodesRunsWithoutStackOverflow) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = mul(x, 0.5);
  for (int i = 0; i < 100000; ++i) v = add(v, 1e-3);
  const auto adj = backprop(v, {{x, labs::scalar_tensor(1.5)}});
  ASSERT_TRUE(adj.count(x));
  EXPECT_NEAR(adj.at(x).item(), 0.5, 1e-12) << "∂/∂x of 0.5·x + 100000·1e-3";
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
  const std::vector<Node*> order = topological_order(outs);
  std::unordered_set<const Node*> seen;
  for (Node* n : order) {
    for (Node* in : n->inputs)
      ASSERT_TRUE(seen.count(in)) << in->str() << " must come before " << n->str();
    ASSERT_TRUE(seen.insert(n).second) << n->str() << " appears twice";
  }
  EXPECT_EQ(order.size(), 30001u) << "every node once, shared ones included";
}

// VJP rule of `node` against central differences of Σ(node ∘ ȳ) for a random ȳ.
void expect_rule(Node* node, const Feeds& at, const std::vector<Node*>& wrt, uint64_t salt) {
  Graph& g = *node->graph;
  Node* adjoint = g.constant(labs::uniform(node->shape, hidden::seed(salt)));
  const OpDef& def = node->def();
  ASSERT_NE(def.vjp, nullptr) << def.name;
  const std::vector<Node*> grads = def.vjp(*node, adjoint);
  ASSERT_EQ(grads.size(), node->inputs.size()) << def.name;
  Node* probe = sum(mul(node, adjoint));
  for (size_t k = 0; k < node->inputs.size(); ++k) {
    bool wanted = false;
    for (Node* w : wrt) wanted = wanted || w == node->inputs[k];
    if (!wanted) continue;
    ASSERT_NE(grads[k], nullptr) << def.name << " input " << k;
    EXPECT_TRUE(labs::close(std::string(def.name) + " " + node->str() + " input " +
                                std::to_string(k),
                            eval(grads[k], at), labs::oracle_gradient(probe, node->inputs[k], at),
                            1e-6, 1e-5));
  }
}

Shape random_shape(uint64_t salt, int rank) {
  std::mt19937_64 rng(hidden::seed(salt));
  Shape s;
  for (int i = 0; i < rank; ++i) s.push_back(std::uniform_int_distribution<int64_t>(1, 4)(rng));
  return s;
}

TEST(HiddenVjpRule, ElementwiseOnRandomShapes) {
  SCOPED_TRACE(hidden::seed_note());
  for (int rank = 0; rank <= 3; ++rank) {
    Graph g;
    const Shape s = random_shape(200 + rank, rank);
    Node* a = g.input("a", s, DType::f64);
    Node* b = g.input("b", s, DType::f64);
    const Feeds at{{a, labs::uniform(s, hidden::seed(210 + rank), 0.3, 2.0)},
                   {b, labs::uniform(s, hidden::seed(220 + rank), -2.0, 2.0)}};
    expect_rule(exp(b), at, {b}, 1);
    expect_rule(log(a), at, {a}, 2);
    expect_rule(sin(b), at, {b}, 3);
    expect_rule(relu(b), at, {b}, 4);
    expect_rule(add(a, b), at, {a, b}, 5);
    expect_rule(mul(a, b), at, {a, b}, 6);
  }
}

TEST(HiddenVjpRule, BroadcastAndSumOnRandomAxes) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  const Shape s = random_shape(300, 3);
  Node* x = g.input("x", s, DType::f64);
  const Feeds at{{x, labs::uniform(s, hidden::seed(301))}};
  expect_rule(sum(x, {0}), at, {x}, 10);
  expect_rule(sum(x, {-1}, true), at, {x}, 11);
  expect_rule(sum(x, {0, 2}), at, {x}, 12);
  expect_rule(sum(x), at, {x}, 13);
  Node* col = g.input("col", {s[1], 1}, DType::f64);
  const Feeds at2{{col, labs::uniform({s[1], 1}, hidden::seed(302))}};
  expect_rule(broadcast_to(col, {s[0], s[1], s[2] + 1}), at2, {col}, 14);
  Node* row = g.input("row", {s[2]}, DType::f64);
  const Feeds at3{{row, labs::uniform({s[2]}, hidden::seed(303))}};
  expect_rule(broadcast_to(row, {s[0], 2, s[2]}), at3, {row}, 15);
}

TEST(HiddenVjpRule, MatMulFlagsAndBatches) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape d = random_shape(400, 4);  // m, k, n, batch
  const int64_t m = d[0], k = d[1] + 1, n = d[2], bt = d[3] + 1;
  Graph g;
  Node* a = g.input("a", {m, k}, DType::f64);
  Node* at_ = g.input("aT", {k, m}, DType::f64);
  Node* b = g.input("b", {k, n}, DType::f64);
  Node* bt_ = g.input("bT", {n, k}, DType::f64);
  Node* ba = g.input("ba", {bt, m, k}, DType::f64);
  Node* bb = g.input("bb", {bt, k, n}, DType::f64);
  Feeds at;
  uint64_t salt = 410;
  for (Node* x : {a, at_, b, bt_, ba, bb}) at[x] = labs::uniform(x->shape, hidden::seed(salt++));
  expect_rule(matmul(a, b), at, {a, b}, 20);
  expect_rule(matmul(at_, b, true, false), at, {at_, b}, 21);
  expect_rule(matmul(a, bt_, false, true), at, {a, bt_}, 22);
  expect_rule(matmul(at_, bt_, true, true), at, {at_, bt_}, 23);
  expect_rule(matmul(ba, b), at, {ba, b}, 24);    // a shared 2-D b sums over the batch
  expect_rule(matmul(ba, bb), at, {ba, bb}, 25);
}

TEST(HiddenVjpRule, SoftmaxCrossEntropyOnRandomRows) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape d = random_shape(500, 2);
  const int64_t rows = d[0] + 1, v = d[1] + 2;
  std::mt19937_64 rng(hidden::seed(501));
  std::vector<double> t(static_cast<size_t>(rows));
  for (double& e : t) e = static_cast<double>(std::uniform_int_distribution<int64_t>(0, v - 1)(rng));
  Graph g;
  Node* logits = g.input("logits", {rows, v}, DType::f64);
  Node* targets = g.input("t", {rows}, DType::i32);
  const Feeds at{{logits, labs::uniform({rows, v}, hidden::seed(502), -3, 3)},
                 {targets, Tensor::from_values({rows}, t, DType::i32)}};
  expect_rule(softmax_cross_entropy(logits, targets), at, {logits}, 30);
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
  EXPECT_EQ(adj.count(targets), 0u) << "integer targets are not differentiable";
  ASSERT_TRUE(adj.count(logits));
  EXPECT_TRUE(labs::close("adjoint of logits", adj.at(logits),
                          labs::oracle_gradient(loss, logits, at), 1e-6, 1e-6));
}

}  // namespace
}  // namespace gw
