// test_lab03_backprop.cpp — lab 03: iterative topological order and Caffe-style backprop
// (handouts/lab03-reverse-mode.md).
#include <unordered_map>

#include "autodiff_testing.h"

namespace gw {
namespace {

TEST(Lab03, ReverseTraceOfLectureExampleAt2_5) {
  Graph g;
  Node* v1 = g.input("x1", {}, DType::f64);
  Node* v2 = g.input("x2", {}, DType::f64);
  Node* v3 = log(v1);
  Node* v4 = mul(v1, v2);
  Node* v5 = sin(v2);
  Node* v6 = add(v3, v4);
  Node* v7 = sub(v6, v5);
  const Feeds feeds = {{v1, Tensor::from_values({}, {2.0}, DType::f64)},
                       {v2, Tensor::from_values({}, {5.0}, DType::f64)}};
  const auto adj = backprop(v7, feeds);
  EXPECT_DOUBLE_EQ(adj.at(v7).item(), 1.0);
  EXPECT_DOUBLE_EQ(adj.at(v6).item(), 1.0);
  EXPECT_DOUBLE_EQ(adj.at(v5).item(), -1.0);
  EXPECT_DOUBLE_EQ(adj.at(v4).item(), 1.0);
  EXPECT_DOUBLE_EQ(adj.at(v3).item(), 1.0);
  EXPECT_NEAR(adj.at(v2).item(), -0.284 + 2, 5e-4);   // v̄2 = v̄4·x1 + v̄5·cos(x2)
  EXPECT_NEAR(adj.at(v2).item(), 2 - std::cos(5.0), 1e-12);
  EXPECT_DOUBLE_EQ(adj.at(v1).item(), 5.0 + 0.5);     // v̄1 = v̄4·x2 + v̄3/x1
}

TEST(Lab03, TopologicalOrderPutsEveryNodeAfterItsInputsOnce) {
  Graph g;
  Node* a = testing::random_param(g, "a", {2}, 1);
  Node* b = testing::random_param(g, "b", {2}, 2);
  Node* unused = exp(b);
  (void)unused;
  Node* c = mul(a, b);
  Node* out = add(mul(c, c), exp(a));
  const std::vector<Node*> order = topological_order({out});
  std::unordered_map<const Node*, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_TRUE(pos.emplace(order[i], i).second) << order[i]->str() << " appears twice";
  }
  EXPECT_EQ(order.size(), 6u) << "a, b, c, c·c, exp(a), out: the unused exp(b) is left out";
  EXPECT_EQ(pos.count(unused), 0u);
  for (Node* n : order)
    for (Node* in : n->inputs) EXPECT_LT(pos.at(in), pos.at(n)) << n->str() << " before " << in->str();
  EXPECT_EQ(order.back(), out);
}

Node* chain(Node* x, int length) {
  Node* v = x;
  for (int i = 0; i < length; ++i) v = mul(v, 1.0);  // 10⁵ nodes deep
  return v;
}

TEST(Lab03, TopologicalOrderOfA100kChainDoesNotOverflowTheStack) {
  Graph g;
  Node* x = testing::scalar_param(g, "x", 1.0);
  Node* out = chain(x, 100000);
  const std::vector<Node*> order = topological_order({out});
  EXPECT_EQ(order.size(), 100001u);
  EXPECT_EQ(order.front(), x);
  EXPECT_EQ(order.back(), out);
}

TEST(Lab03, BackpropThroughA100kChainDoesNotOverflowTheStack) {
  Graph g;
  Node* x = testing::scalar_param(g, "x", 0.3);
  Node* v = x;
  for (int i = 0; i < 100000; ++i) v = (i % 2 == 0) ? mul(v, 1.0) : add(v, 1e-6);
  const auto adj = backprop(v);
  EXPECT_DOUBLE_EQ(adj.at(x).item(), 1.0);
}

// A graph with a shared subexpression (c used three times) and broadcasting (b (4) against
// a (3, 4)); backprop's adjoints against lab 01's numerical gradients.
TEST(Lab03, BackpropMatchesGradcheckWithSharingAndBroadcasting) {
  Graph g;
  Node* a = testing::random_param(g, "a", {3, 4}, 21);
  Node* b = testing::random_param(g, "b", {4}, 22);
  Node* c = mul(a, b);
  Node* d = add(exp(c), mul(c, c));
  Node* out = sum(mul(d, sin(add(a, c))));
  const auto adj = backprop(out);
  const GradcheckReport r = gradcheck(graph_function(out, {a, b}), {adj.at(a), adj.at(b)},
                                      {a->value, b->value});
  EXPECT_TRUE(r.passed) << r.str();
}

TEST(Lab03, BackpropOfSoftmaxCrossEntropyIsSoftmaxMinusOneHot) {
  Graph g;
  Node* logits = testing::random_param(g, "logits", {3, 5}, 31);
  Node* targets = g.constant(Tensor::from_values({3}, {4, 0, 2}, DType::i32));
  const auto adj = backprop(sum(softmax_cross_entropy(logits, targets)));
  const std::vector<double> l = logits->value.to_doubles(), xbar = adj.at(logits).to_doubles();
  const int t[3] = {4, 0, 2};
  for (int r = 0; r < 3; ++r) {
    double z = 0;
    for (int j = 0; j < 5; ++j) z += std::exp(l[r * 5 + j]);
    for (int j = 0; j < 5; ++j)
      EXPECT_NEAR(xbar[r * 5 + j], std::exp(l[r * 5 + j]) / z - (j == t[r] ? 1.0 : 0.0), 1e-12);
  }
  EXPECT_EQ(adj.count(targets), 0u) << "integer targets have no adjoint";
}

TEST(Lab03, BackpropAgreesWithTheBackwardGraph) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* w = testing::random_param(g, "w", {3, 4}, 41);
  Node* out = mean(relu(matmul(x, w)));
  const Feeds feeds = {{x, testing::random_tensor({2, 3}, DType::f64, 42)}};
  const auto adj = backprop(out, feeds);
  const std::vector<Tensor> built = eval(gradients(out, {x, w}), feeds);
  const std::vector<double> ax = adj.at(x).to_doubles(), bx = built[0].to_doubles();
  const std::vector<double> aw = adj.at(w).to_doubles(), bw = built[1].to_doubles();
  for (size_t i = 0; i < ax.size(); ++i) EXPECT_NEAR(ax[i], bx[i], 1e-14);
  for (size_t i = 0; i < aw.size(); ++i) EXPECT_NEAR(aw[i], bw[i], 1e-14);
}

}  // namespace
}  // namespace gw
