// test_lab01.cpp — public tests of lab 01 (numerical gradient checking): the lecture's
// numbers (y = ln x1 + x1·x2 − sin x2 at (2, 5)), the central difference, gradcheck's report
// (tolerances, the kRelativeErrorTiny guard, NaN, missing gradients) and the ε study (the
// truncation slope, the minimum, the flat stretch of f32). Each test names the claim it
// checks; its messages say what to look at.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h; the
// checks of lab_testing.h do it themselves), never more than it asserts; run by hand, the
// observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

using labs::near;
using labs::scalar_tensor;

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

// A copy of `t` with element `at` set to `value`.
Tensor with_element(const Tensor& t, int64_t at, double value) {
  std::vector<double> v = t.to_doubles();
  v.at(static_cast<size_t>(at)) = value;
  return Tensor::from_values(t.shape(), v, t.dtype());
}

// A copy of `t` with element `at` moved by `delta`.
Tensor planted(const Tensor& t, int64_t at, double delta) {
  return with_element(t, at, t.to_doubles().at(static_cast<size_t>(at)) + delta);
}

// What the gradcheck tests assert of a report, for the grader (never a NaN or an infinity as a
// number: the judge compares neither).
void observe_checks(const GradcheckReport& r) {
  observe::count("input checks", static_cast<int64_t>(r.inputs.size()));
}
void observe_verdicts(const GradcheckReport& r) {
  observe::flag("report passed", r.passed);
  for (size_t i = 0; i < r.inputs.size(); ++i)
    observe::flag("input " + std::to_string(i) + " passed", r.inputs[i].passed);
}
void observe_failing(const GradcheckReport& r, size_t i) {
  observe::indices("failing elements of input " + std::to_string(i), r.inputs.at(i).failing);
}
void observe_both_nan(const GradcheckReport& r, size_t i) {
  const InputCheck& c = r.inputs.at(i);
  observe::flag("input " + std::to_string(i) + ": both maxima NaN",
                std::isnan(c.max_abs_error) && std::isnan(c.max_rel_error));
}

// The steps of a study, for the tests that assert them.
void observe_steps(const std::vector<EpsStudyPoint>& pts) {
  std::vector<double> eps;
  for (const EpsStudyPoint& p : pts) eps.push_back(p.eps);
  observe::values("steps of the study", eps, 0, 1e-15);
}

// ---- numerical_gradient ---------------------------------------------------------------------

