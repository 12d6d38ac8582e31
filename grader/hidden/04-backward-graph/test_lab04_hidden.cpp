// test_lab04_hidden.cpp — hidden tests of lab 04: gradients() on random graphs, grad of grad
// (second derivatives and Hessian-vector products), a gradient graph whose size grows
// linearly, a 10⁵-node chain on a 256 KiB stack, its errors and the branches it may skip,
// the step graph's shape check, its one executor, its node count constant across steps, and
// its loss and weights against a hand-made reference on hidden shapes and data. Inputs:
// GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "hidden.h"
#include "lab_testing.h"
#include "random_graph.h"

namespace gw {
namespace {

TEST(HiddenGradients, RandomGraphsMatchCentralDifferences) {
  SCOPED_TRACE(hidden::seed_note());
  for (uint64_t k = 0; k < 4; ++k) {
    Graph g;
    hidden::RandomGraph r = hidden::random_graph(g, hidden::seed(700 + k), 10 + 2 * k);
    const std::vector<Node*> grads = gradients(r.output, r.inputs);
    ASSERT_EQ(grads.size(), r.inputs.size()) << "expected one adjoint node per wrt node";
    const std::vector<Tensor> values = eval(grads, r.feeds);
    for (size_t i = 0; i < r.inputs.size(); ++i)
      EXPECT_TRUE(labs::close(
          "graph " + std::to_string(k) + " (" + r.recipe + ") ∂L/∂" + r.inputs[i]->name, values[i],
          labs::oracle_gradient(r.output, r.inputs[i], r.feeds), 1e-6, 1e-5));
  }
}

TEST(HiddenGradients, GradOfGradOnScalarFunctions) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(710));
  const double x0 = std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  struct Case {
    const char* name;
    Node* f;
    double second;
  };
  const std::vector<Case> cases = {
      {"x³", mul(mul(x, x), x), 6 * x0},
      {"sin(x)·x", mul(sin(x), x), 2 * std::cos(x0) - x0 * std::sin(x0)},
      {"exp(x)·exp(x) + exp(x)", add(mul(exp(x), exp(x)), exp(x)),
       4 * std::exp(2 * x0) + std::exp(x0)},
  };
  for (const Case& c : cases) {
    Node* first = gradients(c.f, {x}).at(0);
    Node* second = gradients(first, {x}).at(0);
    EXPECT_TRUE(labs::near(std::string("d²/dx² of ") + c.name,
                           eval(second, {{x, labs::scalar_tensor(x0)}}), c.second,
                           1e-8 * (1 + std::abs(c.second)), "grad of grad"));
  }
}

TEST(HiddenGradients, HessianVectorProductOfARandomGraph) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  hidden::RandomGraph r = hidden::random_graph(g, hidden::seed(720), 8);
  Node* x = r.inputs[0];
  Node* grad = gradients(r.output, {x}).at(0);
  Node* v = g.constant(labs::uniform(x->shape, hidden::seed(721)));
  Node* hv = gradients(sum(mul(grad, v)), {x}).at(0);  // ∇(∇L·v) = H v
  // Oracle: central differences of the first gradient (checked by the test above).
  EXPECT_TRUE(labs::close("H·v (" + r.recipe + ")", eval(hv, r.feeds),
                          labs::oracle_gradient(sum(mul(grad, v)), x, r.feeds), 1e-5, 1e-4));
}

TEST(HiddenGradients, GradientGraphGrowsLinearlyWithTheChain) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = x;
  for (int i = 0; i < 3000; ++i) v = (i % 2) ? mul(v, 0.999) : add(v, 1e-3);
  const size_t forward = g.size();
  Node* grad = gradients(v, {x}).at(0);
  EXPECT_LE(g.size() - forward, 12 * forward)
      << "expected at most 12 backward nodes per forward node (the lecture's algorithm visits "
         "each node once), got "
      << g.size() - forward << " for " << forward;
  EXPECT_TRUE(labs::near("∂/∂x of the chain", eval(grad, {{x, labs::scalar_tensor(1.0)}}),
                         std::pow(0.999, 1500), 1e-9));
}

