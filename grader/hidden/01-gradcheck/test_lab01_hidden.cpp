// test_lab01_hidden.cpp — hidden tests of lab 01: gradcheck must catch planted wrong
// gradients (one element, a sign, a factor, a missing consumer, a transpose, a NaN) and pass
// the correct ones; the failing lists are exact; f32 inputs are perturbed in f64; the ε
// study takes the given steps and shows both error regimes. Inputs come
// from GW_HIDDEN_SEED (grader/hidden/common/hidden.h). Each check also sends what it checked
// to the grader's judge (labs/common/observe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "gw/autodiff.h"
#include "hidden.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

// labs::close, observing the value it checks first (until lab_testing.h's helpers observe).
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b,
                                 double atol = 1e-6, double rtol = 1e-6) {
  observe::tensor(what, a, atol, rtol);
  return labs::close(what, a, b, atol, rtol);
}

// A hidden function with its correct gradients.
struct Hidden {
  const char* name;
  ScalarFunction f;
  std::function<std::vector<Tensor>(const std::vector<Tensor>&)> grads;
  std::vector<Shape> shapes;
};

Tensor map2(const Tensor& a, const Tensor& b, double (*op)(double, double)) {
  std::vector<double> x = a.to_doubles(), y = b.to_doubles(), r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = op(x[i], y[i]);
  return Tensor::from_values(a.shape(), r, DType::f64);
}

std::vector<Hidden> hidden_functions() {
  std::vector<Hidden> fs;
  // f = Σ x1·x2 + ln(x1²+1): x1 has two consumers.
  fs.push_back({"shared x1",
                [](const std::vector<Tensor>& in) {
                  std::vector<double> a = in[0].to_doubles(), b = in[1].to_doubles();
                  double s = 0;
                  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i] + std::log(a[i] * a[i] + 1);
                  return s;
                },
                [](const std::vector<Tensor>& in) {
                  return std::vector<Tensor>{
                      map2(in[0], in[1], [](double a, double b) { return b + 2 * a / (a * a + 1); }),
                      map2(in[1], in[0], [](double, double a) { return a; })};
                },
                {{2, 3}, {2, 3}}});
  // f = Σ_ij A_ij·B_ji (trace of AB): gradient of A is Bᵀ — a transpose trap.
  fs.push_back({"trace(AB)",
                [](const std::vector<Tensor>& in) {
                  std::vector<double> a = in[0].to_doubles(), b = in[1].to_doubles();
                  double s = 0;
                  for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 3; ++j) s += a[i * 3 + j] * b[j * 3 + i];
                  return s;
                },
                [](const std::vector<Tensor>& in) {
                  std::vector<double> a = in[0].to_doubles(), b = in[1].to_doubles(), ga(9), gb(9);
                  for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 3; ++j) {
                      ga[i * 3 + j] = b[j * 3 + i];
                      gb[i * 3 + j] = a[j * 3 + i];
                    }
                  return std::vector<Tensor>{Tensor::from_values({3, 3}, ga, DType::f64),
                                             Tensor::from_values({3, 3}, gb, DType::f64)};
                },
                {{3, 3}, {3, 3}}});
  // f = Σ sin(x)·exp(w/2)
  fs.push_back({"sin·exp",
                [](const std::vector<Tensor>& in) {
                  std::vector<double> x = in[0].to_doubles(), w = in[1].to_doubles();
                  double s = 0;
                  for (size_t i = 0; i < x.size(); ++i) s += std::sin(x[i]) * std::exp(w[i] / 2);
                  return s;
                },
                [](const std::vector<Tensor>& in) {
                  return std::vector<Tensor>{
                      map2(in[0], in[1], [](double x, double w) { return std::cos(x) * std::exp(w / 2); }),
                      map2(in[0], in[1], [](double x, double w) { return std::sin(x) * std::exp(w / 2) / 2; })};
                },
                {{5}, {5}}});
  return fs;
}

std::vector<Tensor> draw(const std::vector<Shape>& shapes, uint64_t salt) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < shapes.size(); ++i)
    in.push_back(labs::uniform(shapes[i], hidden::seed(salt * 10 + i), -1.5, 1.5));
  return in;
}

Tensor edit(const Tensor& t, const std::function<void(std::vector<double>&)>& change) {
  std::vector<double> v = t.to_doubles();
  change(v);
  return Tensor::from_values(t.shape(), v, DType::f64);
}

TEST(HiddenGradcheck, PassesEveryCorrectHiddenGradient) {
  SCOPED_TRACE(hidden::seed_note());
  uint64_t salt = 1;
  for (const Hidden& h : hidden_functions()) {
    const std::vector<Tensor> in = draw(h.shapes, salt++);
    const GradcheckReport r = gradcheck(h.f, h.grads(in), in);
    observe::flag(std::string(h.name) + ": passed", r.passed);
    EXPECT_TRUE(r.passed) << h.name << ": a correct gradient must pass\n" << r.str();
  }
}