TEST(NumericalGradient, ReproducesLectureDerivativeForX1) {
  const std::vector<Tensor> in{scalar_tensor(2), scalar_tensor(5)};
  EXPECT_TRUE(near("numerical ∂y/∂x1 at (2, 5)", numerical_gradient(lecture_function, in, 0), 5.5,
                   1e-6, "∂y/∂x1 = 1/x1 + x2; perturb only input 0, by ±ε, divide by 2ε"));
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
  EXPECT_TRUE(near("numerical ∂y/∂x2 of the graph", numerical_gradient(f, in, 1), 1.716338, 1e-6));
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
  EXPECT_TRUE(labs::close("numerical ∂f/∂x of Σ w∘x²",
                          numerical_gradient(weighted_squares, {p.x, p.w}, 0), p.grad_x(), 1e-6,
                          1e-6));
  EXPECT_TRUE(labs::close("numerical ∂f/∂w of Σ w∘x² + Σ sin w",
                          numerical_gradient(weighted_squares, {p.x, p.w}, 1), p.grad_w(), 1e-6,
                          1e-6));
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

TEST(NumericalGradient, PutsEachElementBackBeforeMovingTheNext) {
  // Watches what f sees: at every call at most one element of θ may differ from the point
  // (by more than rounding).
  WeightedSquares p;
  const std::vector<double> x = p.x.to_doubles(), w = p.w.to_doubles();
  int call = 0;
  std::string problem;
  auto watched = [&](const std::vector<Tensor>& in) {
    ++call;
    const std::vector<double> xs = in.at(0).to_doubles();
    std::string moved;
    int count = 0;
    for (size_t i = 0; i < x.size(); ++i)
      if (std::abs(xs[i] - x[i]) > 1e-12) moved += (count++ ? ", " : "") + std::to_string(i);
    if (problem.empty() && (count > 1 || in.at(1).to_doubles() != w))
      problem = "call " + std::to_string(call) + " saw elements " + moved + " of input 0 moved" +
                (in.at(1).to_doubles() != w ? " and input 1 changed" : "");
    return weighted_squares(in);
  };
  (void)numerical_gradient(watched, {p.x, p.w}, 0);
  observe::text("what f saw", problem);
  EXPECT_EQ(problem, "") << "f must see θ ± ε·eⱼ: one element moved and every other at its "
                            "value. Put θⱼ back (save it, restore it) before moving element j + 1";
}

TEST(NumericalGradient, LeavesTheCallersInputsUnchanged) {
  WeightedSquares p;
  const std::vector<double> before = p.x.to_doubles();
  (void)numerical_gradient(weighted_squares, {p.x, p.w}, 0);
  observe::values("the caller's input after the call", p.x.to_doubles());
  EXPECT_EQ(p.x.to_doubles(), before)
      << "copying a Tensor copies the handle, not the data: move the elements of the f64 "
         "copies (astype makes a new tensor), never the caller's tensor";
}

// ---- gradcheck ----------------------------------------------------------------------------

TEST(Gradcheck, PassesACorrectGradient) {
  WeightedSquares p;
  const GradcheckReport r = gradcheck(weighted_squares, {p.grad_x(), p.grad_w()}, {p.x, p.w});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 2u) << "one InputCheck per input";
  observe_verdicts(r);
  observe_failing(r, 0);
  observe_failing(r, 1);
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
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 2u);
  observe_verdicts(r);
  observe_failing(r, 0);
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
  const GradcheckReport r =
      gradcheck(weighted_squares, {planted(gx, 4, 0.01), p.grad_w()}, {p.x, p.w});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 2u);
  observe::value("max abs error of input 0", r.inputs[0].max_abs_error, 2e-6);
  observe::value("max rel error of input 0", r.inputs[0].max_rel_error, 2e-4 / std::abs(at4));
  EXPECT_NEAR(r.inputs[0].max_abs_error, 0.01, 1e-6) << "max |g − ĝ| over the elements";
  EXPECT_NEAR(r.inputs[0].max_rel_error, 0.01 / std::abs(at4), 1e-4 / std::abs(at4))
      << "max |g − ĝ| / max(|ĝ|, kRelativeErrorTiny) (relative to the numerical gradient)";
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

// f(x) = x₀²: the numerical gradient of elements 1 and 2 is exactly 0.
double first_squared(const std::vector<Tensor>& in) {
  const double x0 = in.at(0).to_doubles().at(0);
  return x0 * x0;
}

TEST(Gradcheck, ZeroGradientsGiveZeroErrorsNotNaN) {
  const Tensor x = Tensor::from_values({3}, {0.5, -0.25, 2.0}, DType::f64);
  const Tensor g = Tensor::from_values({3}, {1.0, 0.0, 0.0}, DType::f64);
  const GradcheckReport r = gradcheck(first_squared, {g}, {x});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 1u);
  observe::flag("report passed", r.passed);
  observe::flag("max rel error is a number", !std::isnan(r.inputs[0].max_rel_error));
  if (std::isfinite(r.inputs[0].max_rel_error))
    observe::value("max rel error", r.inputs[0].max_rel_error, 1e-4);
  EXPECT_TRUE(r.passed) << "g = ĝ = 0 at elements 1 and 2 is a correct gradient\n" << r.str();
  EXPECT_EQ(r.inputs[0].max_rel_error, r.inputs[0].max_rel_error)
      << "max_rel_error is NaN: 0/0 where ĝ = 0. Divide by max(|ĝ|, kRelativeErrorTiny)";
  EXPECT_LT(r.inputs[0].max_rel_error, 1e-4) << r.str();
}

