// test_lab01_hidden.cpp — hidden tests of lab 01: gradcheck must catch planted wrong
// gradients (one element, a sign, a factor, a missing consumer, a transpose, a NaN) and pass
// the correct ones; the failing lists are exact; zero gradients go through the
// kRelativeErrorTiny guard; NaN on either side and missing gradients are reported as the
// header specifies; f32 inputs are perturbed in f64; a one-sided difference and an unrestored
// element are caught at every drawn point; the ε study takes the given steps and shows the
// truncation slope and the flat stretch of f32. Inputs come from GW_HIDDEN_SEED
// (grader/hidden/common/hidden.h); every test that targets a bug catches it for every seed.
// Each check also sends what it asserts to the grader's judge (labs/common/observe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "hidden.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

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
  fs.push_back(
      {"shared x1",
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
  fs.push_back(
      {"sin·exp",
       [](const std::vector<Tensor>& in) {
         std::vector<double> x = in[0].to_doubles(), w = in[1].to_doubles();
         double s = 0;
         for (size_t i = 0; i < x.size(); ++i) s += std::sin(x[i]) * std::exp(w[i] / 2);
         return s;
       },
       [](const std::vector<Tensor>& in) {
         return std::vector<Tensor>{
             map2(in[0], in[1], [](double x, double w) { return std::cos(x) * std::exp(w / 2); }),
             map2(in[0], in[1],
                  [](double x, double w) { return std::sin(x) * std::exp(w / 2) / 2; })};
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

std::string indices(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "}";
}

// "both maxima NaN" as the header specifies, or what came back.
::testing::AssertionResult both_maxima_nan(const InputCheck& c) {
  if (std::isnan(c.max_abs_error) && std::isnan(c.max_rel_error))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected max_abs_error and max_rel_error NaN (a NaN "
                                          "element poisons both), got "
                                       << c.max_abs_error << " and " << c.max_rel_error;
}

// What the tests assert of reports, for the judge (never a NaN or an infinity as a number).
void observe_checks(const std::string& what, const GradcheckReport& r) {
  observe::count(what + ": input checks", static_cast<int64_t>(r.inputs.size()));
}
void observe_verdicts(const std::string& what, const GradcheckReport& r) {
  observe::flag(what + ": report passed", r.passed);
  for (size_t i = 0; i < r.inputs.size(); ++i)
    observe::flag(what + ": input " + std::to_string(i) + " passed", r.inputs[i].passed);
}

TEST(HiddenGradcheck, PassesEveryCorrectHiddenGradient) {
  SCOPED_TRACE(hidden::seed_note());
  uint64_t salt = 1;
  for (const Hidden& h : hidden_functions()) {
    const std::vector<Tensor> in = draw(h.shapes, salt++);
    const GradcheckReport r = gradcheck(h.f, h.grads(in), in);
    observe::flag(std::string(h.name) + ": report passed", r.passed);
    EXPECT_TRUE(r.passed) << h.name
                          << ": expected a correct gradient to pass, got a failing "
                             "report:\n"
                          << r.str();
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
        {"sign flipped everywhere",
         [](std::vector<double>& v) {
           for (double& x : v) x = -x;
         }},
        {"factor 2",
         [](std::vector<double>& v) {
           for (double& x : v) x *= 2;
         }},
        {"one element off by 1e-3", [](std::vector<double>& v) { v[v.size() / 2] += 1e-3; }},
        {"NaN in one element", [](std::vector<double>& v) { v[0] = NAN; }},
        {"elements reversed",
         [](std::vector<double>& v) {
           std::reverse(v.begin(), v.end());
           v[0] += 0.5;
         }},
    };
    for (const Bug& bug : bugs) {
      std::vector<Tensor> wrong = good;
      wrong[0] = edit(good[0], bug.change);
      const GradcheckReport r = gradcheck(h.f, wrong, in);
      const std::string what = std::string(h.name) + " / " + bug.what;
      observe_checks(what, r);
      ASSERT_EQ(r.inputs.size(), 2u) << h.name << ": expected one InputCheck per input";
      observe_verdicts(what, r);
      EXPECT_FALSE(r.inputs[0].passed) << h.name << ": expected the planted bug \"" << bug.what
                                       << "\" in input 0 to fail it, got a pass:\n"
                                       << r.str();
      EXPECT_FALSE(r.passed) << h.name << " / " << bug.what
                             << ": expected the report to fail, "
                                "got passed = true:\n"
                             << r.str();
      EXPECT_TRUE(r.inputs[1].passed) << h.name << " / " << bug.what
                                      << ": input 1 is correct, "
                                         "expected it to pass, got:\n"
                                      << r.str();
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
  observe::flag("report passed", r.passed);
  EXPECT_FALSE(r.passed) << "expected an adjoint that misses one consumer to fail, got a pass:\n"
                         << r.str();
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
  observe_checks("two planted", r);
  ASSERT_EQ(r.inputs.size(), 2u) << "expected one InputCheck per input";
  observe::flag("input 0 passed", r.inputs[0].passed);
  observe::indices("failing elements of input 1", r.inputs[1].failing);
  observe::value("max abs error of input 1", r.inputs[1].max_abs_error, 2e-6);
  EXPECT_TRUE(r.inputs[0].passed) << "expected the correct input 0 to pass, got:\n" << r.str();
  const std::vector<int64_t> expected(planted.begin(), planted.end());
  EXPECT_EQ(r.inputs[1].failing, expected)
      << "expected failing = " << indices(expected) << " (every planted element, in increasing "
      << "flat index), got " << indices(r.inputs[1].failing) << "\n"
      << r.str();
  EXPECT_NEAR(r.inputs[1].max_abs_error, 0.05, 1e-6) << "expected max |g − ĝ| = 0.05";
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
  const Tensor g = edit(x, [](std::vector<double>& v) {
    for (double& e : v) e = 2e6 * e + 1.0;
  });
  GradcheckOptions o;
  o.eps = 1e-5;
  o.atol = 1e-6;
  o.rtol = 1e-4;
  const GradcheckReport loose = gradcheck(f, {g}, {x}, o);
  observe::flag("passed with rtol 1e-4", loose.passed);
  EXPECT_TRUE(loose.passed) << "expected a pass: |g − ĝ| = 1 ≤ atol + rtol·|ĝ| ≈ 100 (the "
                               "tolerance is relative to |ĝ|); got:\n"
                            << loose.str();
  o.rtol = 1e-8;
  const GradcheckReport tight = gradcheck(f, {g}, {x}, o);
  observe::flag("passed with rtol 1e-8", tight.passed);
  EXPECT_FALSE(tight.passed) << "expected a failure: with rtol = 1e-8 the tolerance is ≈ 0.02 "
                                "and the error is 1; got:\n"
                             << tight.str();
}

TEST(HiddenGradcheck, ZeroGradientsGoThroughTheTinyGuard) {
  SCOPED_TRACE(hidden::seed_note());
  // f = Σ_{i ∈ S} sin xᵢ: ĝ is exactly 0 off S, where g holds tiny values tᵢ ∈ [1e-10, 1e-8].
  const int64_t n = hidden::draw_int(30, 3, 8);
  const Tensor x = labs::uniform({n}, hidden::seed(31), -1.5, 1.5);
  std::mt19937_64 rng(hidden::seed(32));
  std::vector<bool> in_s(static_cast<size_t>(n));
  for (auto&& b : in_s) b = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  in_s[0] = true;
  in_s[static_cast<size_t>(n - 1)] = false;  // S and its complement are not empty
  auto f = [in_s](const std::vector<Tensor>& in) {
    const std::vector<double> v = in[0].to_doubles();
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i) s += in_s[i] ? std::sin(v[i]) : 0.0;
    return s;
  };
  double largest_tiny = 0;
  const Tensor g = edit(x, [&](std::vector<double>& v) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (in_s[i]) {
        v[i] = std::cos(v[i]);
      } else {
        v[i] = std::pow(10.0, std::uniform_real_distribution<double>(-10, -8)(rng));
        largest_tiny = std::max(largest_tiny, v[i]);
      }
    }
  });
  const GradcheckReport r = gradcheck(f, {g}, {x});
  observe_checks("zero gradients", r);
  ASSERT_EQ(r.inputs.size(), 1u) << "expected one InputCheck";
  observe::flag("report passed", r.passed);
  if (std::isfinite(r.inputs[0].max_rel_error))
    observe::value("max rel error", r.inputs[0].max_rel_error, 0, 2e-6);
  else
    observe::flag("max rel error is finite", false);
  EXPECT_TRUE(r.passed) << "expected a pass: every |g − ĝ| ≤ 1e-8 is within atol = 1e-6, "
                           "whatever the relative error; got:\n"
                        << r.str();
  EXPECT_NEAR(r.inputs[0].max_rel_error, largest_tiny / kRelativeErrorTiny,
              1e-6 * largest_tiny / kRelativeErrorTiny)
      << "expected max_rel_error = max tᵢ / kRelativeErrorTiny (ĝ = 0 there, so the denominator "
         "is max(|ĝ|, 1e-12) = 1e-12)";
}

TEST(HiddenGradcheck, NaNOnEitherSideFailsItsElementAndPoisonsBothMaxima) {
  SCOPED_TRACE(hidden::seed_note());
  {  // a NaN in the analytic gradient, at a random element
    const Hidden h = hidden_functions()[2];
    const std::vector<Tensor> in = draw(h.shapes, 40);
    const int64_t k = hidden::draw_int(41, 0, 4);
    std::vector<Tensor> wrong = h.grads(in);
    wrong[0] = edit(wrong[0], [k](std::vector<double>& v) { v[static_cast<size_t>(k)] = NAN; });
    const GradcheckReport r = gradcheck(h.f, wrong, in);
    observe_checks("analytic NaN", r);
    ASSERT_EQ(r.inputs.size(), 2u) << "expected one InputCheck per input";
    observe::indices("analytic NaN: failing elements of input 0", r.inputs[0].failing);
    observe::flag("analytic NaN: both maxima NaN", static_cast<bool>(both_maxima_nan(r.inputs[0])));
    observe::flag("analytic NaN: input 1 passed", r.inputs[1].passed);
    EXPECT_EQ(r.inputs[0].failing, std::vector<int64_t>{k})
        << "analytic NaN at element " << k << ": expected failing = {" << k << "}, got "
        << indices(r.inputs[0].failing);
    EXPECT_TRUE(both_maxima_nan(r.inputs[0])) << "analytic NaN at element " << k;
    EXPECT_TRUE(r.inputs[1].passed) << "expected the correct input 1 to pass:\n" << r.str();
  }
  {  // a NaN in the numerical gradient: f = Σ √(−x) with x_k = 0, so f(θ + ε e_k) is NaN
    const int64_t n = hidden::draw_int(42, 2, 7), k = hidden::draw_int(43, 0, n - 1);
    Tensor x = labs::uniform({n}, hidden::seed(44), -2.0, -0.5);
    x = edit(x, [k](std::vector<double>& v) { v[static_cast<size_t>(k)] = 0; });
    auto f = [](const std::vector<Tensor>& in) {
      double s = 0;
      for (double v : in[0].to_doubles()) s += std::sqrt(-v);
      return s;
    };
    const Tensor g = edit(x, [](std::vector<double>& v) {
      for (double& e : v) e = e < 0 ? -0.5 / std::sqrt(-e) : 1e6;
    });
    const GradcheckReport r = gradcheck(f, {g}, {x});
    observe_checks("numerical NaN", r);
    ASSERT_EQ(r.inputs.size(), 1u) << "expected one InputCheck";
    observe::indices("numerical NaN: failing elements", r.inputs[0].failing);
    observe::flag("numerical NaN: both maxima NaN", static_cast<bool>(both_maxima_nan(r.inputs[0])));
    EXPECT_EQ(r.inputs[0].failing, std::vector<int64_t>{k})
        << "numerical NaN at element " << k << " (√ of −ε): expected failing = {" << k << "}, got "
        << indices(r.inputs[0].failing);
    EXPECT_TRUE(both_maxima_nan(r.inputs[0])) << "numerical NaN at element " << k;
  }
}

TEST(HiddenGradcheck, MissingAndMisshapenGradientsFailWithInfiniteErrors) {
  SCOPED_TRACE(hidden::seed_note());
  const Hidden h = hidden_functions()[hidden::draw_int(50, 0, 2)];
  const std::vector<Tensor> in = draw(h.shapes, 51);
  std::vector<Tensor> grads = h.grads(in);
  const bool missing_first = hidden::draw_int(52, 0, 1) == 1;
  grads[missing_first ? 0 : 1] = Tensor();
  Tensor& other = grads[missing_first ? 1 : 0];
  other = other.reshaped({1, other.numel()});
  const GradcheckReport r = gradcheck(h.f, grads, in);
  observe_checks("missing and misshapen", r);
  ASSERT_EQ(r.inputs.size(), 2u) << "expected one InputCheck per input";
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < 2; ++i) {
    const InputCheck& c = r.inputs[i];
    observe::flag("input " + std::to_string(i) + " failed with both maxima +inf",
                  !c.passed && c.max_abs_error == inf && c.max_rel_error == inf);
    EXPECT_TRUE(!c.passed && c.max_abs_error == inf && c.max_rel_error == inf)
        << h.name << ", input " << i << " ("
        << ((i == 0) == missing_first ? "no gradient" : "a gradient of the wrong shape")
        << "): expected a failed input with both maxima +inf, got passed = " << c.passed
        << ", max_abs_error " << c.max_abs_error << ", max_rel_error " << c.max_rel_error;
  }
  observe::flag("report passed", r.passed);
  EXPECT_FALSE(r.passed) << "expected the report to fail";
}

TEST(HiddenNumericalGradient, F32InputsArePerturbedInF64) {
  SCOPED_TRACE(hidden::seed_note());
  const Hidden h = hidden_functions()[2];
  const std::vector<Tensor> in64 = draw(h.shapes, 13);
  const std::vector<Tensor> in32{in64[0].astype(DType::f32), in64[1].astype(DType::f32)};
  const std::vector<Tensor> exact =
      h.grads({in32[0].astype(DType::f64), in32[1].astype(DType::f64)});
  EXPECT_TRUE(labs::close("numerical gradient of f32 inputs", numerical_gradient(h.f, in32, 0),
                          exact[0], 1e-7, 1e-6))
      << "ε = 1e-6 is rounded away in f32 (ulp 6e-8·|x|): perturb an f64 copy";
}

TEST(HiddenNumericalGradient, CountsTwoEvaluationsPerElementOfALargerInput) {
  SCOPED_TRACE(hidden::seed_note());
  const int64_t n = hidden::draw_int(17, 20, 60);
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
  EXPECT_EQ(calls, 2 * n) << "expected two calls of f per element of an input of " << n
                          << " elements, got " << calls;
  const Tensor expected = edit(x, [](std::vector<double>& v) {
    for (double& e : v) e = std::cos(e);
  });
  EXPECT_TRUE(labs::close("numerical gradient of Σ sin x", g, expected, 1e-8, 1e-8));
}

TEST(HiddenNumericalGradient, F64GraphIsAccurateToOneInAMillion) {
  SCOPED_TRACE(hidden::seed_note());
  Graph g;
  Node* x = g.input("x", {3, 2}, DType::f64);
  Node* w = g.input("w", {2, 4}, DType::f64);
  Node* y = sum(tanh(matmul(x, w)));
  const Feeds at{{x, labs::uniform({3, 2}, hidden::seed(21))},
                 {w, labs::uniform({2, 4}, hidden::seed(22))}};
  const ScalarFunction f = graph_function(y, {x, w});
  const std::vector<Tensor> point{at.at(x), at.at(w)};
  EXPECT_TRUE(labs::close("numerical ∂y/∂w of Σ tanh(xw)", numerical_gradient(f, point, 1),
                          labs::oracle_gradient(y, w, at), 1e-8, 1e-6));
}

TEST(HiddenNumericalGradient, OneSidedDifferenceIsCaughtAtEveryPoint) {
  SCOPED_TRACE(hidden::seed_note());
  // f = Σ exp(x), ε = 1e-4: the central error ε²/6·eˣ ≤ 8e-9, a one-sided one ε/2·eˣ ≥ 1e-5.
  const int64_t n = hidden::draw_int(60, 3, 12);
  const Tensor x = labs::uniform({n}, hidden::seed(61), -1.5, 1.5);
  auto f = [](const std::vector<Tensor>& in) {
    double s = 0;
    for (double v : in[0].to_doubles()) s += std::exp(v);
    return s;
  };
  const Tensor expected = edit(x, [](std::vector<double>& v) {
    for (double& e : v) e = std::exp(e);
  });
  EXPECT_TRUE(labs::close("numerical gradient of Σ exp x with ε = 1e-4",
                          numerical_gradient(f, {x}, 0, 1e-4), expected, 1e-7, 1e-7))
      << "expected the central difference (error O(ε²)); an error near ε/2·eˣ is one-sided";
}

TEST(HiddenNumericalGradient, RestoresEveryElementBeforeMovingTheNext) {
  SCOPED_TRACE(hidden::seed_note());
  const std::vector<Shape> shapes = {{hidden::draw_int(70, 2, 4), hidden::draw_int(71, 1, 3)},
                                     {hidden::draw_int(72, 2, 5)}};
  std::vector<Tensor> in;
  for (size_t i = 0; i < shapes.size(); ++i)
    in.push_back(labs::uniform(shapes[i], hidden::seed(73 + i)));
  const size_t which = static_cast<size_t>(hidden::draw_int(75, 0, 1));
  std::vector<std::vector<double>> point;
  for (const Tensor& t : in) point.push_back(t.to_doubles());
  std::string problem;
  int call = 0;
  auto f = [&](const std::vector<Tensor>& seen) {
    ++call;
    int moved = 0;
    for (size_t i = 0; i < seen.size(); ++i) {
      const std::vector<double> v = seen[i].to_doubles();
      for (size_t j = 0; j < v.size(); ++j) moved += std::abs(v[j] - point[i][j]) > 1e-12;
    }
    if (moved > 1 && problem.empty())
      problem =
          "call " + std::to_string(call) + " saw " + std::to_string(moved) + " elements moved";
    double s = 0;  // f = (Σ all)², not separable, so that a moved element shows in every other
    for (const Tensor& t : seen)
      for (double v : t.to_doubles()) s += v;
    return s * s;
  };
  const Tensor g = numerical_gradient(f, in, which);
  observe::text("what f saw", problem);
  EXPECT_EQ(problem, "") << "expected every call to see one element moved by ±ε and the rest "
                            "at the point (input "
                         << which << " differentiated)";
  double total = 0;
  for (const std::vector<double>& p : point)
    for (double v : p) total += v;
  EXPECT_TRUE(labs::close("numerical gradient of (Σ θ)²", g,
                          Tensor::full(in[which].shape(), 2 * total, DType::f64), 1e-5, 1e-5));
}

TEST(HiddenEpsStudy, TakesTheGivenStepsAndIsSecondOrderInTruncation) {
  const std::vector<double> steps{1e-1, 1e-2, 3e-3};
  const std::vector<EpsStudyPoint> pts = eps_study(steps);
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), steps.size()) << "expected one point per given step";
  for (const EpsStudyPoint& p : pts) observe::value("ε of a point", p.eps, 0, 1e-15);
  observe::value("f64 error ratio of ε = 0.1 and 0.01", pts[0].error_f64 / pts[1].error_f64, 4.0);
  observe::value("f64 error at ε = 0.1", pts[0].error_f64, 2e-5);
  observe::value("f32 error at ε = 0.1", pts[0].error_f32, 4e-5);
  for (size_t i = 0; i < steps.size(); ++i)
    EXPECT_DOUBLE_EQ(pts[i].eps, steps[i]) << "point " << i << " should hold the given ε";
  // Truncation error ε²/6·|cos 1|: 100x smaller for a 10x smaller ε.
  EXPECT_NEAR(pts[0].error_f64 / pts[1].error_f64, 100.0, 2.0)
      << "expected the f64 error to fall 100× for a 10× smaller ε (truncation O(ε²))";
  EXPECT_NEAR(pts[0].error_f64, 1e-2 / 6 * std::cos(1.0), 1e-5)
      << "expected the f64 error at ε = 0.1 to be ε²/6·cos 1";
  EXPECT_NEAR(pts[0].error_f32, pts[0].error_f64, 1e-5)
      << "expected f32 and f64 to agree at ε = 0.1, where truncation dominates both";
}

TEST(HiddenEpsStudy, TruncationSlopeIsTwoOnRandomLargeSteps) {
  SCOPED_TRACE(hidden::seed_note());
  // ε₁ ∈ [0.06, 0.2], ε₂ ∈ [0.03, ε₁/2]: truncation dominates in f32 as well.
  const double e1 = hidden::draw_real(80, 0.06, 0.2);
  const double e2 = hidden::draw_real(81, 0.03, e1 / 2);
  const std::vector<EpsStudyPoint> pts = eps_study({e1, e2});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 2u) << "expected one point per given step";
  const double decades = std::log10(e1 / e2);
  const double s64 = std::log10(pts[0].error_f64 / pts[1].error_f64) / decades;
  const double s32 = std::log10(pts[0].error_f32 / pts[1].error_f32) / decades;
  observe::value("f64 slope", s64, 0.1);
  observe::value("f32 slope", s32, 0.4);
  EXPECT_NEAR(s64, 2.0, 0.05) << "expected the f64 error to fall like ε² between ε = " << e1
                              << " and " << e2;
  EXPECT_NEAR(s32, 2.0, 0.2) << "expected the f32 error to fall like ε² between ε = " << e1
                             << " and " << e2 << " (errors " << pts[0].error_f32 << ", "
                             << pts[1].error_f32 << ")";
}