TEST(HiddenGradcheck, CatchesPlantedBugs) {
  SCOPED_TRACE(hidden::seed_note());
  uint64_t salt = 100;
  for (const Hidden& h : hidden_functions()) {
    const std::vector<Tensor> in = draw(h.shapes, salt++);
    const std::vector<Tensor> good = h.grads(in);
    struct Bug {
      const char* what;
      std::function<void(std::vector<double>&)> change;
    };
    const std::vector<Bug> bugs = {
        {"sign flipped everywhere", [](std::vector<double>& v) { for (double& x : v) x = -x; }},
        {"factor 2", [](std::vector<double>& v) { for (double& x : v) x *= 2; }},
        {"one element off by 1e-3", [](std::vector<double>& v) { v[v.size() / 2] += 1e-3; }},
        {"NaN in one element", [](std::vector<double>& v) { v[0] = NAN; }},
        {"elements reversed", [](std::vector<double>& v) { std::reverse(v.begin(), v.end()); v[0] += 0.5; }},
    };
    for (const Bug& bug : bugs) {
      std::vector<Tensor> wrong = good;
      wrong[0] = edit(good[0], bug.change);
      const GradcheckReport r = gradcheck(h.f, wrong, in);
      const std::string what = std::string(h.name) + " / " + bug.what;
      observe::flag(what + ": passed", r.passed);
      observe::count(what + ": input checks", static_cast<int64_t>(r.inputs.size()));
      EXPECT_FALSE(r.passed) << h.name << ": planted bug \"" << bug.what << "\" was not caught";
      ASSERT_EQ(r.inputs.size(), 2u);
      observe::flag(what + ": input 0 passed", r.inputs[0].passed);
      observe::flag(what + ": input 1 passed", r.inputs[1].passed);
      EXPECT_FALSE(r.inputs[0].passed) << h.name << " / " << bug.what;
      EXPECT_TRUE(r.inputs[1].passed) << h.name << " / " << bug.what << ": input 1 is correct";
    }
  }
}

TEST(HiddenGradcheck, MissingConsumerTermIsCaught) {
  SCOPED_TRACE(hidden::seed_note());
  const Hidden h = hidden_functions()[0];
  const std::vector<Tensor> in = draw(h.shapes, 7);
  std::vector<Tensor> wrong = h.grads(in);
  wrong[0] = in[1].astype(DType::f64);  // only the x1·x2 consumer, the ln term forgotten
  const GradcheckReport r = gradcheck(h.f, wrong, in);
  observe::flag("passed", r.passed);
  EXPECT_FALSE(r.passed) << "an adjoint that misses one consumer must fail";
}

TEST(HiddenGradcheck, FailingListIsExactlyThePlantedElements) {
  SCOPED_TRACE(hidden::seed_note());
  const Hidden h = hidden_functions()[2];
  const std::vector<Shape> shapes = {{5}, {5}};
  const std::vector<Tensor> in = draw(shapes, 9);
  std::mt19937_64 rng(hidden::seed(9));
  std::set<int64_t> planted;
  while (planted.size() < 2) planted.insert(std::uniform_int_distribution<int64_t>(0, 4)(rng));
  std::vector<Tensor> wrong = h.grads(in);
  wrong[1] = edit(wrong[1], [&](std::vector<double>& v) {
    for (int64_t i : planted) v[static_cast<size_t>(i)] += 0.05;
  });
  const GradcheckReport r = gradcheck(h.f, wrong, in);
  observe::count("input checks", static_cast<int64_t>(r.inputs.size()));
  ASSERT_EQ(r.inputs.size(), 2u);
  observe::flag("input 0 passed", r.inputs[0].passed);
  observe::indices("failing elements of input 1", r.inputs[1].failing);
  observe::value("max abs error of input 1", r.inputs[1].max_abs_error, 1e-6);
  EXPECT_TRUE(r.inputs[0].passed);
  EXPECT_EQ(r.inputs[1].failing, std::vector<int64_t>(planted.begin(), planted.end()))
      << "failing must list every planted element, in increasing flat index\n" << r.str();
  EXPECT_NEAR(r.inputs[1].max_abs_error, 0.05, 1e-6);
}

TEST(HiddenGradcheck, RelativeToleranceScalesWithTheNumericalGradient) {
  SCOPED_TRACE(hidden::seed_note());
  // f = 1e6·Σx²: gradients near 1e6, an absolute error of 1 is a relative 1e-6.
  auto f = [](const std::vector<Tensor>& in) {
    double s = 0;
    for (double x : in[0].to_doubles()) s += 1e6 * x * x;
    return s;
  };
  const Tensor x = labs::uniform({4}, hidden::seed(11), 0.5, 1.0);
  const Tensor g = edit(x, [](std::vector<double>& v) { for (double& e : v) e = 2e6 * e + 1.0; });
  GradcheckOptions o;
  o.eps = 1e-5;
  o.atol = 1e-6;
  o.rtol = 1e-4;
  const bool loose = gradcheck(f, {g}, {x}, o).passed;
  observe::flag("passed with rtol 1e-4", loose);
  EXPECT_TRUE(loose) << "|g − ĝ| = 1 ≤ atol + rtol·|ĝ| ≈ 100: the tolerance is relative to |ĝ|";
  o.rtol = 1e-8;
  const bool tight = gradcheck(f, {g}, {x}, o).passed;
  observe::flag("passed with rtol 1e-8", tight);
  EXPECT_FALSE(tight) << "with rtol = 1e-8 the error of 1 fails";
}

