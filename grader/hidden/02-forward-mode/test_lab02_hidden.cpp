// test_lab02_hidden.cpp — hidden tests of lab 02: dual numbers on random points, jvp() of
// many ops and of composed graphs against central differences, add and mul rules with a
// nullptr tangent, an op without a JVP rule (an error, not a zero), and the Jacobian by
// exactly n forward passes (counting graph evaluations), also of ℝⁿ → ℝ. Inputs come from
// GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "gw/dual.h"
#include "hidden.h"
#include "lab_testing.h"

namespace gw {
namespace {

TEST(HiddenDual, ComposedProgramsMatchCentralDifferences) {
  SCOPED_TRACE(hidden::seed_note());
  // g(a) = tanh(a)·sqrt(a² + 1) / (2 + cos(a)) − log(a + 3)·exp(−a/4) + pow(a, 3)
  auto dual = [](Dual a) {
    return tanh(a) * sqrt(a * a + Dual{1.0}) / (Dual{2.0} + cos(a)) -
           log(a + Dual{3.0}) * exp(-a / Dual{4.0}) + pow(a, 3.0);
  };
  auto plain = [](double a) {
    return std::tanh(a) * std::sqrt(a * a + 1) / (2 + std::cos(a)) -
           std::log(a + 3) * std::exp(-a / 4) + std::pow(a, 3.0);
  };
  for (uint64_t k = 0; k < 5; ++k) {
    const double a = hidden::draw_real(k, 0.1, 2.0);
    const Dual r = dual(Dual{a, 1.0});
    const double fd = (plain(a + 1e-6) - plain(a - 1e-6)) / 2e-6;
    observe::value("value of the composed program", r.value, 2e-12);
    observe::value("tangent of the composed program", r.tangent, 2e-6 * (1 + std::abs(fd)));
    EXPECT_NEAR(r.value, plain(a), 1e-12) << "value of the composed program at a = " << a;
    EXPECT_NEAR(r.tangent, fd, 1e-6 * (1 + std::abs(fd)))
        << "tangent of the composed program at a = " << a << " against a central difference";
  }
}

// ẏ of a one-input graph y = build(x) by jvp(), against ⟨∇(Σ y∘r), ẋ⟩ by central differences.
void expect_jvp_matches(const std::string& what, const Shape& shape,
                        const std::function<Node*(Node*)>& build, uint64_t salt, double lo = -1,
                        double hi = 1) {
  Graph g;
  Node* x = g.input("x", shape, DType::f64);
  Node* xd = g.input("x_dot", shape, DType::f64);
  Node* y = build(x);
  Node* r = g.constant(labs::uniform(y->shape, hidden::seed(salt + 1)));
  Node* probe = sum(mul(y, r));
  const Feeds at{{x, labs::uniform(shape, hidden::seed(salt), lo, hi)}};
  const Tensor direction = labs::uniform(shape, hidden::seed(salt + 2));
  const double expected = labs::directional_derivative(probe, {x}, {direction}, at);
  Feeds feeds = at;
  feeds[xd] = direction;
  Node* tangent = jvp(y, {x}, {xd});
  ASSERT_EQ(tangent->shape, y->shape)
      << what << ": expected a tangent of the value's shape " << shape_str(y->shape) << ", got "
      << shape_str(tangent->shape);
  EXPECT_TRUE(labs::near(what + " tangent", eval(sum(mul(tangent, r)), feeds), expected,
                         1e-6 * (1 + std::abs(expected))));
}

TEST(HiddenJvp, UnaryOps) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape s{3, 4};
  expect_jvp_matches(
      "exp", s, [](Node* x) { return exp(x); }, 1);
  expect_jvp_matches(
      "log", s, [](Node* x) { return log(x); }, 2, 0.5, 2.0);
  expect_jvp_matches(
      "sin", s, [](Node* x) { return sin(x); }, 3, -3, 3);
  expect_jvp_matches(
      "relu", s, [](Node* x) { return relu(x); }, 4);
  expect_jvp_matches(
      "neg", s, [](Node* x) { return neg(x); }, 5);
  expect_jvp_matches(
      "cos", s, [](Node* x) { return cos(x); }, 6);
  expect_jvp_matches(
      "tanh", s, [](Node* x) { return tanh(x); }, 7);
  expect_jvp_matches(
      "sigmoid", s, [](Node* x) { return sigmoid(x); }, 8);
  expect_jvp_matches(
      "sqrt", s, [](Node* x) { return sqrt(x); }, 9, 0.5, 2.0);
}

TEST(HiddenJvp, BinaryOpsWithSharedOperands) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape s{2, 5};
  expect_jvp_matches(
      "x·x", s, [](Node* x) { return mul(x, x); }, 20);
  expect_jvp_matches(
      "x + exp(x)", s, [](Node* x) { return add(x, exp(x)); }, 21);
  expect_jvp_matches(
      "sin(x)·(x + 2)", s, [](Node* x) { return mul(sin(x), add(x, 2.0)); }, 22);
  expect_jvp_matches(
      "x / (x² + 1)", s, [](Node* x) { return div(x, add(mul(x, x), 1.0)); }, 23);
}

