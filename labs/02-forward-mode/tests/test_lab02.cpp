// test_lab02.cpp — public tests of lab 02 (forward-mode autodiff): the lecture's tangent
// trace with dual numbers and with jvp() on the graph, the straight-line program
// f(1.5, 0.5) = 39.45998…, JVPs of tensor ops against central differences, and the Jacobian
// by n forward passes. The oracle is the tests' own central difference, not your lab 01.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "gw/dual.h"
#include "gw/op_table.h"
#include "lab_testing.h"

namespace gw {
namespace {

using labs::near;
using labs::scalar_tensor;

constexpr double kPi = 3.14159265358979323846;

// Central difference of a plain scalar function, the oracle for the Dual tests.
double derivative(const std::function<double(double)>& f, double x, double eps = 1e-6) {
  return (f(x + eps) - f(x - eps)) / (2 * eps);
}

template <typename T>
T straight_line(T w1, T w2) {
  const T z1 = w1 / w2;
  const T z2 = sin(T{2 * kPi} * z1);
  const T z3 = exp(T{2.0} * w2);
  const T z4 = T{3.0} * z1 - z3;
  const T z5 = z2 + z4;
  return z4 * z5;
}

double straight_line_double(double w1, double w2) {
  using std::exp;
  using std::sin;
  return (sin(2 * kPi * w1 / w2) + 3 * w1 / w2 - exp(2 * w2)) * (3 * w1 / w2 - exp(2 * w2));
}

TEST(Dual, ReproducesTheLectureTangentTrace) {
  const Dual x1{2.0, 1.0}, x2{5.0, 0.0};  // ẋ = (1, 0)
  const Dual v3 = log(x1), v4 = x1 * x2, v5 = sin(x2), v6 = v3 + v4, v7 = v6 - v5;
  EXPECT_NEAR(v3.tangent, 0.5, 1e-12) << "v̇3 = v̇1 / v1 (tangent of ln)";
  EXPECT_NEAR(v4.tangent, 5.0, 1e-12) << "v̇4 = v̇1·v2 + v1·v̇2 (product rule)";
  EXPECT_NEAR(v5.tangent, 0.0, 1e-12) << "v̇5 = cos(v2)·v̇2 and v̇2 = 0";
  EXPECT_NEAR(v6.tangent, 5.5, 1e-12) << "v̇6 = v̇3 + v̇4";
  EXPECT_NEAR(v7.tangent, 5.5, 1e-12) << "v̇7 = v̇6 − v̇5";
  EXPECT_NEAR(v7.value, 11.652071, 1e-5) << "the value of y rides along: ln 2 + 10 − sin 5";
}

TEST(Dual, StraightLineProgramValueIs39Point45998) {
  const Dual f = straight_line(Dual{1.5, 1.0}, Dual{0.5, 0.0});
  EXPECT_NEAR(f.value, 39.45998, 1e-5) << "f(1.5, 0.5) of the lecture's straight-line program";
}

TEST(Dual, StraightLineProgramTangentsMatchCentralDifferences) {
  const Dual d1 = straight_line(Dual{1.5, 1.0}, Dual{0.5, 0.0});
  const Dual d2 = straight_line(Dual{1.5, 0.0}, Dual{0.5, 1.0});
  EXPECT_NEAR(d1.tangent, derivative([](double w) { return straight_line_double(w, 0.5); }, 1.5),
              1e-5)
      << "∂f/∂w1 (seed w1 with tangent 1)";
  EXPECT_NEAR(d2.tangent, derivative([](double w) { return straight_line_double(1.5, w); }, 0.5),
              1e-4)
      << "∂f/∂w2 (seed w2 with tangent 1): check the quotient rule and exp's tangent";
}

TEST(Dual, EveryElementaryFunctionHasTheRightTangent) {
  struct Case {
    const char* name;
    std::function<Dual(Dual)> dual;
    std::function<double(double)> plain;
    double x;
  };
  const std::vector<Case> cases = {
      {"exp", [](Dual a) { return exp(a); }, [](double a) { return std::exp(a); }, 0.7},
      {"log", [](Dual a) { return log(a); }, [](double a) { return std::log(a); }, 1.9},
      {"sin", [](Dual a) { return sin(a); }, [](double a) { return std::sin(a); }, 0.4},
      {"cos", [](Dual a) { return cos(a); }, [](double a) { return std::cos(a); }, 0.4},
      {"sqrt", [](Dual a) { return sqrt(a); }, [](double a) { return std::sqrt(a); }, 2.5},
      {"pow 3.5", [](Dual a) { return pow(a, 3.5); }, [](double a) { return std::pow(a, 3.5); },
       1.3},
      {"tanh", [](Dual a) { return tanh(a); }, [](double a) { return std::tanh(a); }, 0.3},
      {"negation", [](Dual a) { return -a; }, [](double a) { return -a; }, 0.3},
      {"a / (1 + a)", [](Dual a) { return a / (Dual{1.0} + a); },
       [](double a) { return a / (1 + a); }, 0.8},
      {"a·a − a", [](Dual a) { return a * a - a; }, [](double a) { return a * a - a; }, 0.8},
  };
  for (const Case& c : cases) {
    const Dual r = c.dual(Dual{c.x, 1.0});
    EXPECT_NEAR(r.value, c.plain(c.x), 1e-12) << c.name << ": the value part is f(a)";
    EXPECT_NEAR(r.tangent, derivative(c.plain, c.x), 1e-6) << c.name << ": the tangent is f'(a)·ȧ";
  }
}

// The lecture graph with one tangent Input per input, fed with the direction ẋ.
struct LectureJvp {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  Node* t1 = g.input("x1_dot", {}, DType::f64);
  Node* t2 = g.input("x2_dot", {}, DType::f64);
  Feeds feeds(double d1, double d2) {
    return {{l.x1, scalar_tensor(2)}, {l.x2, scalar_tensor(5)}, {t1, scalar_tensor(d1)},
            {t2, scalar_tensor(d2)}};
  }
  Tensor tangent_of(Node* v, double d1, double d2) {
    return eval(jvp(v, {l.x1, l.x2}, {t1, t2}), feeds(d1, d2));
  }
};

TEST(Jvp, ReproducesTheLectureTraceOnTheGraph) {
  LectureJvp t;
  EXPECT_TRUE(near("v̇3 (ln)", t.tangent_of(t.l.v3, 1, 0), 0.5, 1e-12));
  EXPECT_TRUE(near("v̇4 (mul)", t.tangent_of(t.l.v4, 1, 0), 5.0, 1e-12, "product rule"));
  EXPECT_TRUE(near("v̇5 (sin)", t.tangent_of(t.l.v5, 1, 0), 0.0, 1e-12));
  EXPECT_TRUE(near("v̇6 (add)", t.tangent_of(t.l.v6, 1, 0), 5.5, 1e-12));
  EXPECT_TRUE(near("v̇7 = ẏ (sub)", t.tangent_of(t.l.y, 1, 0), 5.5, 1e-12));
}

TEST(Jvp, SecondDirectionGivesDyDx2) {
  LectureJvp t;
  EXPECT_TRUE(near("ẏ for ẋ = (0, 1)", t.tangent_of(t.l.y, 0, 1), 1.716338, 1e-6,
                   "∂y/∂x2 = x1 − cos(x2): the tangent of x2 must reach mul and sin"));
}

TEST(Jvp, StraightLineProgramMatchesCentralDifferences) {
  Graph g;
  Node* w1 = g.input("w1", {}, DType::f64);
  Node* w2 = g.input("w2", {}, DType::f64);
  Node* t1 = g.input("w1_dot", {}, DType::f64);
  Node* t2 = g.input("w2_dot", {}, DType::f64);
  Node* f = labs::straight_line_program(w1, w2);
  Node* f_dot = jvp(f, {w1, w2}, {t1, t2});
  const Feeds at{{w1, scalar_tensor(1.5)}, {w2, scalar_tensor(0.5)}};
  Feeds d1 = at, d2 = at;
  d1[t1] = scalar_tensor(1);
  d1[t2] = scalar_tensor(0);
  d2[t1] = scalar_tensor(0);
  d2[t2] = scalar_tensor(1);
  EXPECT_TRUE(near("∂f/∂w1", eval(f_dot, d1), labs::oracle_gradient(f, w1, at).item(), 1e-5));
  EXPECT_TRUE(near("∂f/∂w2", eval(f_dot, d2), labs::oracle_gradient(f, w2, at).item(), 1e-4,
                   "div, exp, scalar mul and sub all lie on w2's path"));
}

TEST(Jvp, TensorGraphWithMatmulBroadcastAndSumMatchesCentralDifferences) {
  // y = Σ exp(x W + b) with x (2, 3), W (3, 4), b (4) broadcast over rows.
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  Node* w = g.input("W", {3, 4}, DType::f64);
  Node* b = g.input("b", {4}, DType::f64);
  Node* y = sum(exp(add(matmul(x, w), b)));
  Node* xd = g.input("x_dot", {2, 3}, DType::f64);
  Node* wd = g.input("W_dot", {3, 4}, DType::f64);
  Node* bd = g.input("b_dot", {4}, DType::f64);
  const Feeds at{{x, labs::uniform({2, 3}, 1)}, {w, labs::uniform({3, 4}, 2)},
                 {b, labs::uniform({4}, 3)}};
  Feeds feeds = at;
  feeds[xd] = labs::uniform({2, 3}, 4);
  feeds[wd] = labs::uniform({3, 4}, 5);
  feeds[bd] = labs::uniform({4}, 6);
  // ẏ = Σ_inputs ⟨∂y/∂input, input_dot⟩
  double expected = 0;
  for (auto [in, dot] : {std::pair{x, xd}, std::pair{w, wd}, std::pair{b, bd}}) {
    const std::vector<double> grad = labs::oracle_gradient(y, in, at).to_doubles();
    const std::vector<double> dir = feeds[dot].to_doubles();
    for (size_t i = 0; i < grad.size(); ++i) expected += grad[i] * dir[i];
  }
  EXPECT_TRUE(near("ẏ of Σ exp(xW + b)", eval(jvp(y, {x, w, b}, {xd, wd, bd}), feeds), expected,
                   1e-6, "matmul: ẋW + xẆ; the broadcast of b carries ḃ to every row"));
}

TEST(Jvp, OutputThatDoesNotDependOnTheInputsHasZeroTangent) {
  Graph g;
  Node* x = g.input("x", {3}, DType::f64);
  Node* c = g.input("c", {3}, DType::f64);
  Node* xd = g.input("x_dot", {3}, DType::f64);
  Node* y = exp(c);
  const Tensor t = eval(jvp(y, {x}, {xd}), {{c, labs::uniform({3}, 1)},
                                             {xd, labs::uniform({3}, 2)}});
  EXPECT_TRUE(labs::close("tangent of exp(c) with respect to x", t,
                          Tensor::zeros({3}, DType::f64)))
      << "a node that does not depend on any input has tangent zero";
}

// Applies `node`'s JVP rule to random input tangents and compares the result with the
// directional derivative Σₖ ⟨∂(Σ node ∘ r)/∂inputₖ, ẋₖ⟩ for a random r, from central
// differences.
void expect_rule_matches(Node* node, const Feeds& at) {
  Graph& g = *node->graph;
  const OpDef& def = node->def();
  ASSERT_NE(def.jvp, nullptr) << def.name << " has no JVP rule registered";
  std::vector<Node*> tangents;
  Feeds feeds = at;
  for (size_t k = 0; k < node->inputs.size(); ++k) {
    Node* in = node->inputs[k];
    tangents.push_back(g.input(in->name + "_dot", in->shape, in->dtype));
    feeds[tangents.back()] = labs::uniform(in->shape, 50 + k);
  }
  Node* r = g.constant(labs::uniform(node->shape, 77));
  Node* probe = sum(mul(node, r));
  double expected = 0;
  for (size_t k = 0; k < node->inputs.size(); ++k) {
    const std::vector<double> grad =
        labs::oracle_gradient(probe, node->inputs[k], at).to_doubles();
    const std::vector<double> dir = feeds[tangents[k]].to_doubles();
    for (size_t i = 0; i < grad.size(); ++i) expected += grad[i] * dir[i];
  }
  Node* tangent = def.jvp(*node, tangents);
  ASSERT_NE(tangent, nullptr) << def.name << ": the tangent of a node whose inputs move";
  ASSERT_EQ(tangent->shape, node->shape) << def.name << ": a tangent has its value's shape";
  EXPECT_TRUE(near(std::string(def.name) + " JVP (projected on a random r)",
                   eval(sum(mul(tangent, r)), feeds), expected, 1e-6));
}

TEST(JvpRule, Exp) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(exp(x), {{x, labs::uniform({2, 3}, 1)}});
}

TEST(JvpRule, Log) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(log(x), {{x, labs::uniform({2, 3}, 1, 0.5, 2)}});
}

