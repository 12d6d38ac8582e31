// test_lab04.cpp — public tests of lab 04 (backward graph construction): gradients() on the
// lecture's examples, reuse of the gradient graph for new inputs, grad of grad, and the
// training-step graph L = MSE(w2·ReLU(w1·x), y) against a hand-made reference. The oracle is
// the tests' own central difference and plain C++ loops, not your earlier labs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gw/autodiff.h"
#include "lab_testing.h"

namespace gw {
namespace {

using labs::near;
using labs::scalar_tensor;

TEST(Gradients, ReproduceTheLectureDerivatives) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  const std::vector<Node*> grads = gradients(l.y, {l.x1, l.x2});
  ASSERT_EQ(grads.size(), 2u) << "one adjoint node per wrt node, in order";
  const Feeds at{{l.x1, scalar_tensor(2)}, {l.x2, scalar_tensor(5)}};
  EXPECT_TRUE(near("v̄1 = ∂y/∂x1", eval(grads[0], at), 5.5, 1e-9,
                   "x1 feeds ln and mul: node_to_grad[x1] holds two partial adjoints to sum"));
  EXPECT_TRUE(near("v̄2 = ∂y/∂x2", eval(grads[1], at), 2 - std::cos(5.0), 1e-9));
}

TEST(Gradients, AreNodesAppendedToTheSameGraph) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  const size_t before = g.size();
  const std::vector<Node*> grads = gradients(l.y, {l.x1});
  ASSERT_EQ(grads.size(), 1u);
  ASSERT_NE(grads[0], nullptr);
  EXPECT_EQ(grads[0]->graph, &g) << "the backward graph is appended to the forward graph";
  EXPECT_GT(g.size(), before) << "building the gradient adds nodes; nothing is computed yet";
  EXPECT_EQ(grads[0]->shape, l.x1->shape) << "an adjoint has its value's shape";
}

// f = (exp(v1) + 1)·exp(v1); the lecture's backward graph gives
// v̄1 = exp(v1)·(exp(v1) + 1) + exp(v1)·exp(v1).
double lecture_exp_gradient(double v1) {
  const double e = std::exp(v1);
  return e * (e + 1) + e * e;
}

TEST(Gradients, ExpExampleSumsBothPathsAndIsReusedForNewInputs) {
  Graph g;
  Node* v1 = g.input("v1", {}, DType::f64);
  Node* e = exp(v1);
  Node* f = mul(add(e, 1.0), e);
  const std::vector<Node*> grads = gradients(f, {v1});
  ASSERT_EQ(grads.size(), 1u);
  const size_t built = g.size();
  for (double x : {0.5, -1.2, 2.0}) {
    EXPECT_TRUE(near("v̄1 at v1 = " + std::to_string(x), eval(grads[0], {{v1, scalar_tensor(x)}}),
                     lecture_exp_gradient(x), 1e-9 * lecture_exp_gradient(x),
                     "exp(v1) is used twice (by add and by mul): both paths contribute"));
  }
  EXPECT_EQ(g.size(), built) << "running the gradient graph for new inputs adds no node";
}

TEST(Gradients, MatchCentralDifferencesOnATensorGraph) {
  // L = Σ softmax_cross_entropy(relu(x W + b) V, t)
  Graph g;
  Node* x = g.input("x", {4, 3}, DType::f64);
  Node* w = g.input("W", {3, 5}, DType::f64);
  Node* b = g.input("b", {5}, DType::f64);
  Node* v = g.input("V", {5, 6}, DType::f64);
  Node* t = g.input("t", {4}, DType::i32);
  Node* loss = sum(softmax_cross_entropy(matmul(relu(add(matmul(x, w), b)), v), t));
  const Feeds at{{x, labs::uniform({4, 3}, 1)}, {w, labs::uniform({3, 5}, 2)},
                 {b, labs::uniform({5}, 3)}, {v, labs::uniform({5, 6}, 4)},
                 {t, Tensor::from_values({4}, {0, 5, 2, 2}, DType::i32)}};
  const std::vector<Node*> grads = gradients(loss, {x, w, b, v});
  ASSERT_EQ(grads.size(), 4u);
  const std::vector<Tensor> values = eval(grads, at);
  for (size_t i = 0; i < 4; ++i) {
    Node* in = std::vector<Node*>{x, w, b, v}[i];
    EXPECT_TRUE(labs::close("∂L/∂" + in->name, values[i], labs::oracle_gradient(loss, in, at),
                            1e-6, 1e-6));
  }
}

