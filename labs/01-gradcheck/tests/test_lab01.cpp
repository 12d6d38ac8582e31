// test_lab01.cpp — public tests of lab 01 (numerical gradient checking): the lecture's
// numbers (y = ln x1 + x1·x2 − sin x2 at (2, 5)), the central difference and gradcheck's
// report, and the ε study. Each test names the claim it checks; its messages say what to look at.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gw/autodiff.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

using labs::scalar_tensor;

// labs::near and labs::close, observing the value they check first. (Once lab_testing.h's
// helpers observe — a one-line change in each — these two go.)
::testing::AssertionResult near(const std::string& what, const Tensor& a, double expected, double tol,
                                const std::string& why = "") {
  observe::tensor(what, a, tol);
  return labs::near(what, a, expected, tol, why);
}
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b,
                                 double atol = 1e-6, double rtol = 1e-6) {
  observe::tensor(what, a, atol, rtol);
  return labs::close(what, a, b, atol, rtol);
}

// y = ln(x1) + x1·x2 − sin(x2) written in plain C++ on the inputs' first elements.
double lecture_function(const std::vector<Tensor>& in) {
  const double x1 = in.at(0).to_doubles().at(0), x2 = in.at(1).to_doubles().at(0);
  return std::log(x1) + x1 * x2 - std::sin(x2);
}

// f(x, w) = Σ w ∘ x² (+ Σ sin w): a tensor function whose gradients we know by hand,
// ∂f/∂x = 2 w ∘ x and ∂f/∂w = x² + cos w.
double weighted_squares(const std::vector<Tensor>& in) {
  const std::vector<double> x = in.at(0).to_doubles(), w = in.at(1).to_doubles();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += w[i] * x[i] * x[i] + std::sin(w[i]);
  return s;
}

struct WeightedSquares {
  Tensor x = labs::uniform({2, 3}, 11);
  Tensor w = labs::uniform({2, 3}, 12);
  Tensor grad_x() const {
    std::vector<double> a = x.to_doubles(), b = w.to_doubles(), g(a.size());
    for (size_t i = 0; i < a.size(); ++i) g[i] = 2 * b[i] * a[i];
    return Tensor::from_values(x.shape(), g, DType::f64);
  }
  Tensor grad_w() const {
    std::vector<double> a = x.to_doubles(), b = w.to_doubles(), g(a.size());
    for (size_t i = 0; i < a.size(); ++i) g[i] = a[i] * a[i] + std::cos(b[i]);
    return Tensor::from_values(w.shape(), g, DType::f64);
  }
};

// A copy of `t` with element `at` moved by `delta`.
Tensor planted(const Tensor& t, int64_t at, double delta) {
  std::vector<double> v = t.to_doubles();
  v.at(static_cast<size_t>(at)) += delta;
  return Tensor::from_values(t.shape(), v, t.dtype());
}

TEST(NumericalGradient, ReproducesLectureDerivativeForX1) {
  const std::vector<Tensor> in{scalar_tensor(2), scalar_tensor(5)};
  EXPECT_TRUE(near("numerical ∂y/∂x1 at (2, 5)", numerical_gradient(lecture_function, in, 0),
                   5.5, 1e-6, "∂y/∂x1 = 1/x1 + x2; perturb only input 0, by ±ε, divide by 2ε"));
}

TEST(NumericalGradient, ReproducesLectureDerivativeForX2) {
  const std::vector<Tensor> in{scalar_tensor(2), scalar_tensor(5)};
  EXPECT_TRUE(near("numerical ∂y/∂x2 at (2, 5)", numerical_gradient(lecture_function, in, 1),
                   2 - std::cos(5.0), 1e-6,
                   "∂y/∂x2 = x1 − cos(x2) = 1.716; `which` = 1 must perturb the second input"));
}

TEST(NumericalGradient, WorksOnTheLectureGraphThroughGraphFunction) {
  Graph g;
  labs::LectureGraph l = labs::lecture_graph(g);
  const ScalarFunction f = graph_function(l.y, {l.x1, l.x2});
  const std::vector<Tensor> in{scalar_tensor(2), scalar_tensor(5)};
  ASSERT_TRUE(near("y at (2, 5)", scalar_tensor(f(in)), 11.652071, 1e-5));
  EXPECT_TRUE(near("numerical ∂y/∂x1 of the graph", numerical_gradient(f, in, 0), 5.5, 1e-6));
  EXPECT_TRUE(near("numerical ∂y/∂x2 of the graph", numerical_gradient(f, in, 1), 1.716338,
                   1e-6));
}