TEST(Gradcheck, RelativeErrorDividesByAtLeastKRelativeErrorTiny) {
  const Tensor x = Tensor::from_values({3}, {0.5, -0.25, 2.0}, DType::f64);
  const Tensor g = Tensor::from_values({3}, {1.0, 0.0, 1e-9}, DType::f64);
  const GradcheckReport r = gradcheck(first_squared, {g}, {x});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 1u);
  if (std::isfinite(r.inputs[0].max_rel_error))
    observe::value("max rel error", r.inputs[0].max_rel_error, 2e-3);
  else
    observe::flag("max rel error is finite", false);
  observe::flag("report passed", r.passed);
  EXPECT_NEAR(r.inputs[0].max_rel_error, 1e-9 / kRelativeErrorTiny, 1e-3)
      << "element 2 has ĝ = 0 and g = 1e-9: rel = |g − ĝ| / max(|ĝ|, kRelativeErrorTiny) = "
         "1e-9 / 1e-12 = 1000 (inf or NaN means no guard)";
  EXPECT_TRUE(r.passed) << "|g − ĝ| = 1e-9 is within atol = 1e-6, so the element passes; a "
                           "large relative error alone does not fail it\n"
                        << r.str();
}

TEST(Gradcheck, NaNInTheAnalyticGradientFailsItsElementAndPoisonsBothMaxima) {
  WeightedSquares p;
  const Tensor gx = planted(with_element(p.grad_x(), 1, NAN), 3, 0.5);
  const GradcheckReport r = gradcheck(weighted_squares, {gx, p.grad_w()}, {p.x, p.w});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 2u);
  observe_failing(r, 0);
  observe_both_nan(r, 0);
  observe::flag("input 1 passed", r.inputs[1].passed);
  EXPECT_EQ(r.inputs[0].failing, (std::vector<int64_t>{1, 3}))
      << "element 1 is NaN, element 3 is off by 0.5: both fail. A comparison with NaN is "
         "false, so write the pass test as !(err <= tol), not err > tol\n"
      << r.str();
  EXPECT_TRUE(std::isnan(r.inputs[0].max_abs_error) && std::isnan(r.inputs[0].max_rel_error))
      << "a NaN at any element makes max_abs_error and max_rel_error NaN; got "
      << r.inputs[0].max_abs_error << " and " << r.inputs[0].max_rel_error
      << " (std::max(m, NaN) keeps m: test for NaN yourself)";
  EXPECT_TRUE(r.inputs[1].passed) << r.str();
}

TEST(Gradcheck, NaNInTheNumericalGradientFailsItsElement) {
  // f = Σ √(−x) with x₂ = 0: f(θ + ε e₂) is NaN, so ĝ₂ is NaN.
  auto root_sum = [](const std::vector<Tensor>& in) {
    double s = 0;
    for (double v : in.at(0).to_doubles()) s += std::sqrt(-v);
    return s;
  };
  const Tensor x = Tensor::from_values({4}, {-0.25, -1.0, 0.0, -4.0}, DType::f64);
  const Tensor g = Tensor::from_values({4}, {-1.0, -0.5, 1e6, -0.25}, DType::f64);
  const GradcheckReport r = gradcheck(root_sum, {g}, {x});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 1u);
  observe_failing(r, 0);
  observe_both_nan(r, 0);
  EXPECT_EQ(r.inputs[0].failing, std::vector<int64_t>{2})
      << "ĝ₂ is NaN (√ of a negative number): its element fails\n"
      << r.str();
  EXPECT_TRUE(std::isnan(r.inputs[0].max_abs_error) && std::isnan(r.inputs[0].max_rel_error))
      << "both maxima are NaN when ĝ is NaN somewhere; got " << r.inputs[0].max_abs_error << " and "
      << r.inputs[0].max_rel_error;
}