TEST(Gradients, WrtNodeTheOutputDoesNotDependOnGetsZeros) {
  Graph g;
  Node* x = g.input("x", {2, 2}, DType::f64);
  Node* unused = g.input("unused", {3}, DType::f64);
  const std::vector<Node*> grads = gradients(sum(exp(x)), {x, unused});
  ASSERT_EQ(grads.size(), 2u);
  ASSERT_NE(grads[1], nullptr) << "a wrt node off the path gets a zeros node, not nullptr";
  EXPECT_TRUE(labs::close("∂L/∂unused", eval(grads[1], {{x, labs::uniform({2, 2}, 1)}}),
                          Tensor::zeros({3}, DType::f64)));
}

TEST(Gradients, GradOfGradGivesTheSecondDerivative) {
  // f = (exp(v1) + 1)·exp(v1) = e^{2v1} + e^{v1}: f'' = 4e^{2v1} + e^{v1}.
  Graph g;
  Node* v1 = g.input("v1", {}, DType::f64);
  Node* e = exp(v1);
  Node* f = mul(add(e, 1.0), e);
  Node* first = gradients(f, {v1}).at(0);
  Node* second = gradients(first, {v1}).at(0);
  const double x = 0.3;
  EXPECT_TRUE(near("d²f/dv1²", eval(second, {{v1, scalar_tensor(x)}}),
                   4 * std::exp(2 * x) + std::exp(x), 1e-9,
                   "the adjoint nodes are ordinary nodes: differentiate them again"));
}

TEST(Gradients, NonScalarOutputIsSeededWithOnes) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* y = sin(x);
  const Feeds at{{x, labs::uniform({2, 3}, 4)}};
  EXPECT_TRUE(labs::close("∂Σsin(x)/∂x", eval(gradients(y, {x}).at(0), at), eval(cos(x), at)));
}

TEST(SgdStep, LossesAndWeightsMatchAHandMadeReferenceOverSeveralSteps) {
  const int64_t b = 4, n_in = 3, h = 5, n_out = 2;
  const double lr = 0.1;
  const Tensor w1 = labs::uniform({n_in, h}, 1), w2 = labs::uniform({h, n_out}, 2);
  Graph g;
  SgdStepGraph step = build_sgd_step(g, b, w1, w2, lr);
  labs::HandMadeStep ref{b, n_in, h, n_out, w1.to_doubles(), w2.to_doubles()};
  for (int s = 0; s < 4; ++s) {
    const Tensor x = labs::uniform({b, n_in}, 10 + s), y = labs::uniform({b, n_out}, 20 + s);
    const double expected = ref.step(x.to_doubles(), y.to_doubles(), lr);
    const double got = step.step(x, y);
    EXPECT_NEAR(got, expected, 1e-5 * std::abs(expected) + 1e-7)
        << "step " << s << ": L = mean((relu(x w1) w2 − y)²) before the update";
  }
  EXPECT_TRUE(labs::close("w1 after 4 steps", step.w1->value.astype(DType::f64),
                          Tensor::from_values({n_in, h}, ref.w1, DType::f64), 1e-5, 1e-4))
      << "θ ← θ − η∇L, with ∇L from gradients() of the mean squared error";
  EXPECT_TRUE(labs::close("w2 after 4 steps", step.w2->value.astype(DType::f64),
                          Tensor::from_values({h, n_out}, ref.w2, DType::f64), 1e-5, 1e-4));
}

TEST(SgdStep, AddsNoNodePerStep) {
  const int64_t b = 4, n_in = 3, h = 5, n_out = 2;
  Graph g;
  SgdStepGraph step = build_sgd_step(g, b, labs::uniform({n_in, h}, 1),
                                     labs::uniform({h, n_out}, 2), 0.05);
  (void)step.step(labs::uniform({b, n_in}, 3), labs::uniform({b, n_out}, 4));
  const size_t after_first = g.size();
  for (int s = 0; s < 5; ++s)
    (void)step.step(labs::uniform({b, n_in}, 5 + s), labs::uniform({b, n_out}, 15 + s));
  EXPECT_EQ(g.size(), after_first) << "the step graph is built once; every step only feeds new "
                                      "x and y and runs it again";
}

TEST(SgdStep, LossFallsOnAFixedBatch) {
  const int64_t b = 8, n_in = 3, h = 16, n_out = 2;
  Graph g;
  SgdStepGraph step = build_sgd_step(g, b, labs::uniform({n_in, h}, 1),
                                     labs::uniform({h, n_out}, 2), 0.1);
  const Tensor x = labs::uniform({b, n_in}, 3), y = labs::uniform({b, n_out}, 4);
  const double first = step.step(x, y);
  double last = first;
  for (int s = 0; s < 50; ++s) last = step.step(x, y);
  EXPECT_LT(last, 0.5 * first) << "50 SGD steps on one batch should at least halve the loss";
}

}  // namespace
}  // namespace gw