TEST(NumericalGradient, IsCentralNotOneSided) {
  // f(x) = x³ at 1 with ε = 1e-3: central (3 + ε²) = 3.000001, one-sided 3.003001.
  auto cube = [](const std::vector<Tensor>& in) { return std::pow(in[0].item(), 3); };
  const Tensor g = numerical_gradient(cube, {scalar_tensor(1)}, 0, 1e-3);
  EXPECT_TRUE(near("numerical d(x³)/dx at 1 with ε = 1e-3", g, 3.0, 1e-5,
                   "an error near 3e-3 means a one-sided difference (f(x+ε) − f(x))/ε; use "
                   "(f(x+ε) − f(x−ε))/2ε, whose error is O(ε²)"));
}

TEST(NumericalGradient, HasTheInputShapeAndIsF64) {
  WeightedSquares p;
  const std::vector<Tensor> in{p.x.astype(DType::f32), p.w.astype(DType::f32)};
  const Tensor g = numerical_gradient(weighted_squares, in, 0);
  observe::text("shape of the gradient", shape_str(g.shape()));
  observe::text("dtype of the gradient", dtype_name(g.dtype()));
  EXPECT_EQ(g.shape(), p.x.shape()) << "the gradient has the shape of the input it is taken for";
  EXPECT_EQ(g.dtype(), DType::f64) << "numerical gradients are computed and returned in f64, "
                                      "whatever the input's dtype";
}

TEST(NumericalGradient, MatchesAHandDerivedTensorGradient) {
  WeightedSquares p;
  EXPECT_TRUE(close("numerical ∂f/∂x of Σ w∘x²", numerical_gradient(weighted_squares, {p.x, p.w}, 0),
                    p.grad_x(), 1e-6, 1e-6));
  EXPECT_TRUE(close("numerical ∂f/∂w of Σ w∘x² + Σ sin w",
                    numerical_gradient(weighted_squares, {p.x, p.w}, 1), p.grad_w(), 1e-6, 1e-6));
}

TEST(NumericalGradient, TakesTwoEvaluationsPerElement) {
  WeightedSquares p;
  int calls = 0;
  auto counted = [&](const std::vector<Tensor>& in) {
    ++calls;
    return weighted_squares(in);
  };
  (void)numerical_gradient(counted, {p.x, p.w}, 1);
  observe::count("calls of f", calls);
  EXPECT_EQ(calls, 2 * 6) << "one f(θ + ε eⱼ) and one f(θ − ε eⱼ) per element of the 2×3 input";
}

TEST(NumericalGradient, LeavesTheCallersInputsUnchanged) {
  WeightedSquares p;
  const std::vector<double> before = p.x.to_doubles();
  (void)numerical_gradient(weighted_squares, {p.x, p.w}, 0);
  observe::values("the caller's input after the call", p.x.to_doubles());
  EXPECT_EQ(p.x.to_doubles(), before)
      << "Tensor copies share memory: perturb a clone() of the input, not the caller's tensor";
}

TEST(Gradcheck, PassesACorrectGradient) {
  WeightedSquares p;
  const GradcheckReport r = gradcheck(weighted_squares, {p.grad_x(), p.grad_w()}, {p.x, p.w});
  observe::count("input checks", static_cast<int64_t>(r.inputs.size()));
  ASSERT_EQ(r.inputs.size(), 2u) << "one InputCheck per input";
  observe::flag("report passed", r.passed);
  for (size_t i = 0; i < 2; ++i) {
    observe::flag("input " + std::to_string(i) + " passed", r.inputs[i].passed);
    observe::indices("failing elements of input " + std::to_string(i), r.inputs[i].failing);
  }
  observe::value("max abs error of input 0", r.inputs[0].max_abs_error, 1e-6);
  EXPECT_TRUE(r.passed) << r.str();
  EXPECT_TRUE(r.inputs[0].passed && r.inputs[1].passed) << r.str();
  EXPECT_TRUE(r.inputs[0].failing.empty() && r.inputs[1].failing.empty()) << r.str();
  EXPECT_LT(r.inputs[0].max_abs_error, 1e-6) << r.str();
}

TEST(Gradcheck, FlagsThePlantedWrongElementOnly) {
  WeightedSquares p;
  const GradcheckReport r =
      gradcheck(weighted_squares, {planted(p.grad_x(), 4, 0.01), p.grad_w()}, {p.x, p.w});
  observe::count("input checks", static_cast<int64_t>(r.inputs.size()));
  ASSERT_EQ(r.inputs.size(), 2u);
  observe::flag("report passed", r.passed);
  observe::flag("input 0 passed", r.inputs[0].passed);
  observe::indices("failing elements of input 0", r.inputs[0].failing);
  observe::flag("input 1 passed", r.inputs[1].passed);
  EXPECT_FALSE(r.passed) << "element 4 of ∂f/∂x is off by 0.01: the report must fail";
  EXPECT_FALSE(r.inputs[0].passed);
  EXPECT_EQ(r.inputs[0].failing, std::vector<int64_t>{4})
      << "failing lists the flat indices of the elements out of tolerance, here only 4\n"
      << r.str();
  EXPECT_TRUE(r.inputs[1].passed) << "∂f/∂w is right: its InputCheck passes\n" << r.str();
}