TEST(HiddenJvp, ReductionsAndShapes) {
  SCOPED_TRACE(hidden::seed_note());
  expect_jvp_matches(
      "sum axis 1", {2, 3, 4}, [](Node* x) { return sum(exp(x), {1}); }, 30);
  expect_jvp_matches(
      "sum keepdims", {2, 3, 4},
      [](Node* x) {
        return sum(x, {0, 2}, true);
      },
      31);
  expect_jvp_matches(
      "sum all", {2, 3}, [](Node* x) { return sum(sin(x)); }, 32);
  expect_jvp_matches(
      "broadcast add", {3, 1},
      [](Node* x) {
        return mul(add(x, sin(broadcast_to(x, {2, 3, 4}))), x);
      },
      33);
}

TEST(HiddenJvp, MatMulVariants) {
  SCOPED_TRACE(hidden::seed_note());
  expect_jvp_matches(
      "x·xᵀ", {3, 4}, [](Node* x) { return matmul(x, x, false, true); }, 40);
  expect_jvp_matches(
      "xᵀ·x", {3, 4}, [](Node* x) { return matmul(x, x, true, false); }, 41);
  expect_jvp_matches(
      "batched x·W", {2, 3, 4},
      [](Node* x) {
        Node* w = x->graph->constant(labs::uniform({4, 5}, hidden::seed(42)));
        return matmul(exp(x), w);
      },
      43);
}

TEST(HiddenJvp, SeveralInputsWithSomeTangentsOnly) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* a = g.input("a", {3, 4}, DType::f64);
  Node* b = g.input("b", {4}, DType::f64);
  Node* c = g.input("c", {4, 2}, DType::f64);
  Node* y = sum(relu(matmul(mul(a, b), c)));
  Node* ad = g.input("a_dot", {3, 4}, DType::f64);
  Node* cd = g.input("c_dot", {4, 2}, DType::f64);
  const Feeds at{{a, labs::uniform({3, 4}, hidden::seed(50))},
                 {b, labs::uniform({4}, hidden::seed(51))},
                 {c, labs::uniform({4, 2}, hidden::seed(52))}};
  Feeds feeds = at;
  feeds[ad] = labs::uniform({3, 4}, hidden::seed(53));
  feeds[cd] = labs::uniform({4, 2}, hidden::seed(54));
  const double expected = labs::directional_derivative(y, {a, c}, {feeds[ad], feeds[cd]}, at);
  EXPECT_TRUE(labs::near("ẏ with b held fixed", eval(jvp(y, {a, c}, {ad, cd}), feeds), expected,
                         1e-6 * (1 + std::abs(expected)),
                         "b is not among the inputs: its tangent is zero"));
}

TEST(HiddenJacobianForward, TakesExactlyNPassesAndMatches) {
  SCOPED_TRACE(hidden::seed_note());
  const int64_t n = hidden::draw_int(60, 2, 7), k = hidden::draw_int(63, 1, 4);
  Graph g;
  Node* x = g.input("x", {1, n}, DType::f64);
  Node* w = g.constant(labs::uniform({n, k}, hidden::seed(61)));
  Node* out = reshape(tanh(matmul(mul(x, x), w)), {k});
  const Feeds at{{x, labs::uniform({1, n}, hidden::seed(62))}};
  const size_t nodes_before = g.size();
  const int64_t evals_before = global_evaluation_count();
  int64_t passes = -1;
  const Tensor jac = jacobian_forward(out, x, at, &passes);
  const int64_t evals = global_evaluation_count() - evals_before;
  EXPECT_EQ(passes, n) << "expected one run of the tangent graph per input element (n = " << n
                       << "), got " << passes;
  // Built once, run n times: at most n evaluations of every node of the graph.
  EXPECT_LE(evals, n * static_cast<int64_t>(g.size()))
      << "the tangent graph is built once and run n = " << n << " times (graph of " << g.size()
      << " nodes, " << nodes_before << " before jvp)";
  EXPECT_GE(evals, n) << "expected at least one evaluation per pass (n = " << n << "), got "
                      << evals;
  ASSERT_EQ(jac.shape(), (Shape{k, n})) << "expected the Jacobian's shape (k, n)";
  std::vector<double> expected;
  for (int64_t i = 0; i < k; ++i) {
    const std::vector<double> row =
        labs::oracle_gradient(slice(out, 0, i, i + 1), x, at).to_doubles();
    expected.insert(expected.end(), row.begin(), row.end());
  }
  EXPECT_TRUE(labs::close("forward-mode Jacobian", jac,
                          Tensor::from_values({k, n}, expected, DType::f64), 1e-6, 1e-6));
}

