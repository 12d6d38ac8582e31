// test_lab04.cpp — public tests of lab 04 (backward graph construction): gradients() on the
// lecture's examples, reuse of the gradient graph for new inputs, grad of grad, its errors
// (an op without a rule, a rule that returns the wrong shape), the nodes it may skip, a
// 10⁵-node chain on a 256 KiB stack (no recursion), and the training-step graph
// L = MSE(w2·ReLU(w1·x), y) against a hand-made reference, with its shape check and its one
// executor. The oracle is the tests' own central difference and plain C++ loops, not your
// earlier labs.
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
  observe::count("adjoint nodes", static_cast<int64_t>(grads.size()));
  ASSERT_EQ(grads.size(), 1u);
  observe::flag("an adjoint node", grads[0] != nullptr);
  ASSERT_NE(grads[0], nullptr);
  observe::flag("in the forward graph", grads[0]->graph == &g);
  observe::flag("nodes were added", g.size() > before);
  observe::text("shape of the adjoint", shape_str(grads[0]->shape));
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
  const Feeds at{{x, labs::uniform({4, 3}, 1)},
                 {w, labs::uniform({3, 5}, 2)},
                 {b, labs::uniform({5}, 3)},
                 {v, labs::uniform({5, 6}, 4)},
                 {t, Tensor::from_values({4}, {0, 5, 2, 2}, DType::i32)}};
  const std::vector<Node*> grads = gradients(loss, {x, w, b, v});
  ASSERT_EQ(grads.size(), 4u);
  const std::vector<Tensor> values = eval(grads, at);
  for (size_t i = 0; i < 4; ++i) {
    Node* in = std::vector<Node*>{x, w, b, v}[i];
    EXPECT_TRUE(
        labs::close("∂L/∂" + in->name, values[i], labs::oracle_gradient(loss, in, at), 1e-6, 1e-6));
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

// gradients(y, {x}) as the error tests call it.
void by_gradients(Node* y, Node* x, const Feeds&) { (void)gradients(y, {x}); }

TEST(Gradients, OpWithoutAVjpRuleIsAnError) {
  EXPECT_TRUE(labs::rejects_op_without_vjp(by_gradients, {2, 3}, 8));
}

TEST(Gradients, AppliesRulesOnlyOnPathsFromWrt) {
  // c feeds an op without a VJP rule; x does not: ∂y/∂x needs no rule of c's branch.
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* c = g.input("c", {2, 3}, DType::f64);
  Node* y = add(sum(exp(x)), labs::op_without_rules(c));
  const Feeds at{{x, labs::uniform({2, 3}, 1)}, {c, labs::uniform({2, 3}, 2)}};
  const ::testing::AssertionResult result =
      labs::in_child("skip the nodes that depending_on(order, wrt) does not hold", [&] {
        const std::vector<Node*> grads = gradients(y, {x});
        if (grads.size() != 1) return ::testing::AssertionFailure() << "expected one adjoint node";
        return labs::close("∂y/∂x", eval(grads[0], at), eval(exp(x), at));
      });
  EXPECT_TRUE(result);
}

TEST(Gradients, RuleThatReturnsTheWrongShapeIsAShapeError) {
  EXPECT_TRUE(labs::rejects_wrong_shape_rule(
      by_gradients, Op::Exp, [](Node* x) { return exp(x); }, {2, 3}, 9));
}

TEST(Gradients, EvaluateNothingWhileBuilding) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  const int64_t before = global_evaluation_count();
  (void)gradients(l.y, {l.x1, l.x2});
  observe::count("evaluations while building", global_evaluation_count() - before);
  EXPECT_EQ(global_evaluation_count(), before)
      << "gradients() only appends nodes; nothing runs until the caller evaluates them";
}

TEST(Gradients, ChainOf100000NodesOnASmallStack) {
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = labs::long_chain(x, 100000, 1.0);
  const ::testing::AssertionResult result = labs::on_small_stack(
      "a recursive walk (a function or a lambda calling itself) overflows a small stack on a "
      "chain of 10⁵ nodes: use an explicit stack",
      [&] {
        Node* grad = gradients(v, {x}).at(0);
        return near("∂/∂x of the chain (·1, +1e-6, ·1, …)", eval(grad, {{x, scalar_tensor(0.3)}}),
                    1.0, 1e-12);
      });
  EXPECT_TRUE(result);
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
    observe::value("loss of step " + std::to_string(s), got, 2e-7, 2e-5);
    EXPECT_NEAR(got, expected, 1e-5 * std::abs(expected) + 1e-7)
        << "step " << s << ": L = mean((relu(x w1) w2 − y)²) before the update";
  }
  EXPECT_TRUE(labs::close("w1 after 4 steps", step.w1->value.astype(DType::f64),
                          Tensor::from_values({n_in, h}, ref.w1, DType::f64), 1e-5, 1e-4))
      << "θ ← θ − η∇L, with ∇L from gradients() of the mean squared error";
  EXPECT_TRUE(labs::close("w2 after 4 steps", step.w2->value.astype(DType::f64),
                          Tensor::from_values({h, n_out}, ref.w2, DType::f64), 1e-5, 1e-4));
}

// A step graph of b = 4, n_in = 3, h = 5, n_out = 2, and its steps on fresh data.
struct SmallStep {
  static constexpr int64_t b = 4, n_in = 3, h = 5, n_out = 2;
  Graph g;
  SgdStepGraph step =
      build_sgd_step(g, b, labs::uniform({n_in, h}, 1), labs::uniform({h, n_out}, 2), 0.05);
  double run(int s) {
    return step.step(labs::uniform({b, n_in}, 3 + s), labs::uniform({b, n_out}, 15 + s));
  }
};