TEST(Gradcheck, ReportsTheMaxAbsoluteAndRelativeErrors) {
  WeightedSquares p;
  const Tensor gx = p.grad_x();
  const double at4 = gx.to_doubles()[4];
  const GradcheckReport r = gradcheck(weighted_squares, {planted(gx, 4, 0.01), p.grad_w()},
                                      {p.x, p.w});
  observe::count("input checks", static_cast<int64_t>(r.inputs.size()));
  ASSERT_EQ(r.inputs.size(), 2u);
  observe::value("max abs error of input 0", r.inputs[0].max_abs_error, 1e-6);
  observe::value("max rel error of input 0", r.inputs[0].max_rel_error, 1e-4 / std::abs(at4));
  EXPECT_NEAR(r.inputs[0].max_abs_error, 0.01, 1e-6) << "max |g − ĝ| over the elements";
  EXPECT_NEAR(r.inputs[0].max_rel_error, 0.01 / std::abs(at4), 1e-4 / std::abs(at4))
      << "max |g − ĝ| / |ĝ| (relative to the numerical gradient)";
}

TEST(Gradcheck, AppliesAtolPlusRtolTimesTheNumericalGradient) {
  WeightedSquares p;
  const std::vector<Tensor> grads{planted(p.grad_x(), 0, 1e-5), p.grad_w()};
  GradcheckOptions loose;
  loose.atol = 1e-4;
  loose.rtol = 0;
  const bool loose_passed = gradcheck(weighted_squares, grads, {p.x, p.w}, loose).passed;
  observe::flag("passed with atol 1e-4", loose_passed);
  EXPECT_TRUE(loose_passed) << "an error of 1e-5 is within atol = 1e-4";
  GradcheckOptions tight;
  tight.atol = 1e-7;
  tight.rtol = 0;
  const bool tight_passed = gradcheck(weighted_squares, grads, {p.x, p.w}, tight).passed;
  observe::flag("passed with atol 1e-7", tight_passed);
  EXPECT_FALSE(tight_passed) << "an error of 1e-5 exceeds atol = 1e-7 with rtol = 0";
}

// Index of the smallest error of one precision.
size_t best_eps(const std::vector<EpsStudyPoint>& pts, bool f32) {
  size_t b = 0;
  for (size_t i = 0; i < pts.size(); ++i)
    if ((f32 ? pts[i].error_f32 : pts[i].error_f64) < (f32 ? pts[b].error_f32 : pts[b].error_f64))
      b = i;
  return b;
}

TEST(EpsStudy, ErrorCurvesAreUShapedAndFloatRoundsFirst) {
  const std::vector<EpsStudyPoint> pts = eps_study();
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 45u) << "with no argument the study takes eps_study_grid(): four steps "
                                  "per decade from 1e-1 to 1e-12";
  EXPECT_DOUBLE_EQ(pts.front().eps, 1e-1);
  EXPECT_NEAR(pts.back().eps, 1e-12, 1e-24);
  const size_t b32 = best_eps(pts, true), b64 = best_eps(pts, false);
  observe::value("first ε", pts.front().eps, 0, 1e-15);
  observe::value("last ε", pts.back().eps, 0, 1e-12);
  observe::flag("the best f64 ε is inside the grid", b64 > 0 && b64 < pts.size() - 1);
  observe::flag("the f64 error rises tenfold at ε = 1e-12", pts.back().error_f64 > 10 * pts[b64].error_f64);
  observe::flag("the best f32 ε is larger than the best f64 ε", b32 < b64);
  EXPECT_GT(b64, 0u) << "the f64 error should still fall below ε = 1e-1 (truncation regime)";
  EXPECT_LT(b64, pts.size() - 1) << "the f64 error should rise again at ε = 1e-12 (rounding)";
  EXPECT_GT(pts.back().error_f64, 10 * pts[b64].error_f64)
      << "is the f64 difference really computed in double?";
  EXPECT_LT(b32, b64) << "float rounds sooner, so its best ε is larger; best f32 ε "
                      << pts[b32].eps << ", best f64 ε " << pts[b64].eps
                      << " (is the f32 difference computed entirely in float?)";
}

}  // namespace
}  // namespace gw