TEST(HiddenGradients, ParametersAndInputsMixed) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {3, 4}, DType::f64);
  Node* w = g.parameter("w", labs::uniform({4, 2}, hidden::seed(730)));
  Node* t = g.input("t", {3}, DType::i32);
  Node* loss = mean(softmax_cross_entropy(matmul(tanh(x), w), t));
  const Feeds at{{x, labs::uniform({3, 4}, hidden::seed(731))},
                 {t, Tensor::from_values({3}, {1, 0, 1}, DType::i32)}};
  const std::vector<Node*> grads = gradients(loss, {w, x});
  ASSERT_EQ(grads.size(), 2u) << "expected one adjoint node per wrt node";
  // Oracle for the parameter: feed-like perturbation of its value.
  Graph h;
  Node* wi = h.input("w", {4, 2}, DType::f64);
  Node* xi = h.input("x", {3, 4}, DType::f64);
  Node* ti = h.input("t", {3}, DType::i32);
  Node* l2 = mean(softmax_cross_entropy(matmul(tanh(xi), wi), ti));
  const Feeds at2{{wi, w->value}, {xi, at.at(x)}, {ti, at.at(t)}};
  EXPECT_TRUE(labs::close("∂L/∂w (Parameter)", eval(grads[0], at),
                          labs::oracle_gradient(l2, wi, at2), 1e-6, 1e-5));
  EXPECT_TRUE(labs::close("∂L/∂x (Input)", eval(grads[1], at), labs::oracle_gradient(l2, xi, at2),
                          1e-6, 1e-5));
}

TEST(HiddenSgdStep, MatchesTheHandMadeReferenceOnHiddenShapesAndData) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(800));
  auto dim = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const int64_t b = dim(2, 9), n_in = dim(1, 6), h = dim(2, 12), n_out = dim(1, 4);
  const double lr = std::uniform_real_distribution<double>(0.01, 0.2)(rng);
  const Tensor w1 = labs::uniform({n_in, h}, hidden::seed(801)),
               w2 = labs::uniform({h, n_out}, hidden::seed(802));
  Graph g;
  SgdStepGraph step = build_sgd_step(g, b, w1, w2, lr);
  const size_t built = g.size();
  labs::HandMadeStep ref{b, n_in, h, n_out, w1.to_doubles(), w2.to_doubles()};
  for (int s = 0; s < 8; ++s) {
    const Tensor x = labs::uniform({b, n_in}, hidden::seed(810 + s), -2, 2);
    const Tensor y = labs::uniform({b, n_out}, hidden::seed(820 + s), -2, 2);
    const double expected = ref.step(x.to_doubles(), y.to_doubles(), lr);
    const double loss = step.step(x, y);
    observe::value("loss of a step", loss, 2e-9, 2e-6);
    EXPECT_NEAR(loss, expected, 1e-6 * std::abs(expected) + 1e-9)
        << "step " << s << " (b " << b << ", n_in " << n_in << ", h " << h << ", n_out " << n_out
        << ", η " << lr << ")";
  }
  EXPECT_EQ(g.size(), built) << "expected the graph to keep its " << built
                             << " nodes across "
                                "steps (no node added per step), got "
                             << g.size();
  EXPECT_TRUE(labs::close("w1 after 8 steps", step.w1->value.astype(DType::f64),
                          Tensor::from_values({n_in, h}, ref.w1, DType::f64), 1e-6, 1e-5));
  EXPECT_TRUE(labs::close("w2 after 8 steps", step.w2->value.astype(DType::f64),
                          Tensor::from_values({h, n_out}, ref.w2, DType::f64), 1e-6, 1e-5));
}

TEST(HiddenSgdStep, NodeCountIsConstantAcrossManySteps) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  SgdStepGraph step = build_sgd_step(g, 6, labs::uniform({4, 8}, hidden::seed(900)),
                                     labs::uniform({8, 3}, hidden::seed(901)), 0.05);
  const size_t built = g.size();
  for (int s = 0; s < 20; ++s)
    (void)step.step(labs::uniform({6, 4}, hidden::seed(910 + s)),
                    labs::uniform({6, 3}, hidden::seed(930 + s)));
  // The number of nodes added, not the graph's size: correct graphs differ in size.
  observe::count("nodes added by 20 steps", static_cast<int64_t>(g.size()) - static_cast<int64_t>(built));
  observe::count("grads", static_cast<int64_t>(step.grads.size()));
  observe::count("new params", static_cast<int64_t>(step.new_params.size()));
  observe::count("runs of the executor", step.executor ? step.executor->runs() : -1);
  EXPECT_EQ(g.size(), built) << "expected the graph to keep its " << built
                             << " nodes over 20 "
                                "steps (built once, at build_sgd_step), got "
                             << g.size();
  EXPECT_EQ(step.grads.size(), 2u) << "expected grads = {w̄1, w̄2}";
  EXPECT_EQ(step.new_params.size(), 2u) << "expected new_params = {w1 − ηw̄1, w2 − ηw̄2}";
  ASSERT_NE(step.executor, nullptr) << "expected step() to keep its executor";
  EXPECT_EQ(step.executor->runs(), 20) << "expected one executor, run once per step (20)";
}