TEST(JvpRule, Sin) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(sin(x), {{x, labs::uniform({2, 3}, 1, -3, 3)}});
}

TEST(JvpRule, Relu) {
  Graph g;
  Node* x = g.input("x", {2, 3}, DType::f64);
  expect_rule_matches(relu(x), {{x, labs::uniform({2, 3}, 2)}});
}

TEST(JvpRule, AddAndMul) {
  Graph g;
  Node* a = g.input("a", {2, 3}, DType::f64);
  Node* b = g.input("b", {2, 3}, DType::f64);
  const Feeds at{{a, labs::uniform({2, 3}, 1)}, {b, labs::uniform({2, 3}, 2)}};
  expect_rule_matches(add(a, b), at);
  expect_rule_matches(mul(a, b), at);
}

TEST(JvpRule, SumAlongAxes) {
  Graph g;
  Node* x = g.input("x", {2, 3, 4}, DType::f64);
  const Feeds at{{x, labs::uniform({2, 3, 4}, 1)}};
  expect_rule_matches(sum(x, {1}), at);
  expect_rule_matches(sum(x, {0, 2}, true), at);
}

TEST(JvpRule, MatMulWithAndWithoutTransposeFlags) {
  Graph g;
  Node* a = g.input("a", {3, 4}, DType::f64);
  Node* b = g.input("b", {4, 2}, DType::f64);
  Node* bt = g.input("bt", {2, 4}, DType::f64);
  const Feeds at{{a, labs::uniform({3, 4}, 1)}, {b, labs::uniform({4, 2}, 2)},
                 {bt, labs::uniform({2, 4}, 3)}};
  expect_rule_matches(matmul(a, b), at);
  expect_rule_matches(matmul(a, bt, false, true), at);
}

