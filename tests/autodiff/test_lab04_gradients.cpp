// test_lab04_gradients.cpp — lab 04: the backward graph, its reuse, grad of grad and the
// lecture's SGD step graph (handouts/lab04-backward-graph.md).
#include <cmath>

#include "autodiff_testing.h"

namespace gw {
namespace {

TEST(Lab04, ExpExampleBackwardGraphMatchesTheLectureFormula) {
  Graph g;
  Node* v1 = testing::scalar_param(g, "v1", 0.3);
  Node* e = exp(v1);
  Node* f = mul(add(e, 1.0), e);
  const size_t forward_nodes = g.size();
  Node* grad = gradients(f, {v1})[0];
  EXPECT_GT(g.size(), forward_nodes) << "the backward graph is appended to the same graph";
  // v̄1 = ē·exp(v1): the rule of exp reuses the forward node, and ē sums two partials.
  ASSERT_EQ(grad->op, Op::Mul);
  EXPECT_TRUE(grad->inputs[0] == e || grad->inputs[1] == e);
  const double x = std::exp(0.3);
  EXPECT_NEAR(testing::value_of(grad), x * (x + 1) + x * x, 1e-14);
  const GradcheckReport r = gradcheck_graph(f, {v1}, {});
  EXPECT_TRUE(r.passed) << r.str();
}

TEST(Lab04, GradientGraphBuiltOnceIsReusedAcrossInputs) {
  Graph g;
  Node* x = g.input("x", {3}, DType::f64);
  Node* w = testing::random_param(g, "w", {3}, 1);
  Node* loss = sum(mul(sin(mul(x, w)), x));
  Node* grad = gradients(loss, {w})[0];
  Executor executor(g, {grad});
  const size_t nodes = g.size();
  for (int step = 0; step < 5; ++step) {
    const Tensor xv = testing::random_tensor({3}, DType::f64, 100 + step);
    const std::vector<double> got = executor.run({{x, xv}})[0].to_doubles();
    const std::vector<double> xs = xv.to_doubles(), ws = w->value.to_doubles();
    for (size_t i = 0; i < 3; ++i)  // ∂/∂wᵢ sin(xᵢwᵢ)·xᵢ = cos(xᵢwᵢ)·xᵢ²
      EXPECT_NEAR(got[i], std::cos(xs[i] * ws[i]) * xs[i] * xs[i], 1e-14) << "step " << step;
    EXPECT_EQ(g.size(), nodes) << "no node may be added per step";
  }
}

TEST(Lab04, GradOfGradOfXCubedIs6X) {
  Graph g;
  Node* x = testing::random_param(g, "x", {4}, 2);
  Node* y = sum(mul(mul(x, x), x));
  Node* dy = gradients(y, {x})[0];               // 3x²
  Node* d2y = gradients(sum(dy), {x})[0];        // 6x
  Node* d2y_pow = gradients(sum(gradients(sum(pow(x, 3.0)), {x})[0]), {x})[0];
  const std::vector<double> xs = x->value.to_doubles(), a = eval(d2y).to_doubles(),
                            b = eval(d2y_pow).to_doubles(), d = eval(dy).to_doubles();
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_NEAR(d[i], 3 * xs[i] * xs[i], 1e-14);
    EXPECT_NEAR(a[i], 6 * xs[i], 1e-14);
    EXPECT_NEAR(b[i], 6 * xs[i], 1e-13);
  }
}

TEST(Lab04, UnreachableWrtGetsZerosOfItsShape) {
  Graph g;
  Node* x = testing::random_param(g, "x", {2}, 3);
  Node* unrelated = testing::random_param(g, "u", {2, 3}, 4);
  const std::vector<Node*> grads = gradients(sum(exp(x)), {x, unrelated});
  const Tensor z = eval(grads[1]);
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  for (double v : z.to_doubles()) EXPECT_EQ(v, 0.0);
}

TEST(Lab04, NonScalarOutputIsSeededWithOnes) {
  Graph g;
  Node* x = testing::random_param(g, "x", {2, 3}, 5);
  const std::vector<double> a = eval(gradients(exp(x), {x})[0]).to_doubles();
  const std::vector<double> b = eval(gradients(sum(exp(x)), {x})[0]).to_doubles();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_DOUBLE_EQ(a[i], b[i]);
}

TEST(Lab04, OnlyNodesOnAPathFromWrtGetRulesApplied) {
  Graph g;
  Node* a = testing::random_param(g, "a", {3}, 6);
  Node* c = testing::random_param(g, "c", {3}, 7);
  Node* side = exp(c);  // depends on c only
  Node* out = sum(add(mul(a, a), side));
  const size_t before = g.size();
  gradients(out, {a});
  for (size_t i = before; i < g.size(); ++i) {
    for (Node* in : g.node(static_cast<int>(i))->inputs)
      EXPECT_NE(in, side) << "exp(c)'s rule was applied though c is not in wrt";
  }
}

TEST(Lab04, GradientsThroughA100kChain) {
  Graph g;
  Node* x = testing::scalar_param(g, "x", 0.5);
  Node* v = x;
  for (int i = 0; i < 100000; ++i) v = mul(v, 1.0);
  EXPECT_DOUBLE_EQ(testing::value_of(gradients(v, {x})[0]), 1.0);
}

// The same step written by hand in f64 loops: the reference the step graph must match.
struct HandMlp {
  int64_t b, n_in, h, n_out;
  std::vector<double> w1, w2;  // (n_in, h), (h, n_out)
  double step(const std::vector<double>& x, const std::vector<double>& y, double lr) {
    std::vector<double> pre(b * h, 0), hid(b * h), pred(b * n_out, 0);
    for (int64_t r = 0; r < b; ++r)
      for (int64_t j = 0; j < h; ++j) {
        for (int64_t k = 0; k < n_in; ++k) pre[r * h + j] += x[r * n_in + k] * w1[k * h + j];
        hid[r * h + j] = std::max(pre[r * h + j], 0.0);
      }
    for (int64_t r = 0; r < b; ++r)
      for (int64_t o = 0; o < n_out; ++o)
        for (int64_t j = 0; j < h; ++j) pred[r * n_out + o] += hid[r * h + j] * w2[j * n_out + o];
    double loss = 0;
    std::vector<double> dpred(b * n_out);
    for (int64_t i = 0; i < b * n_out; ++i) {
      const double e = pred[i] - y[i];
      loss += e * e / static_cast<double>(b * n_out);
      dpred[i] = 2 * e / static_cast<double>(b * n_out);
    }
    std::vector<double> dw1(n_in * h, 0), dw2(h * n_out, 0), dh(b * h, 0);
    for (int64_t r = 0; r < b; ++r)
      for (int64_t j = 0; j < h; ++j)
        for (int64_t o = 0; o < n_out; ++o) {
          dw2[j * n_out + o] += hid[r * h + j] * dpred[r * n_out + o];
          dh[r * h + j] += dpred[r * n_out + o] * w2[j * n_out + o];
        }
    for (int64_t r = 0; r < b; ++r)
      for (int64_t j = 0; j < h; ++j)
        if (pre[r * h + j] > 0)
          for (int64_t k = 0; k < n_in; ++k) dw1[k * h + j] += x[r * n_in + k] * dh[r * h + j];
    for (size_t i = 0; i < w1.size(); ++i) w1[i] -= lr * dw1[i];
    for (size_t i = 0; i < w2.size(); ++i) w2[i] -= lr * dw2[i];
    return loss;
  }
};

TEST(Lab04, SgdStepGraphMatchesAHandWrittenReferenceAndLowersTheLoss) {
  const int64_t b = 8, n_in = 3, h = 6, n_out = 2;
  const double lr = 0.1;
  const Tensor w1 = testing::random_tensor({n_in, h}, DType::f64, 50);
  const Tensor w2 = testing::random_tensor({h, n_out}, DType::f64, 51);
  Graph g;
  SgdStepGraph step = build_sgd_step(g, b, w1, w2, lr);
  HandMlp hand{b, n_in, h, n_out, w1.to_doubles(), w2.to_doubles()};
  const Tensor target_w = testing::random_tensor({n_in, n_out}, DType::f64, 52);  // y = x·T
  const size_t nodes = g.size();
  std::vector<double> losses;
  for (int s = 0; s < 40; ++s) {
    const Tensor x = testing::random_tensor({b, n_in}, DType::f64, 1000 + s);
    std::vector<double> xs = x.to_doubles(), ys(b * n_out, 0), tw = target_w.to_doubles();
    for (int64_t r = 0; r < b; ++r)
      for (int64_t o = 0; o < n_out; ++o)
        for (int64_t k = 0; k < n_in; ++k) ys[r * n_out + o] += xs[r * n_in + k] * tw[k * n_out + o];
    const double loss = step.step(x, Tensor::from_values({b, n_out}, ys, DType::f64));
    const double expected = hand.step(xs, ys, lr);
    ASSERT_NEAR(loss, expected, 1e-12) << "step " << s;
    losses.push_back(loss);
  }
  EXPECT_EQ(g.size(), nodes) << "the step graph is built once";
  const std::vector<double> w1_now = step.w1->value.to_doubles();
  for (size_t i = 0; i < w1_now.size(); ++i) EXPECT_NEAR(w1_now[i], hand.w1[i], 1e-12);
  double first = 0, last = 0;
  for (int s = 0; s < 5; ++s) first += losses[s];
  for (int s = 35; s < 40; ++s) last += losses[s];
  EXPECT_LT(last, 0.5 * first) << "mean loss of the first 5 steps " << first / 5 << ", last 5 " << last / 5;
}

}  // namespace
}  // namespace gw