TEST(HiddenGradients, ChainOf100000NodesOnASmallStack) {
  SCOPED_TRACE(hidden::seed_note());
  const double c = hidden::draw_real(740, 0.99999, 1.00001);
  Graph g;
  Node* x = g.input("x", {}, DType::f64);
  Node* v = labs::long_chain(x, 100000, c);
  const ::testing::AssertionResult result = labs::on_small_stack(
      "a recursive walk overflows a 256 KiB stack: use an "
      "explicit stack",
      [&] {
        Node* grad = gradients(v, {x}).at(0);
        const double expected = std::pow(c, 50000);
        return labs::near("∂/∂x of 5·10⁴ products by c and 5·10⁴ sums",
                          eval(grad, {{x, labs::scalar_tensor(0.7)}}), expected, 1e-9 * expected);
      });
  EXPECT_TRUE(result);
}

void by_gradients(Node* y, Node* x, const Feeds&) { (void)gradients(y, {x}); }

TEST(HiddenGradients, OpWithoutAVjpRuleIsAnErrorNamingIt) {
  SCOPED_TRACE(hidden::seed_note());
  EXPECT_TRUE(labs::rejects_op_without_vjp(by_gradients, hidden::draw_shape(750, {{1, 4}, {2, 5}}),
                                           hidden::seed(751)));
}

TEST(HiddenGradients, SkipsBranchesThatDoNotDependOnWrt) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  hidden::RandomGraph r = hidden::random_graph(g, hidden::seed(760), 8);
  Node* c = g.input("c", {3, 4}, DType::f64);
  Node* y = add(r.output, labs::op_without_rules(c));
  Feeds at = r.feeds;
  at[c] = labs::uniform({3, 4}, hidden::seed(761));
  const ::testing::AssertionResult result =
      labs::in_child("apply rules only to the nodes depending_on(order, wrt) holds", [&] {
        const std::vector<Node*> grads = gradients(y, r.inputs);
        for (size_t i = 0; i < r.inputs.size(); ++i) {
          const ::testing::AssertionResult ok =
              labs::close("∂y/∂" + r.inputs[i]->name + " (" + r.recipe + ")", eval(grads.at(i), at),
                          labs::oracle_gradient(r.output, r.inputs[i], r.feeds), 1e-6, 1e-5);
          if (!ok) return ok;
        }
        return ::testing::AssertionSuccess();
      });
  EXPECT_TRUE(result);
}

TEST(HiddenGradients, RuleWithTheWrongShapeIsAShapeError) {
  SCOPED_TRACE(hidden::seed_note());
  EXPECT_TRUE(labs::rejects_wrong_shape_rule(
      by_gradients, Op::Log, [](Node* x) { return log(x); },
      hidden::draw_shape(770, {{2, 4}, {1, 3}}), hidden::seed(771)));
}

TEST(HiddenSgdStep, RejectsMismatchedWeightsOnRandomShapes) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape d = hidden::draw_shape(950, {{1, 5}, {2, 6}, {1, 4}, {1, 3}});
  const int64_t n_in = d[0], h = d[1], off = d[3];
  const int64_t n_out = d[2] == h ? h + 1 : d[2];  // w2's shape never spells w1's
  const Shape w2_shape{h + off, n_out};
  const ::testing::AssertionResult result =
      labs::in_child("check that both weights are 2-D and agree on h first", [&] {
        Graph g;
        // b = n_in + 1, so that no other product shows w1's shape in its message
        return labs::throws<ShapeError>(
            [&] {
              build_sgd_step(g, n_in + 1, labs::uniform({n_in, h}, 1), labs::uniform(w2_shape, 2),
                             0.1);
            },
            shape_str({n_in, h}),
            "expected a gw::ShapeError naming w1's shape " + shape_str({n_in, h}) + " (and w2's " +
                shape_str(w2_shape) + ") before any node is built");
      });
  EXPECT_TRUE(result);
}

}  // namespace
}  // namespace gw