TEST(HiddenEpsStudy, F32ErrorIsCos1OnTheFlatStretch) {
  SCOPED_TRACE(hidden::seed_note());
  // Below ε ≈ 3e-8, 1 ± ε rounds to 1 in float: the difference is 0, the error cos 1.
  std::mt19937_64 rng(hidden::seed(90));
  std::vector<double> steps;
  for (int i = 0; i < 4; ++i)
    steps.push_back(std::pow(10.0, std::uniform_real_distribution<double>(-12, -7.7)(rng)));
  const std::vector<EpsStudyPoint> pts = eps_study(steps);
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), steps.size()) << "expected one point per given step";
  for (const EpsStudyPoint& p : pts) observe::value("f32 error on the flat stretch", p.error_f32, 2e-6);
  for (const EpsStudyPoint& p : pts)
    EXPECT_NEAR(p.error_f32, std::cos(1.0), 1e-6)
        << "at ε = " << p.eps << " expected the f32 error cos 1 = 0.5403 (1 ± ε rounds to 1 in "
        << "float), got " << p.error_f32 << ": part of the f32 computation ran in double";
}

TEST(HiddenEpsStudy, FloatErrorIsRoundingDominatedAtSmallSteps) {
  const std::vector<EpsStudyPoint> pts = eps_study({1e-6, 1e-7});
  observe::count("points of the study", static_cast<int64_t>(pts.size()));
  ASSERT_EQ(pts.size(), 2u) << "expected one point per given step";
  observe::flag("the f32 error at ε = 1e-6 is above 1e-3", pts[0].error_f32 > 1e-3);
  observe::value("f64 error at ε = 1e-6", pts[0].error_f64, 1e-8);
  // u_f32 ≈ 6e-8: at ε = 1e-6 rounding costs ~u/ε ≈ 0.06 in float, ~1e-10 in double.
  EXPECT_GT(pts[0].error_f32, 1e-3) << "expected a rounding error of order u/ε ≈ 0.06 in f32 at "
                                       "ε = 1e-6, got "
                                    << pts[0].error_f32;
  EXPECT_LT(pts[0].error_f64, 1e-8)
      << "expected an f64 error below 1e-8 at ε = 1e-6, got " << pts[0].error_f64;
}

}  // namespace
}  // namespace gw
