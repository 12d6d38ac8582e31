// isoflop.cpp — lab 10: the IsoFLOP analysis (Chinchilla's approach 2). For each budget, the
// loss against ln N is close to a parabola near its minimum; the minima of all budgets trace
// N_opt(C) and D_opt(C), two straight lines in log-log (gw/scaling.h).
#include <algorithm>
#include <cmath>
#include <map>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

Parabola fit_parabola(const std::vector<double>& x, const std::vector<double>& y) {
  // BEGIN LAB 10: check the points (same sizes, ≥ 3, finite, ≥ 3 distinct x); least squares for (a, b, c): the 3×3 normal equations [Σx⁴ Σx³ Σx²; Σx³ Σx² Σx; Σx² Σx n]·(a, b, c) = (Σx²y, Σxy, Σy), solved by Gaussian elimination or Cramer's rule (center x at its mean first, for conditioning, then shift back)
  GW_CHECK(x.size() == y.size(), "fit_parabola: ", x.size(), " x values but ", y.size(), " y values");
  GW_CHECK(x.size() >= 3, "fit_parabola: ", x.size(), " points; a parabola needs at least 3");
  for (size_t k = 0; k < x.size(); ++k)
    GW_CHECK(std::isfinite(x[k]) && std::isfinite(y[k]), "fit_parabola: point ", k, " (", x[k],
             ", ", y[k], ") is not finite");
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  GW_CHECK(std::unique(sorted.begin(), sorted.end()) - sorted.begin() >= 3,
           "fit_parabola: fewer than 3 distinct x values");
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  // Normal equations in u = x − mean: M (a, b', c') = r.
  double s[5] = {0, 0, 0, 0, 0}, r[3] = {0, 0, 0};  // s[k] = Σu^k
  for (size_t k = 0; k < x.size(); ++k) {
    const double u = x[k] - mean;
    double p = 1;
    for (int j = 0; j < 5; ++j, p *= u) s[j] += p;
    r[0] += u * u * y[k];
    r[1] += u * y[k];
    r[2] += y[k];
  }
  double m[3][4] = {{s[4], s[3], s[2], r[0]}, {s[3], s[2], s[1], r[1]}, {s[2], s[1], s[0], r[2]}};
  for (int col = 0; col < 3; ++col) {  // Gaussian elimination with partial pivoting
    int pivot = col;
    for (int row = col + 1; row < 3; ++row)
      if (std::abs(m[row][col]) > std::abs(m[pivot][col])) pivot = row;
    std::swap(m[col], m[pivot]);
    for (int row = col + 1; row < 3; ++row) {
      const double f = m[row][col] / m[col][col];
      for (int j = col; j < 4; ++j) m[row][j] -= f * m[col][j];
    }
  }
  double sol[3];
  for (int row = 2; row >= 0; --row) {
    double v = m[row][3];
    for (int j = row + 1; j < 3; ++j) v -= m[row][j] * sol[j];
    sol[row] = v / m[row][row];
  }
  // a u² + b' u + c' with u = x − mean, back in x.
  Parabola p;
  p.a = sol[0];
  p.b = sol[1] - 2 * sol[0] * mean;
  p.c = sol[0] * mean * mean - sol[1] * mean + sol[2];
  return p;
  // END LAB 10
}

PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y) {
  // BEGIN LAB 10: check the points (same sizes, ≥ 2, finite and > 0, not all x equal); least-squares line through (ln x, ln y): slope = exponent, intercept = ln coefficient
  GW_CHECK(x.size() == y.size(), "fit_power_law: ", x.size(), " x values but ", y.size(), " y values");
  GW_CHECK(x.size() >= 2, "fit_power_law: ", x.size(), " points; a power law needs at least 2");
  double mx = 0, my = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    GW_CHECK(std::isfinite(x[k]) && x[k] > 0 && std::isfinite(y[k]) && y[k] > 0,
             "fit_power_law: point ", k, " (", x[k], ", ", y[k], ") must be finite and positive");
    mx += std::log(x[k]);
    my += std::log(y[k]);
  }
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(x.size());
  double sxx = 0, sxy = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    const double u = std::log(x[k]) - mx;
    sxx += u * u;
    sxy += u * (std::log(y[k]) - my);
  }
  GW_CHECK(sxx > 0, "fit_power_law: every x is the same; the exponent is undefined");
  PowerLaw law;
  law.exponent = sxy / sxx;
  law.coefficient = std::exp(my - law.exponent * mx);
  return law;
  // END LAB 10
}

IsoFlopAnalysis analyze_isoflop(const std::vector<IsoFlopRun>& runs) {
  // BEGIN LAB 10: check every run (C, N, loss finite and > 0); group the runs by C (increasing); per budget (≥ 3 runs) fit_parabola of loss against ln N, require a > 0, minimum at x* = −b/(2a): N_opt = e^x*, D_opt = C/(6 N_opt), loss_min = the parabola at x*; then fit_power_law of N_opt and of D_opt against C (≥ 2 budgets)
  std::map<double, std::vector<const IsoFlopRun*>> by_budget;
  for (size_t k = 0; k < runs.size(); ++k) {
    const IsoFlopRun& r = runs[k];
    auto ok = [](double v) { return std::isfinite(v) && v > 0; };
    GW_CHECK(ok(r.C) && ok(r.N) && ok(r.loss), "analyze_isoflop: run ", k, " (C = ", r.C,
             ", N = ", r.N, ", loss = ", r.loss, ") must be finite and positive");
    by_budget[r.C].push_back(&r);
  }
  GW_CHECK(by_budget.size() >= 2, "analyze_isoflop: ", by_budget.size(),
           " budget(s); the power laws need at least 2");
  IsoFlopAnalysis out;
  std::vector<double> budgets, n_opts, d_opts;
  for (const auto& [C, group] : by_budget) {
    GW_CHECK(group.size() >= 3, "analyze_isoflop: budget ", C, " has ", group.size(),
             " runs; a parabola needs at least 3");
    std::vector<double> x, y;
    for (const IsoFlopRun* r : group) {
      x.push_back(std::log(r->N));
      y.push_back(r->loss);
    }
    IsoFlopBudget b;
    b.C = C;
    b.parabola = fit_parabola(x, y);
    GW_CHECK(b.parabola.a > 0, "analyze_isoflop: budget ", C,
             ": the loss against ln N has no minimum (parabola a = ", b.parabola.a,
             "); its sizes do not bracket the optimum");
    const double x_min = -b.parabola.b / (2 * b.parabola.a);
    b.N_opt = std::exp(x_min);
    b.D_opt = C / (6 * b.N_opt);
    b.loss_min = (b.parabola.a * x_min + b.parabola.b) * x_min + b.parabola.c;
    out.budgets.push_back(b);
    budgets.push_back(C);
    n_opts.push_back(b.N_opt);
    d_opts.push_back(b.D_opt);
  }
  out.n_opt = fit_power_law(budgets, n_opts);
  out.d_opt = fit_power_law(budgets, d_opts);
  return out;
  // END LAB 10
}

}  // namespace gw::scaling
