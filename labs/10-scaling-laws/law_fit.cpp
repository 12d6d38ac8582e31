// Lab 10: your copy of this file. Replace each GW_TODO("lab 10: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 10: r²/2 when |r| ≤ δ, else δ·(|r| − δ/2)", r, delta);
}

double fit_objective(const FitParams& theta, const std::vector<Observation>& observations,
                     double delta, FitParams* gradient) {
  GW_TODO("lab 10: for each observation the three terms t = (a − α ln N, b − β ln D, e), LSE(t) with the largest subtracted, r = LSE − ln L, add Huber(r); gradient: Huber'(r) (r inside ±δ, else ±δ) times ∂LSE/∂θ, where the softmax weights w of t give ∂/∂a = w₀, ∂/∂b = w₁, ∂/∂e = w₂, ∂/∂α = −w₀ ln N, ∂/∂β = −w₁ ln D", theta, observations, delta, gradient);
}

FitResult fit_law(const std::vector<Observation>& observations, const FitOptions& options) {
  GW_TODO("lab 10: check the data (at least 5 observations; every N, D, loss finite and > 0, naming the bad index); from every start (options.starts, or chinchilla_start_grid()) run minimize_lbfgs on fit_objective with options.huber_delta; keep the lowest objective; return its law_of(θ)", observations, options);
}

}  // namespace gw::scaling