// A shape of rank 1 to 3 with dimensions 1 to 4.
Shape random_shape(uint64_t salt) {
  return hidden::draw_shape(salt,
                            std::vector<std::pair<int64_t, int64_t>>(
                                static_cast<size_t>(hidden::draw_int(salt + 1, 1, 3)), {1, 4}));
}

TEST(HiddenJvpRule, AddAndMulWithOneTangentNullptrOnRandomShapes) {
  SCOPED_TRACE(hidden::seed_note());
  const Shape s = random_shape(70);
  Graph g;
  Node* a = g.input("a", s, DType::f64);
  Node* b = g.input("b", s, DType::f64);
  const Feeds at{{a, labs::uniform(s, hidden::seed(71))}, {b, labs::uniform(s, hidden::seed(72))}};
  struct Case {
    Node* y;
    Node* moving;
    const char* rule;
  };
  const std::vector<Case> cases = {{add(a, b), a, "add with ḃ = nullptr: ẏ = ȧ"},
                                   {add(a, b), b, "add with ȧ = nullptr: ẏ = ḃ"},
                                   {mul(a, b), a, "mul with ḃ = nullptr: ẏ = ȧ·b"},
                                   {mul(a, b), b, "mul with ȧ = nullptr: ẏ = a·ḃ"}};
  for (const Case& c : cases) {
    const ::testing::AssertionResult result = labs::in_child("a nullptr tangent is zero", [&] {
      return labs::jvp_rule_matches(c.y, at, {c.moving}, hidden::seed(73), c.rule);
    });
    EXPECT_TRUE(result) << "shape " << shape_str(s);
  }
}

TEST(HiddenJvp, OpWithoutARuleIsAnErrorNamingIt) {
  SCOPED_TRACE(hidden::seed_note());
  Shape s = random_shape(80);
  s.push_back(2);  // rms_norm_backward_weight reduces every axis but the last
  Graph g;
  Node* x = g.input("x", s, DType::f64);
  Node* xd = g.input("x_dot", s, DType::f64);
  Node* y_bar = g.constant(labs::uniform(s, hidden::seed(81)));
  Node* y = sum(mul(rms_norm_backward_weight(exp(x), y_bar), 2.0));
  const ::testing::AssertionResult result =
      labs::in_child("check that the op has a JVP rule before calling it", [&] {
        return labs::throws([&] { jvp(y, {x}, {xd}); }, "rms_norm_backward_weight",
                            "expected a gw::Error naming the op without a JVP rule");
      });
  EXPECT_TRUE(result);
}

TEST(HiddenJacobianForward, GradientOfRnToRTakesExactlyNPasses) {
  SCOPED_TRACE(hidden::seed_note());
  const int64_t n = hidden::draw_int(90, 2, 12);
  Graph g;
  Node* x = g.input("x", {n}, DType::f64);
  Node* f = sum(mul(sin(x), g.constant(labs::uniform({n}, hidden::seed(91)))));
  const Feeds at{{x, labs::uniform({n}, hidden::seed(92), -2, 2)}};
  int64_t passes = -1;
  const Tensor jac = jacobian_forward(f, x, at, &passes);
  EXPECT_EQ(passes, n) << "expected n = " << n << " runs of the tangent graph for ℝⁿ → ℝ, got "
                       << passes;
  ASSERT_EQ(jac.shape(), (Shape{1, n})) << "expected the Jacobian's shape (1, n)";
  EXPECT_TRUE(labs::close("gradient of Σ sin(x)∘c by forward mode", jac.reshaped({n}),
                          labs::oracle_gradient(f, x, at), 1e-6, 1e-6));
}

}  // namespace
}  // namespace gw
