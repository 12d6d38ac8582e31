// test_lab03.cpp — public tests of lab 03 (reverse mode): the topological sort (including a
// 10⁵-node chain), the lecture's reverse trace v̄7 … v̄1 through backprop, adjoints summed
// over several consumers, broadcasting, and each lab-03 VJP rule checked on its own against
// central differences (the tests' own oracle, not your lab 01).
#include <gtest/gtest.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gw/autodiff.h"
#include "gw/op_table.h"
#include "lab_testing.h"

namespace gw {
namespace {

using labs::near;
using labs::scalar_tensor;

// Checks that `order` holds every node `out` depends on exactly once, each after its inputs.
::testing::AssertionResult is_topological(const std::vector<Node*>& order, Node* out) {
  std::unordered_map<const Node*, size_t> at;
  for (size_t i = 0; i < order.size(); ++i) {
    if (!at.emplace(order[i], i).second)
      return ::testing::AssertionFailure() << order[i]->str() << " appears twice";
  }
  std::vector<Node*> stack{out};
  std::unordered_set<const Node*> seen{out};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    auto it = at.find(n);
    if (it == at.end())
      return ::testing::AssertionFailure() << n->str() << " is an ancestor of the output but "
                                              "missing from the order";
    for (Node* in : n->inputs) {
      auto jt = at.find(in);
      if (jt != at.end() && jt->second > it->second)
        return ::testing::AssertionFailure() << in->str() << " comes after its consumer "
                                             << n->str() << ": inputs must come first";
      if (seen.insert(in).second) stack.push_back(in);
    }
  }
  if (seen.size() != order.size())
    return ::testing::AssertionFailure() << "the order has " << order.size() << " nodes but the "
                                         << "output depends on " << seen.size();
  return ::testing::AssertionSuccess();
}

TEST(TopologicalOrder, PutsEveryNodeAfterItsInputs) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  EXPECT_TRUE(is_topological(topological_order({l.y}), l.y));
}

TEST(TopologicalOrder, HoldsOnlyWhatTheOutputNeeds) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  Node* unrelated = exp(l.x1);
  (void)unrelated;
  const std::vector<Node*> order = topological_order({l.v4});
  EXPECT_EQ(order.size(), 3u) << "v4 = x1·x2 depends on x1, x2 and itself only";
  EXPECT_TRUE(is_topological(order, l.v4));
}

TEST(TopologicalOrder, SortsAChainOf100000NodesWithoutOverflowingTheStack) {
  Graph g;
  Node* v = g.input("x", {}, DType::f64);
  for (int i = 0; i < 100000; ++i) v = add(v, 1.0);
  const std::vector<Node*> order = topological_order({v});
  ASSERT_EQ(order.size(), 100001u) << "a recursive depth-first search overflows here: use an "
                                      "explicit stack";
  EXPECT_EQ(order.front()->op, Op::Input) << "the input comes first";
  EXPECT_EQ(order.back(), v) << "the output comes last";
}

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
  const Feeds at{{x, labs::uniform({3, 2}, 1)}, {w, labs::uniform({2, 4}, 2)},
                 {b, labs::uniform({4}, 3)}, {c, labs::uniform({3, 1}, 4)}};
  const auto adj = backprop(y, at);
  for (Node* in : {x, w, b, c}) {
    ASSERT_TRUE(adj.count(in)) << "no adjoint for " << in->name;
    EXPECT_TRUE(labs::close("adjoint of " + in->name, adj.at(in),
                            labs::oracle_gradient(y, in, at), 1e-6, 1e-6))
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

// Applies `node`'s VJP rule to a random adjoint ȳ and compares each input's result with the
// central difference of Σ(node ∘ ȳ) with respect to that input.
void expect_rule_matches(Node* node, const Feeds& at, const std::vector<Node*>& inputs) {
  Graph& g = *node->graph;
  Node* adjoint = g.constant(labs::uniform(node->shape, 99, -1, 1, node->dtype));
  const OpDef& def = node->def();
  ASSERT_NE(def.vjp, nullptr) << def.name << " has no VJP rule registered";
  const std::vector<Node*> grads = def.vjp(*node, adjoint);
  ASSERT_EQ(grads.size(), node->inputs.size()) << def.name << ": one entry per input";
  Node* probe = sum(mul(node, adjoint));
  for (size_t k = 0; k < node->inputs.size(); ++k) {
    Node* in = node->inputs[k];
    bool wanted = false;
    for (Node* i : inputs) wanted = wanted || i == in;
    if (!wanted) continue;
    ASSERT_NE(grads[k], nullptr) << def.name << ": input " << k << " needs an adjoint";
    EXPECT_TRUE(labs::close(std::string(def.name) + " VJP for input " + std::to_string(k),
                            eval(grads[k], at), labs::oracle_gradient(probe, in, at), 1e-6,
                            1e-6));
  }
}

TEST(VjpRule, Exp) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(exp(x), {{x, labs::uniform({2, 3}, 1)}}, {x});
}