TEST(Gradcheck, MissingOrMisshapenGradientFailsWithInfiniteErrors) {
  WeightedSquares p;
  const Tensor flat = p.grad_w().reshaped({6});
  const GradcheckReport r = gradcheck(weighted_squares, {Tensor(), flat}, {p.x, p.w});
  observe_checks(r);
  ASSERT_EQ(r.inputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const InputCheck& c = r.inputs[i];
    observe::flag("input " + std::to_string(i) + " passed", c.passed);
    observe::flag("input " + std::to_string(i) + ": both maxima +inf",
                  std::isinf(c.max_abs_error) && c.max_abs_error > 0 && std::isinf(c.max_rel_error) &&
                      c.max_rel_error > 0);
  }
  observe::flag("report passed", r.passed);
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(r.inputs[i].passed) << "input " << i
                                     << (i == 0 ? ": no gradient"
                                                : ": shape (6) "
                                                  "for an input of shape (2, 3)")
                                     << " fails the input";
    EXPECT_EQ(r.inputs[i].max_abs_error, inf) << "input " << i << ": both maxima are +inf";
    EXPECT_EQ(r.inputs[i].max_rel_error, inf) << "input " << i << ": both maxima are +inf";
  }
  EXPECT_FALSE(r.passed);
}

TEST(Gradcheck, ReportKeepsMaxListedForItsText) {
  WeightedSquares p;
  GradcheckOptions o;
  o.max_listed = 2;
  const GradcheckReport r = gradcheck(weighted_squares, {p.grad_x(), p.grad_w()}, {p.x, p.w}, o);
  observe::count("max_listed of the report", r.max_listed);
  EXPECT_EQ(r.max_listed, 2) << "the report keeps options.max_listed (str() lists that many)";
}

// ---- eps_study ----------------------------------------------------------------------------

double error_of(const EpsStudyPoint& p, bool f32) { return f32 ? p.error_f32 : p.error_f64; }

// Index of the smallest error of one precision.
size_t best_eps(const std::vector<EpsStudyPoint>& pts, bool f32) {
  size_t b = 0;
  for (size_t i = 0; i < pts.size(); ++i)
    if (error_of(pts[i], f32) < error_of(pts[b], f32)) b = i;
  return b;
}

// log10(error) falls by this much per decade of ε between points i and j.
double slope(const std::vector<EpsStudyPoint>& pts, size_t i, size_t j, bool f32) {
  return std::log10(error_of(pts[i], f32) / error_of(pts[j], f32)) /
         std::log10(pts[i].eps / pts[j].eps);
}

TEST(EpsStudy, TakesTheQuarterDecadeGridByDefault) {
  const std::vector<EpsStudyPoint> pts = eps_study();
  const std::vector<double> grid = eps_study_grid();
  observe_steps(pts);
  ASSERT_EQ(pts.size(), grid.size()) << "with no argument the study takes eps_study_grid(): "
                                        "four steps per decade from 1e-1 to 1e-12";
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(pts[i].eps, grid[i]) << "point " << i;
}

TEST(EpsStudy, TakesTheGivenSteps) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-2, 1e-5, 3e-3});
  observe_steps(pts);
  ASSERT_EQ(pts.size(), 3u) << "one point per given ε, in order";
  EXPECT_EQ(pts[0].eps, 1e-2);
  EXPECT_EQ(pts[1].eps, 1e-5);
  EXPECT_EQ(pts[2].eps, 3e-3);
}

TEST(EpsStudy, F64TruncationErrorFallsLikeEpsSquared) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-1, 1e-2});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 2u);
  observe::value("f64 error at ε = 0.1", pts[0].error_f64, 2e-5);
  observe::value("f64 slope", slope(pts, 0, 1, false), 0.1);
  EXPECT_NEAR(pts[0].error_f64, 1e-2 / 6 * std::cos(1.0), 1e-5)
      << "at ε = 0.1 the error is the truncation term ε²/6·|f'''(1)| = ε²/6·cos 1";
  EXPECT_NEAR(slope(pts, 0, 1, false), 2.0, 0.05)
      << "a 10× smaller ε gives a 100× smaller error while truncation dominates (slope 2 on "
         "log–log axes); a slope of 1 means a one-sided difference";
}