TEST(JacobianForward, MatchesCentralDifferencesAndTakesNPasses) {
  // out (2) = sin(x) W for x (1, 3), W (3, 2): f: R³ → R².
  Graph g;
  Node* x = g.input("x", {1, 3}, DType::f64);
  Node* w = g.constant(labs::uniform({3, 2}, 7));
  Node* out = reshape(matmul(sin(x), w), {2});
  const Feeds at{{x, labs::uniform({1, 3}, 8)}};
  int64_t passes = 0;
  const Tensor jac = jacobian_forward(out, x, at, &passes);
  ASSERT_EQ(jac.shape(), (Shape{2, 3})) << "(numel(output), numel(input))";
  EXPECT_EQ(passes, 3) << "forward mode needs one pass per input element: n = 3";
  std::vector<double> expected;
  for (int64_t i = 0; i < 2; ++i) {
    const std::vector<double> row = labs::oracle_gradient(slice(out, 0, i, i + 1), x, at)
                                        .to_doubles();
    expected.insert(expected.end(), row.begin(), row.end());
  }
  EXPECT_TRUE(labs::close("Jacobian of sin(x) W", jac,
                          Tensor::from_values({2, 3}, expected, DType::f64), 1e-6, 1e-6))
      << "column j is the output tangent for the one-hot input tangent eⱼ";
}

}  // namespace
}  // namespace gw