TEST(SgdStep, AddsNoNodePerStep) {
  SmallStep t;
  (void)t.run(0);
  const size_t after_first = t.g.size();
  for (int s = 1; s < 6; ++s) (void)t.run(s);
  // The number of nodes added, not the graph's size: correct graphs differ in size.
  observe::count("nodes added by steps 2 to 6",
                 static_cast<int64_t>(t.g.size()) - static_cast<int64_t>(after_first));
  EXPECT_EQ(t.g.size(), after_first) << "the step graph is built once; every step only feeds "
                                        "new x and y and runs it again";
}

TEST(SgdStep, LossFallsOnAFixedBatch) {
  const int64_t b = 8, n_in = 3, h = 16, n_out = 2;
  Graph g;
  SgdStepGraph step =
      build_sgd_step(g, b, labs::uniform({n_in, h}, 1), labs::uniform({h, n_out}, 2), 0.1);
  const Tensor x = labs::uniform({b, n_in}, 3), y = labs::uniform({b, n_out}, 4);
  const double first = step.step(x, y);
  double last = first;
  for (int s = 0; s < 50; ++s) last = step.step(x, y);
  observe::flag("the loss at least halved", last < 0.5 * first);
  EXPECT_LT(last, 0.5 * first) << "50 SGD steps on one batch should at least halve the loss";
}

TEST(SgdStep, BuildsInputsAndParametersOfTheRightShapes) {
  const Tensor w1 = labs::uniform({3, 5}, 1), w2 = labs::uniform({5, 2}, 2);
  Graph g;
  SgdStepGraph step = build_sgd_step(g, 4, w1, w2, 0.25);
  const bool filled = step.graph == &g && step.x && step.y && step.w1 && step.w2 && step.loss;
  observe::flag("every field is filled", filled);
  ASSERT_TRUE(filled) << "build_sgd_step fills every field of the SgdStepGraph";
  observe::text("shape of x", shape_str(step.x->shape));
  observe::text("shape of y", shape_str(step.y->shape));
  observe::text("op of w1", op_name(step.w1->op));
  observe::text("op of w2", op_name(step.w2->op));
  observe::text("shape of the loss", shape_str(step.loss->shape));
  observe::value("learning rate", step.learning_rate);
  observe::count("grads", static_cast<int64_t>(step.grads.size()));
  observe::count("new params", static_cast<int64_t>(step.new_params.size()));
  EXPECT_EQ(step.x->shape, (Shape{4, 3})) << "x is an Input (b, n_in)";
  EXPECT_EQ(step.y->shape, (Shape{4, 2})) << "y is an Input (b, n_out)";
  EXPECT_EQ(step.w1->op, Op::Parameter) << "w1 is a Parameter";
  EXPECT_EQ(step.w2->op, Op::Parameter) << "w2 is a Parameter";
  EXPECT_TRUE(step.loss->shape.empty()) << "the loss is a scalar";
  EXPECT_EQ(step.learning_rate, 0.25);
  EXPECT_EQ(step.grads.size(), 2u) << "grads = {w̄1, w̄2}";
  EXPECT_EQ(step.new_params.size(), 2u) << "new_params = {w1 − ηw̄1, w2 − ηw̄2}";
  step.w1->value.data<double>()[0] += 1.0;
  observe::flag("the Parameter w1 owns its value",
                step.w1->value.to_doubles()[0] != w1.to_doubles()[0] &&
                    w1.to_doubles()[0] == labs::uniform({3, 5}, 1).to_doubles()[0]);
  EXPECT_NE(step.w1->value.to_doubles()[0], w1.to_doubles()[0])
      << "the parameters own clones of the initial values";
  EXPECT_EQ(w1.to_doubles()[0], labs::uniform({3, 5}, 1).to_doubles()[0])
      << "the Parameter w1 shares memory with the caller's initial tensor: clone it";
}

TEST(SgdStep, RejectsWeightsOfMismatchedShapes) {
  const ::testing::AssertionResult result =
      labs::in_child("check that both weights are 2-D and agree on h first", [] {
        Graph g;
        ::testing::AssertionResult r = labs::throws<ShapeError>(
            [&] {
              build_sgd_step(g, 4, labs::uniform({3, 5}, 1), labs::uniform({4, 2}, 2), 0.1);
            },
            "(3, 5)",
            "w1 (n_in, h) = (3, 5) and w2 (h, n_out) = (4, 2) disagree on h: check "
            "first, with a gw::ShapeError naming both shapes");
        if (!r) return r;
        return labs::throws<ShapeError>(
            [&] {
              build_sgd_step(g, 4, labs::uniform({15}, 1), labs::uniform({5, 2}, 2), 0.1);
            },
            "(15)", "w1 must be 2-D (n_in, h): a gw::ShapeError naming its shape");
      });
  EXPECT_TRUE(result);
}

TEST(SgdStep, MakesOneExecutorAndReusesItEveryStep) {
  SmallStep t;
  (void)t.run(0);
  observe::flag("an executor is kept", t.step.executor != nullptr);
  ASSERT_NE(t.step.executor, nullptr) << "the first step() makes the executor and keeps it";
  const Executor* first = t.step.executor.get();
  for (int s = 1; s < 4; ++s) (void)t.run(s);
  observe::flag("the same executor", t.step.executor.get() == first);
  observe::count("runs of the executor", t.step.executor->runs());
  EXPECT_EQ(t.step.executor.get(), first) << "every step reuses the executor (planned once)";
  EXPECT_EQ(t.step.executor->runs(), 4) << "one run per step";
}

}  // namespace
}  // namespace gw