TEST(VjpRule, Log) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(log(x), {{x, labs::uniform({2, 3}, 1, 0.5, 2)}}, {x});
}

TEST(VjpRule, Sin) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(sin(x), {{x, labs::uniform({2, 3}, 1, -3, 3)}}, {x});
}

TEST(VjpRule, Relu) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(relu(x), {{x, labs::uniform({2, 3}, 2)}}, {x});
}

TEST(VjpRule, AddAndMulOfEqualShapes) {
  Graph g;
  Node* a = g.input("a", {2, 3}, DType::f64);
  Node* b = g.input("b", {2, 3}, DType::f64);
  const Feeds at{{a, labs::uniform({2, 3}, 1)}, {b, labs::uniform({2, 3}, 2)}};
  expect_rule_matches(add(a, b), at, {a, b});
  expect_rule_matches(mul(a, b), at, {a, b});
}

TEST(VjpRule, BroadcastSumsBackToTheInputShape) {
  Graph g;
  Node* x = g.input("x", {3, 1}, DType::f64);
  expect_rule_matches(broadcast_to(x, {2, 3, 4}), {{x, labs::uniform({3, 1}, 1)}}, {x});
}

TEST(VjpRule, SumAlongAnAxis) {
  Graph g;
  Node* x = g.input("x", {2, 3, 4}, DType::f64);
  const Feeds at{{x, labs::uniform({2, 3, 4}, 1)}};
  expect_rule_matches(sum(x, {1}), at, {x});
  expect_rule_matches(sum(x, {0, 2}, true), at, {x});
  expect_rule_matches(sum(x), at, {x});
}

TEST(VjpRule, MatMulGivesZbarWtransposedAndXtransposedZbar) {
  Graph g;
  Node* x = g.input("x", {3, 4}, DType::f64);
  Node* w = g.input("W", {4, 2}, DType::f64);
  expect_rule_matches(matmul(x, w), {{x, labs::uniform({3, 4}, 1)}, {w, labs::uniform({4, 2}, 2)}},
                      {x, w});
}

TEST(VjpRule, MatMulWithTransposeFlags) {
  Graph g;
  Node* a = g.input("a", {4, 3}, DType::f64);
  Node* b = g.input("b", {2, 4}, DType::f64);
  expect_rule_matches(matmul(a, b, true, true),
                      {{a, labs::uniform({4, 3}, 1)}, {b, labs::uniform({2, 4}, 2)}}, {a, b});
}

TEST(VjpRule, SoftmaxCrossEntropyIsSoftmaxMinusOneHot) {
  Graph g;
  Node* logits = g.input("logits", {3, 5}, DType::f64);
  Node* targets = g.input("targets", {3}, DType::i32);
  const Feeds at{{logits, labs::uniform({3, 5}, 1, -2, 2)},
                 {targets, Tensor::from_values({3}, {4, 0, 2}, DType::i32)}};
  expect_rule_matches(softmax_cross_entropy(logits, targets), at, {logits});
}

}  // namespace
}  // namespace gw