TEST(EpsStudy, F32TruncationErrorFallsLikeEpsSquared) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-1, std::pow(10.0, -1.5)});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 2u);
  observe::value("f32 slope", slope(pts, 0, 1, true), 0.3);
  EXPECT_NEAR(slope(pts, 0, 1, true), 2.0, 0.15)
      << "in float too the error falls like ε² at large ε (errors " << pts[0].error_f32
      << " at ε = 0.1 and " << pts[1].error_f32 << " at ε = 0.032)";
}

TEST(EpsStudy, F64ErrorHasItsMinimumInsideTheGrid) {
  const std::vector<EpsStudyPoint> pts = eps_study();
  observe::flag("more than two points", pts.size() > 2);
  ASSERT_GT(pts.size(), 2u);
  const size_t b = best_eps(pts, false);
  observe::flag("the f64 error falls tenfold below ε = 0.1",
                pts.front().error_f64 > 10 * pts[b].error_f64);
  observe::flag("the f64 error rises tenfold towards ε = 1e-12",
                pts.back().error_f64 > 10 * pts[b].error_f64);
  EXPECT_GT(pts.front().error_f64, 10 * pts[b].error_f64)
      << "truncation: the f64 error falls below ε = 1e-1 (best " << pts[b].error_f64
      << " at ε = " << pts[b].eps << ")";
  EXPECT_GT(pts.back().error_f64, 10 * pts[b].error_f64)
      << "rounding: the f64 error rises again towards ε = 1e-12 (is the difference really "
         "computed in double?)";
}

TEST(EpsStudy, F32ErrorHasItsMinimumInsideTheGridAtALargerEps) {
  const std::vector<EpsStudyPoint> pts = eps_study();
  observe::flag("more than two points", pts.size() > 2);
  ASSERT_GT(pts.size(), 2u);
  const size_t b32 = best_eps(pts, true), b64 = best_eps(pts, false);
  observe::flag("the f32 error falls tenfold below ε = 0.1",
                pts.front().error_f32 > 10 * pts[b32].error_f32);
  observe::flag("the f32 error rises tenfold at small ε",
                pts.back().error_f32 > 10 * pts[b32].error_f32);
  observe::flag("the best f32 ε is larger than the best f64 ε", pts[b32].eps > pts[b64].eps);
  EXPECT_GT(pts.front().error_f32, 10 * pts[b32].error_f32)
      << "the f32 error falls below ε = 1e-1 (best " << pts[b32].error_f32
      << " at ε = " << pts[b32].eps << ")";
  EXPECT_GT(pts.back().error_f32, 10 * pts[b32].error_f32) << "and rises again at small ε";
  EXPECT_GT(pts[b32].eps, pts[b64].eps)
      << "float rounds sooner (u ≈ 6e-8), so its best ε is larger; best f32 ε " << pts[b32].eps
      << ", best f64 ε " << pts[b64].eps << " (is the f32 difference computed in float?)";
}

TEST(EpsStudy, F32ErrorIsCos1WhereOnePlusEpsRoundsToOne) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-8, 1e-10, 1e-12});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 3u);
  for (const EpsStudyPoint& p : pts)
    observe::value("f32 error on the flat stretch", p.error_f32, 2e-6);
  for (const EpsStudyPoint& p : pts)
    EXPECT_NEAR(p.error_f32, std::cos(1.0), 1e-6)
        << "at ε = " << p.eps << ", 1 + ε and 1 − ε round to 1 in float, the difference is 0 "
        << "and the error is cos 1 = 0.5403: the flat stretch. A smaller error means part of "
        << "the f32 computation ran in double (round ε and x₀ to float, and use float sin)";
}

}  // namespace
}  // namespace gw
