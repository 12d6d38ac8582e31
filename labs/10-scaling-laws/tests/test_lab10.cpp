// test_lab10.cpp — public tests of lab 10 (scaling laws): the lecture's compute-optimal
// numbers, the closed form against a numeric search along the IsoFLOP curve, a budget from
// dollars, an architecture within 5% of N_opt, the Huber fit recovering a known law from noisy
// data, the IsoFLOP analysis of a known law, and clear errors for bad input.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gw/error.h"
#include "gw/graph.h"
#include "gw/model.h"
#include "gw/scaling.h"
#include "observe.h"

namespace gw::scaling {
namespace {

// Expects |got − want| ≤ rtol·|want|; graded, `got` is observed within 2·rtol (two answers
// that each pass may differ by that much).
::testing::AssertionResult within(const std::string& what, double got, double want, double rtol) {
  observe::value(what, got, 0, 2 * rtol);
  if (std::abs(got - want) <= rtol * std::abs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " is " << got << ", expected " << want
                                       << " (within " << rtol * 100 << "%)";
}

// Whether `call` throws a gw::Error (observed). An untouched stub's NotImplemented does not
// count: the error must come from your check.
bool rejects(const std::string& what, const std::function<void()>& call) {
  bool thrown = false;
  std::string message = "returned normally";
  try {
    call();
  } catch (const NotImplemented& e) {
    message = e.what();
  } catch (const Error& e) {
    thrown = true;
  } catch (const std::exception& e) {
    message = std::string("threw a non-gw::Error: ") + e.what();
  }
  observe::flag(what + " is rejected", thrown);
  if (!thrown) ADD_FAILURE() << what << ": expected a gw::Error, but " << message;
  return thrown;
}

// The law's loss and its compute-optimal N, computed here (not with your code), so that the
// data of a test does not depend on the function another test checks.
double loss_of(const Law& l, double N, double D) {
  return l.E + l.A / std::pow(N, l.alpha) + l.B / std::pow(D, l.beta);
}
double n_opt_of(const Law& l, double C) {
  const double s = l.alpha + l.beta;
  return std::pow(l.alpha * l.A / (l.beta * l.B), 1 / s) * std::pow(C / 6, l.beta / s);
}

// (N, D, L) on a log grid of N and D, L from `law` times e^(noise), noise ~ N(0, sigma²).
std::vector<Observation> noisy_grid(const Law& law, double sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  std::vector<Observation> obs;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) {
      const double N = 1e7 * std::pow(10, i * 0.6), D = 1e9 * std::pow(10, j * 0.6);
      obs.push_back({N, D, loss_of(law, N, D) * std::exp(noise(rng))});
    }
  return obs;
}

TEST(LectureLaw, ABudgetOf1e21FlopsGives2point58BillionParametersOn64point7BillionTokens) {
  const Allocation a = compute_optimal(chinchilla_lecture_law(), 1e21);
  EXPECT_TRUE(within("N_opt at C = 1e21", a.N, 2.58e9, 0.005));
  EXPECT_TRUE(within("D_opt at C = 1e21", a.D, 6.47e10, 0.005));
  EXPECT_TRUE(within("L(N_opt, D_opt) at C = 1e21", a.loss, 2.247, 0.0005));
  EXPECT_TRUE(within("6·N_opt·D_opt (must be C)", 6 * a.N * a.D, 1e21, 1e-9));
}

TEST(LectureLaw, TheClosedFormEqualsTheNumericMinimumAlongTheIsoFlopCurve) {
  for (double C : {1e15, 1e18, 1e21, 1e24, 1e27}) {
    const Allocation closed = compute_optimal(chinchilla_lecture_law(), C);
    const Allocation numeric = compute_optimal_numeric(chinchilla_lecture_law(), C);
    const std::string at = " at C = " + std::to_string(C);
    EXPECT_TRUE(within("numeric N_opt" + at, numeric.N, closed.N, 1e-5));
    EXPECT_TRUE(within("numeric D_opt" + at, numeric.D, closed.D, 1e-5));
    EXPECT_TRUE(within("numeric loss" + at, numeric.loss, closed.loss, 1e-9));
    EXPECT_TRUE(within("numeric 6ND" + at, 6 * numeric.N * numeric.D, C, 1e-9));
  }
}

TEST(LectureLaw, TheLossIsTheLawsSum) {
  EXPECT_TRUE(within("L(1e9, 2e10)", law_loss(chinchilla_lecture_law(), 1e9, 2e10),
                     1.69 + 406.4 / std::pow(1e9, 0.34) + 410.7 / std::pow(2e10, 0.29), 1e-12));
}

TEST(Budget, OneMillionDollarsAtTwoDollarsPerH100HourAt40PercentMfu) {
  // 500 000 GPU-hours · 3600 s · 989 TFLOP/s · 0.4
  EXPECT_TRUE(within("C from $1M", budget_from_dollars(1e6, 2.0, 989e12, 0.4), 7.12080e23, 1e-9));
  EXPECT_TRUE(within("C from $5000", budget_from_dollars(5000, 1.5, 312e12, 0.55), 2.0592e21, 1e-9));
}

TEST(Architecture, TheDesignForTheLecturesOptimumIsWithinFivePercentOfNOpt) {
  const double target = n_opt_of(chinchilla_lecture_law(), 1e21);  // 2.58e9
  DesignConstraints c;  // GPT-2 vocabulary, context 2048, head_dim 64, aspect 32..128
  const ModelShape s = design_architecture(target, c);
  const double error = std::abs(static_cast<double>(parameter_count(s)) - target) / target;
  observe::value("relative error of the parameter count", error, 0.05);
  EXPECT_LE(error, 0.05) << "the design has " << parameter_count(s) << " parameters for " << target;
  observe::count("n_embd − n_head·head_dim", s.n_embd - s.n_head * c.head_dim);
  EXPECT_EQ(s.n_embd, s.n_head * c.head_dim) << "n_embd must be n_head·head_dim";
  const int64_t raw = (8 * s.n_embd + 2) / 3;
  observe::count("mlp_hidden − the 8h/3 rule", s.mlp_hidden - (raw + 31) / 32 * 32);
  EXPECT_EQ(s.mlp_hidden, (raw + 31) / 32 * 32) << "mlp_hidden: 8h/3 rounded up to a multiple of 32";
  const double aspect = static_cast<double>(s.n_embd) / static_cast<double>(s.n_layer);
  const double outside = std::max({0.0, c.min_aspect - aspect, aspect - c.max_aspect});
  observe::value("aspect ratio outside [32, 128] by", outside);
  EXPECT_EQ(outside, 0.0) << "h/N_layer = " << aspect;
  observe::count("vocab_size", s.vocab_size);
  observe::count("block_size", s.block_size);
  EXPECT_EQ(s.vocab_size, c.vocab_size);
  EXPECT_EQ(s.block_size, c.block_size);
}

TEST(Architecture, TheDesignsCountIsTheTrainersOwnModelsCount) {
  DesignConstraints c;
  c.vocab_size = 65;
  c.block_size = 64;
  c.head_dim = 16;
  c.min_aspect = 8;
  c.max_aspect = 64;
  const ModelShape s = design_architecture(500e3, c);
  Graph g;
  const Transformer model = make_transformer(g, s, 1);
  const double error = std::abs(static_cast<double>(model.parameter_count()) - 500e3) / 500e3;
  observe::value("relative error of the built model's count", error, 0.05);
  EXPECT_LE(error, 0.05) << "the built model has " << model.parameter_count() << " parameters";
  observe::count("parameter_count − built model's count", parameter_count(s) - model.parameter_count());
  EXPECT_EQ(parameter_count(s), model.parameter_count());
}

TEST(Fit, HuberIsQuadraticInsideDeltaAndLinearOutside) {
  EXPECT_TRUE(within("huber(0.5e-3, 1e-3)", huber(0.5e-3, 1e-3), 1.25e-7, 1e-12));
  EXPECT_TRUE(within("huber(-0.5e-3, 1e-3)", huber(-0.5e-3, 1e-3), 1.25e-7, 1e-12));
  EXPECT_TRUE(within("huber(0.2, 1e-3)", huber(0.2, 1e-3), 1e-3 * (0.2 - 0.5e-3), 1e-12));
  EXPECT_TRUE(within("huber(-3, 1e-3)", huber(-3, 1e-3), 1e-3 * (3 - 0.5e-3), 1e-12));
}

TEST(Fit, TheObjectivesGradientMatchesCentralDifferences) {
  const std::vector<Observation> obs = noisy_grid(chinchilla_lecture_law(), 0.01, 7);
  const FitParams theta = {5.5, 6.2, 0.4, 0.3, 0.31};
  const double delta = 0.05;  // wide, so that residuals fall on both sides of ±δ
  FitParams grad{};
  const double value = fit_objective(theta, obs, delta, &grad);
  EXPECT_TRUE(within("objective", value, fit_objective(theta, obs, delta, nullptr), 1e-12));
  for (size_t k = 0; k < theta.size(); ++k) {
    FitParams plus = theta, minus = theta;
    plus[k] += 1e-6;
    minus[k] -= 1e-6;
    const double numeric =
        (fit_objective(plus, obs, delta, nullptr) - fit_objective(minus, obs, delta, nullptr)) / 2e-6;
    observe::value("gradient " + std::to_string(k), grad[k], 1e-5, 2e-4);
    EXPECT_NEAR(grad[k], numeric, 0.5e-5 + 1e-4 * std::abs(numeric)) << "component " << k;
  }
}

TEST(Fit, TheHuberFitRecoversTheLecturesLawFromNoisyData) {
  const Law truth = chinchilla_lecture_law();
  const FitResult fit = fit_law(noisy_grid(truth, 0.005, 11));
  EXPECT_TRUE(within("fitted E", fit.law.E, truth.E, 0.05));
  EXPECT_TRUE(within("fitted alpha", fit.law.alpha, truth.alpha, 0.05));
  EXPECT_TRUE(within("fitted beta", fit.law.beta, truth.beta, 0.05));
  observe::count("starts tried", fit.starts);
  EXPECT_EQ(fit.starts, 4500) << "every point of chinchilla_start_grid()";
}

TEST(IsoFlop, TheParabolaThroughExactPointsIsRecovered) {
  std::vector<double> x, y;
  for (double v : {14.0, 15.0, 16.5, 17.0, 18.2}) {
    x.push_back(v);
    y.push_back(0.03 * v * v - 1.0 * v + 11.0);
  }
  const Parabola p = fit_parabola(x, y);
  EXPECT_TRUE(within("a", p.a, 0.03, 1e-6));
  EXPECT_TRUE(within("b", p.b, -1.0, 1e-6));
  EXPECT_TRUE(within("c", p.c, 11.0, 1e-6));
}

TEST(IsoFlop, TheAnalysisOfTheLecturesLawFindsItsOptimaAndExponents) {
  const Law law = chinchilla_lecture_law();
  std::vector<IsoFlopRun> runs;
  for (double C : {1e18, 1e19, 1e20, 1e21}) {
    const double n_opt = n_opt_of(law, C);
    for (double f : {0.25, 0.5, 1.0, 2.0, 4.0})
      runs.push_back({C, n_opt * f, loss_of(law, n_opt * f, C / (6 * n_opt * f))});
  }
  const IsoFlopAnalysis a = analyze_isoflop(runs);
  observe::count("budgets", static_cast<int64_t>(a.budgets.size()));
  ASSERT_EQ(a.budgets.size(), 4u);
  for (const IsoFlopBudget& b : a.budgets) {
    const double n_opt = n_opt_of(law, b.C), loss = loss_of(law, n_opt, b.C / (6 * n_opt));
    EXPECT_TRUE(within("parabola's N_opt at C = " + std::to_string(b.C), b.N_opt, n_opt, 0.03));
    EXPECT_TRUE(within("parabola's loss_min at C = " + std::to_string(b.C), b.loss_min, loss, 0.002));
    EXPECT_TRUE(within("D_opt · N_opt · 6 at C = " + std::to_string(b.C), 6 * b.N_opt * b.D_opt, b.C, 1e-9));
  }
  EXPECT_TRUE(within("exponent of N_opt(C), β/(α+β)", a.n_opt.exponent, 0.29 / 0.63, 0.01));
  EXPECT_TRUE(within("exponent of D_opt(C), α/(α+β)", a.d_opt.exponent, 0.34 / 0.63, 0.01));
}

TEST(BadInput, ANonPositiveOrNanBudgetIsAnError) {
  const Law law = chinchilla_lecture_law();
  rejects("compute_optimal with C = 0", [&] { compute_optimal(law, 0); });
  rejects("compute_optimal with C = -1e21", [&] { compute_optimal(law, -1e21); });
  rejects("compute_optimal with C = NaN", [&] { compute_optimal(law, std::nan("")); });
  rejects("compute_optimal_numeric with C = 0", [&] { compute_optimal_numeric(law, 0); });
  rejects("budget_from_dollars with -5 dollars", [&] { budget_from_dollars(-5, 2, 989e12, 0.4); });
  rejects("budget_from_dollars with mfu 1.5", [&] { budget_from_dollars(100, 2, 989e12, 1.5); });
}

TEST(BadInput, TooFewObservationsOrNanInTheDataIsAnError) {
  std::vector<Observation> obs = noisy_grid(chinchilla_lecture_law(), 0.005, 3);
  const std::vector<Observation> four(obs.begin(), obs.begin() + 4);
  rejects("fit_law with 4 observations", [&] { fit_law(four); });
  obs[5].loss = std::nan("");
  rejects("fit_law with a NaN loss", [&] { fit_law(obs); });
  std::vector<IsoFlopRun> runs = {{1e18, 1e6, 3.0}, {1e18, 2e6, 2.9}, {1e19, 1e6, 2.8}};
  rejects("analyze_isoflop with 2 runs in a budget", [&] { analyze_isoflop(runs); });
}

}  // namespace
}  // namespace gw::scaling