TEST(HiddenNumericalGradient, F32InputsArePerturbedInF64) {
  SCOPED_TRACE(hidden::seed_note());
  const Hidden h = hidden_functions()[2];
  const std::vector<Tensor> in64 = draw(h.shapes, 13);
  const std::vector<Tensor> in32{in64[0].astype(DType::f32), in64[1].astype(DType::f32)};
  const std::vector<Tensor> exact = h.grads({in32[0].astype(DType::f64), in32[1].astype(DType::f64)});
  EXPECT_TRUE(close("numerical gradient of f32 inputs", numerical_gradient(h.f, in32, 0), exact[0],
                    1e-7, 1e-6))
      << "ε = 1e-6 is rounded away in f32 (ulp 6e-8·|x|): perturb an f64 copy";
}

TEST(HiddenNumericalGradient, CountsTwoEvaluationsPerElementOfALargerInput) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(17));
  const int64_t n = std::uniform_int_distribution<int64_t>(20, 60)(rng);
  int calls = 0;
  auto f = [&](const std::vector<Tensor>& in) {
    ++calls;
    double s = 0;
    for (double x : in[0].to_doubles()) s += std::sin(x);
    return s;
  };
  const Tensor x = labs::uniform({n}, hidden::seed(18));
  const Tensor g = numerical_gradient(f, {x}, 0);
  observe::count("calls of f", calls);
  EXPECT_EQ(calls, 2 * n);
  const Tensor expected = edit(x, [](std::vector<double>& v) { for (double& e : v) e = std::cos(e); });
  EXPECT_TRUE(close("numerical gradient of Σ sin x", g, expected, 1e-8, 1e-8));
}

TEST(HiddenNumericalGradient, F64GraphIsAccurateToOneInAMillion) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {3, 2}, DType::f64);
  Node* w = g.input("w", {2, 4}, DType::f64);
  Node* y = sum(tanh(matmul(x, w)));
  const Feeds at{{x, labs::uniform({3, 2}, hidden::seed(21))}, {w, labs::uniform({2, 4}, hidden::seed(22))}};
  const ScalarFunction f = graph_function(y, {x, w});
  const std::vector<Tensor> point{at.at(x), at.at(w)};
  EXPECT_TRUE(close("numerical ∂y/∂w of Σ tanh(xw)", numerical_gradient(f, point, 1),
                    labs::oracle_gradient(y, w, at), 1e-8, 1e-6));
}

TEST(HiddenEpsStudy, TakesTheGivenStepsAndIsSecondOrderInTruncation) {
  const std::vector<double> steps{1e-1, 1e-2, 3e-3};
  const std::vector<EpsStudyPoint> pts = eps_study(steps);
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    observe::value("ε of point " + std::to_string(i), pts[i].eps, 0, 1e-15);
    EXPECT_DOUBLE_EQ(pts[i].eps, steps[i]);
  }
  observe::value("f64 error ratio of ε = 1e-1 and 1e-2", pts[0].error_f64 / pts[1].error_f64, 2.0);
  observe::value("f64 error at ε = 1e-1", pts[0].error_f64, 1e-5);
  observe::value("f32 error at ε = 1e-1", pts[0].error_f32, 1e-5);
  // Truncation error ε²/6·|cos 1|: 100x smaller for a 10x smaller ε, in both precisions here.
  EXPECT_NEAR(pts[0].error_f64 / pts[1].error_f64, 100.0, 2.0);
  EXPECT_NEAR(pts[0].error_f64, 1e-2 / 6 * std::cos(1.0), 1e-5);
  EXPECT_NEAR(pts[0].error_f32, pts[0].error_f64, 1e-5);
}

TEST(HiddenEpsStudy, FloatErrorIsRoundingDominatedAtSmallSteps) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-6, 1e-7});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 2u);
  observe::flag("the f32 error at ε = 1e-6 is above 1e-3", pts[0].error_f32 > 1e-3);
  observe::value("f64 error at ε = 1e-6", pts[0].error_f64, 1e-8);
  // u_f32 ≈ 6e-8: at ε = 1e-6 rounding costs ~u/ε ≈ 0.06 in float, ~1e-10 in double.
  EXPECT_GT(pts[0].error_f32, 1e-3);
  EXPECT_LT(pts[0].error_f64, 1e-8);
}

}  // namespace
}  // namespace gw
