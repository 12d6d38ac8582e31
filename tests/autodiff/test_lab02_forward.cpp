// test_lab02_forward.cpp — lab 02: dual numbers, jvp over the graph, Jacobians by n JVPs
// (handouts/lab02-forward-mode.md).
#include <cmath>

#include "autodiff_testing.h"
#include "gw/dual.h"

namespace gw {
namespace {

const double kPi = 3.14159265358979323846;

TEST(Lab02, DualTraceOfLectureExampleAt2_5) {
  const Dual v1{2.0, 1.0}, v2{5.0, 0.0};  // ẋ = (1, 0)
  const Dual v3 = log(v1), v4 = v1 * v2, v5 = sin(v2), v6 = v3 + v4, v7 = v6 - v5;
  EXPECT_DOUBLE_EQ(v3.tangent, 0.5);
  EXPECT_DOUBLE_EQ(v4.tangent, 5.0);
  EXPECT_DOUBLE_EQ(v5.tangent, 0.0);
  EXPECT_DOUBLE_EQ(v6.tangent, 5.5);
  EXPECT_DOUBLE_EQ(v7.tangent, 5.5);
  EXPECT_NEAR(v7.value, 11.652, 5e-4);
}

// f(w1, w2) = (sin(2π w1/w2) + 3w1/w2 − exp(2w2)) · (3w1/w2 − exp(2w2)).
template <typename T>
T z_program(T w1, T w2) {
  const T z1 = w1 / w2;
  const T z2 = sin(z1 * T{2 * kPi});
  const T z3 = exp(w2 * T{2.0});
  const T z4 = z1 * T{3.0} - z3;
  const T z5 = z2 + z4;
  return z4 * z5;
}

TEST(Lab02, StraightLineProgramValueIs39_45998) {
  const Dual f = z_program(Dual{1.5, 1.0}, Dual{0.5, 0.0});
  EXPECT_NEAR(f.value, 39.45998, 5e-6);
}

TEST(Lab02, StraightLineProgramTangentsMatchCentralDifferences) {
  auto f = [](double a, double b) { return z_program(Dual{a}, Dual{b}).value; };
  const double e = 1e-6;
  const double d1 = z_program(Dual{1.5, 1.0}, Dual{0.5, 0.0}).tangent;
  const double d2 = z_program(Dual{1.5, 0.0}, Dual{0.5, 1.0}).tangent;
  EXPECT_NEAR(d1, (f(1.5 + e, 0.5) - f(1.5 - e, 0.5)) / (2 * e), 1e-5);
  EXPECT_NEAR(d2, (f(1.5, 0.5 + e) - f(1.5, 0.5 - e)) / (2 * e), 1e-4);
}

TEST(Lab02, DualElementaryFunctionsHaveTheirDerivatives) {
  const double x = 0.7;
  const Dual d{x, 1.0};
  EXPECT_NEAR(exp(d).tangent, std::exp(x), 1e-15);
  EXPECT_NEAR(log(d).tangent, 1 / x, 1e-15);
  EXPECT_NEAR(sin(d).tangent, std::cos(x), 1e-15);
  EXPECT_NEAR(cos(d).tangent, -std::sin(x), 1e-15);
  EXPECT_NEAR(sqrt(d).tangent, 0.5 / std::sqrt(x), 1e-15);
  EXPECT_NEAR(pow(d, 3.0).tangent, 3 * x * x, 1e-15);
  EXPECT_NEAR(tanh(d).tangent, 1 - std::tanh(x) * std::tanh(x), 1e-15);
  EXPECT_NEAR((-d).tangent, -1.0, 0);
  EXPECT_NEAR((d / Dual{2.0}).tangent, 0.5, 1e-15);
  EXPECT_NEAR((Dual{2.0} / d).tangent, -2 / (x * x), 1e-14);
}

TEST(Lab02, JvpOnTheLectureGraphGives5_5) {
  Graph g;
  Node* x1 = testing::scalar_param(g, "x1", 2.0);
  Node* x2 = testing::scalar_param(g, "x2", 5.0);
  Node* y = sub(add(log(x1), mul(x1, x2)), sin(x2));
  Node* t1 = g.scalar(1.0, DType::f64);
  Node* t2 = g.scalar(0.0, DType::f64);
  EXPECT_NEAR(testing::value_of(jvp(y, {x1, x2}, {t1, t2})), 5.5, 1e-12);
  EXPECT_NEAR(testing::value_of(jvp(y, {x1, x2}, {t2, t1})), 2.0 - std::cos(5.0), 1e-12);
}

TEST(Lab02, JvpOfAnOutputThatIgnoresTheInputIsZero) {
  Graph g;
  Node* x = testing::random_param(g, "x", {3}, 1);
  Node* c = testing::random_param(g, "c", {3}, 2);
  Node* t = jvp(exp(c), {x}, {g.constant(Tensor::full({3}, 1.0, DType::f64))});
  for (double v : eval(t).to_doubles()) EXPECT_EQ(v, 0.0);
}

// f: R⁶ → R⁴ through matmul, broadcasting and nonlinearities.
struct SmallNet {
  Graph g;
  Node* x;
  Node* out;
  SmallNet() {
    x = g.input("x", {2, 3}, DType::f64);
    Node* w = testing::random_param(g, "w", {3, 2}, 5);
    Node* b = testing::random_param(g, "b", {2}, 6);
    out = tanh(add(matmul(sin(x), w), b));  // (2, 2)
  }
  Feeds feeds() const { return {{x, testing::random_tensor({2, 3}, DType::f64, 7)}}; }
};

TEST(Lab02, JacobianForwardMatchesReverseAndNumerical) {
  SmallNet net;
  const Feeds feeds = net.feeds();
  const std::vector<double> jf = jacobian_forward(net.out, net.x, feeds).to_doubles();
  const std::vector<double> jr = jacobian_reverse(net.out, net.x, feeds).to_doubles();
  ASSERT_EQ(jf.size(), 24u);
  ASSERT_EQ(jr.size(), 24u);
  const std::vector<Tensor> point = {feeds.at(net.x)};
  for (int64_t i = 0; i < 4; ++i) {
    // Row i numerically: the gradient of output element i.
    auto fi = [&](const std::vector<Tensor>& v) {
      return eval(net.out, {{net.x, v[0]}}).to_doubles()[static_cast<size_t>(i)];
    };
    const std::vector<double> row = numerical_gradient(fi, point, 0, 1e-6).to_doubles();
    for (size_t j = 0; j < 6; ++j) {
      EXPECT_NEAR(jf[static_cast<size_t>(i) * 6 + j], row[j], 1e-8) << "forward J[" << i << "," << j << "]";
      EXPECT_NEAR(jr[static_cast<size_t>(i) * 6 + j], row[j], 1e-8) << "reverse J[" << i << "," << j << "]";
    }
  }
}

TEST(Lab02, JacobianOfRnToRTakesNForwardPassesAndOneReversePass) {
  Graph g;
  const int64_t n = 8;
  Node* x = g.input("x", {n}, DType::f64);
  Node* f = sum(mul(sin(x), x));  // Rⁿ → R
  const Feeds feeds = {{x, testing::random_tensor({n}, DType::f64, 11)}};
  int64_t forward_passes = 0, reverse_passes = 0;
  const int64_t before_forward = global_evaluation_count();
  const Tensor jf = jacobian_forward(f, x, feeds, &forward_passes);
  const int64_t forward_evals = global_evaluation_count() - before_forward;
  const int64_t before_reverse = global_evaluation_count();
  const Tensor jr = jacobian_reverse(f, x, feeds, &reverse_passes);
  const int64_t reverse_evals = global_evaluation_count() - before_reverse;
  EXPECT_EQ(forward_passes, n);
  EXPECT_EQ(reverse_passes, 1);
  // Every forward pass evaluates the same tangent graph: n equal runs.
  EXPECT_EQ(forward_evals % n, 0) << forward_evals << " evaluations in " << n << " passes";
  EXPECT_GT(forward_evals, 2 * reverse_evals)
      << "forward " << forward_evals << " evaluations, reverse " << reverse_evals;
  const std::vector<double> a = jf.to_doubles(), b = jr.to_doubles();
  for (size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-12);
}

}  // namespace
}  // namespace gw
