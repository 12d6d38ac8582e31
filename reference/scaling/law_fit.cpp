// law_fit.cpp — lab 10: fitting L(N, D) = E + A/N^α + B/D^β to measured runs, as Chinchilla
// and Epoch AI do: a Huber loss on log-space residuals, minimized by L-BFGS from a grid of
// starts (gw/scaling.h). minimize_lbfgs and chinchilla_start_grid are given (fit_tools.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

double huber(double r, double delta) {
  // BEGIN LAB 10: r²/2 when |r| ≤ δ, else δ·(|r| − δ/2)
  const double m = std::abs(r);
  return m <= delta ? 0.5 * r * r : delta * (m - 0.5 * delta);
  // END LAB 10
}

double fit_objective(const FitParams& theta, const std::vector<Observation>& observations,
                     double delta, FitParams* gradient) {
  // BEGIN LAB 10: for each observation the three terms t = (a − α ln N, b − β ln D, e), LSE(t) with the largest subtracted, r = LSE − ln L, add Huber(r); gradient: Huber'(r) (r inside ±δ, else ±δ) times ∂LSE/∂θ, where the softmax weights w of t give ∂/∂a = w₀, ∂/∂b = w₁, ∂/∂e = w₂, ∂/∂α = −w₀ ln N, ∂/∂β = −w₁ ln D
  const double a = theta[0], b = theta[1], e = theta[2], alpha = theta[3], beta = theta[4];
  double total = 0;
  FitParams g{};
  for (const Observation& o : observations) {
    const double ln_n = std::log(o.N), ln_d = std::log(o.D);
    const double t[3] = {a - alpha * ln_n, b - beta * ln_d, e};
    const double top = std::max({t[0], t[1], t[2]});
    double w[3], sum = 0;
    for (int k = 0; k < 3; ++k) sum += (w[k] = std::exp(t[k] - top));
    const double r = top + std::log(sum) - std::log(o.loss);
    total += huber(r, delta);
    if (gradient == nullptr) continue;
    const double slope = std::abs(r) <= delta ? r : (r > 0 ? delta : -delta);  // Huber'(r)
    for (double& wk : w) wk /= sum;
    g[0] += slope * w[0];
    g[1] += slope * w[1];
    g[2] += slope * w[2];
    g[3] -= slope * w[0] * ln_n;
    g[4] -= slope * w[1] * ln_d;
  }
  if (gradient != nullptr) *gradient = g;
  return total;
  // END LAB 10
}

FitResult fit_law(const std::vector<Observation>& observations, const FitOptions& options) {
  // BEGIN LAB 10: check the data (at least 5 observations; every N, D, loss finite and > 0, naming the bad index); from every start (options.starts, or chinchilla_start_grid()) run minimize_lbfgs on fit_objective with options.huber_delta; keep the lowest objective; return its law_of(θ)
  GW_CHECK(observations.size() >= 5, "fit_law: ", observations.size(),
           " observations for 5 parameters (E, A, B, alpha, beta); need at least 5");
  for (size_t i = 0; i < observations.size(); ++i) {
    const Observation& o = observations[i];
    auto ok = [](double v) { return std::isfinite(v) && v > 0; };
    GW_CHECK(ok(o.N) && ok(o.D) && ok(o.loss), "fit_law: observation ", i, " (N = ", o.N,
             ", D = ", o.D, ", loss = ", o.loss, ") must be finite and positive");
  }
  const std::vector<FitParams> starts =
      options.starts.empty() ? chinchilla_start_grid() : options.starts;
  const Objective objective = [&](const FitParams& theta, FitParams& gradient) {
    return fit_objective(theta, observations, options.huber_delta, &gradient);
  };
  FitResult best;
  best.objective = std::numeric_limits<double>::infinity();
  FitParams best_theta{};
  for (const FitParams& start : starts) {
    double value = 0;
    const FitParams theta = minimize_lbfgs(objective, start, options.max_iterations, &value);
    if (value < best.objective) {
      best.objective = value;
      best_theta = theta;
    }
  }
  GW_CHECK(std::isfinite(best.objective), "fit_law: no start gave a finite objective");
  best.law = law_of(best_theta);
  best.starts = static_cast<int>(starts.size());
  return best;
  // END LAB 10
}

}  // namespace gw::scaling
