// scaling.h — lab 10: scaling laws. Choose the model size N and the number of training
// tokens D for a compute budget C, fit the law to measured losses, and design the model.
//
// The parametric law (Chinchilla's "approach 3") and the compute of a training run:
//     L(N, D) = E + A / N^α + B / D^β,        C ≈ 6·N·D FLOPs
// On the IsoFLOP curve D = C / (6N), the loss is minimized by
//     N_opt = G·(C/6)^(β/(α+β)),   D_opt = (C/6)^(α/(α+β)) / G,   G = (αA / (βB))^(1/(α+β))
// The law is fitted in log space: with θ = (a, b, e, α, β), A = e^a, B = e^b, E = e^e,
//     r_i = LSE(a − α·ln N_i, b − β·ln D_i, e) − ln L_i,   minimize Σ_i Huber_δ(r_i)  (δ = 1e-3)
// by L-BFGS from a grid of starting points. The IsoFLOP analysis ("approach 2") fits, for each
// budget, a parabola of the loss in ln N, takes its minimum, and fits the power laws
// N_opt(C) = k_N·C^a_N and D_opt(C) = k_D·C^a_D through the minima.
//
//   lab 10  law_loss, compute_optimal, compute_optimal_numeric,
//           budget_from_dollars                       (reference/scaling/compute_optimal.cpp)
//           design_architecture                       (reference/scaling/architecture.cpp)
//           huber, fit_objective, fit_law             (reference/scaling/law_fit.cpp)
//           fit_parabola, fit_power_law,
//           analyze_isoflop                           (reference/scaling/isoflop.cpp)
//   given   parameter_count, minimize_lbfgs, chinchilla_start_grid
//                                                     (reference/scaling/fit_tools.cpp)
//
// Bad input (a budget, price, size or loss that is not a finite positive number, fewer
// observations than the law has parameters, a budget with fewer than three runs) throws
// gw::Error with a message that names what is wrong; no function returns NaN for bad input.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "gw/model.h"

namespace gw::scaling {

/// L(N, D) = E + A/N^α + B/D^β: the loss (nats per token) of a model of N parameters trained
/// on D tokens.
struct Law {
  double E = 0;      ///< irreducible loss (the entropy of the text)
  double A = 0;      ///< size term's coefficient
  double B = 0;      ///< data term's coefficient
  double alpha = 0;  ///< α: size exponent
  double beta = 0;   ///< β: data exponent
};

/// The lecture's form of Chinchilla's fit: E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.29.
inline Law chinchilla_lecture_law() { return {1.69, 406.4, 410.7, 0.34, 0.29}; }
/// Epoch AI's 2024 refit of Chinchilla's data: E = 1.8172, A = 482.01, B = 2085.43,
/// α = 0.3478, β = 0.3658.
inline Law epoch_refit_law() { return {1.8172, 482.01, 2085.43, 0.3478, 0.3658}; }

/// A model size, a token count and the loss the law gives them.
struct Allocation {
  double N = 0;     ///< parameters
  double D = 0;     ///< training tokens
  double loss = 0;  ///< L(N, D)
};

/// L(N, D). gw::Error unless N and D are finite and positive.
double law_loss(const Law& law, double N, double D);

/// The compute-optimal allocation of budget C (FLOPs) by the closed form above, with
/// C = 6·N·D. gw::Error when C is not finite and positive, or when the law's exponents or
/// coefficients are not positive.
Allocation compute_optimal(const Law& law, double C);

/// The same optimum found numerically: minimizes L(N, C/(6N)) over ln N ∈ [0, ln(C/6)] (a
/// golden-section or Brent search; the loss along the curve is convex in ln N). Near the
/// minimum the loss is flat, so doubles pin N down to about 1e-7 relative, not better; the
/// search minimizes L − E, which has the same minimum and keeps its differences above E's
/// rounding. The same errors as compute_optimal, and gw::Error for C ≤ 6.
Allocation compute_optimal_numeric(const Law& law, double C);

/// Training compute that money buys: C = dollars / price_per_gpu_hour · 3600 s ·
/// peak_flops · mfu. gw::Error unless every argument is finite and positive and mfu ≤ 1.
/// @param dollars             what you may spend
/// @param price_per_gpu_hour  dollars per GPU-hour
/// @param peak_flops          one GPU's peak FLOP/s in the training precision
/// @param mfu                 model FLOPs utilization, the achieved fraction of peak (0, 1]
double budget_from_dollars(double dollars, double price_per_gpu_hour, double peak_flops,
                           double mfu);

// ---- the architecture ---------------------------------------------------------------------

/// Weights of the trainer's decoder (gw/model.h): untied embedding and head 2·v·h, per
/// block 4h² (attention) + 3·h·i (SwiGLU) + 2h (two RMSNorms), and the final RMSNorm h.
/// The context length s adds none (RoPE has no weights). Equals
/// make_transformer(...).parameter_count() for the same shape.
int64_t parameter_count(const ModelShape& shape);

/// The shapes a design may take.
struct DesignConstraints {
  int64_t vocab_size = 50257;  ///< v (fixed by the tokenizer)
  int64_t block_size = 2048;   ///< context s (fixed: it costs FLOPs, not parameters)
  int64_t head_dim = 64;       ///< d = h/n; a multiple of 8, so h is a multiple of 8·n
  int64_t mlp_multiple = 32;   ///< i = 8h/3 rounded up to a multiple of this (the trainer's rule)
  double min_aspect = 32;      ///< smallest width per layer h/N_layer
  double max_aspect = 128;     ///< largest width per layer h/N_layer
  int64_t min_layers = 1;      ///< fewest decoder blocks (gw-sweep asks for 2: its one-block models, which cannot compose heads, fell off the law)
  int64_t max_layers = 128;    ///< most decoder blocks
  double tolerance = 0.05;     ///< |parameter_count − target| / target must not exceed this
};

/// A decoder shape whose parameter_count is within constraints.tolerance of `target_params`:
/// n_layer ∈ [min_layers, max_layers], n_head ≥ 1, n_embd = n_head·head_dim, mlp_hidden = 8h/3
/// rounded up to a multiple of mlp_multiple, min_aspect ≤ n_embd/n_layer ≤ max_aspect,
/// vocab_size and block_size from the constraints. Among the shapes that fit, the one whose
/// count is closest to the target. gw::Error when the target is not finite and positive,
/// the constraints are malformed (head_dim not a positive multiple of 8, ...), or no shape
/// fits (the message gives the closest count).
ModelShape design_architecture(double target_params, const DesignConstraints& constraints);

// ---- the fit -------------------------------------------------------------------------------

/// One training run's outcome.
struct Observation {
  double N = 0;     ///< parameters
  double D = 0;     ///< training tokens
  double loss = 0;  ///< final validation loss (nats per token)
};

/// Huber_δ(r) = r²/2 for |r| ≤ δ, δ·(|r| − δ/2) beyond: quadratic near 0, linear in the
/// tails, so that an outlier pulls the fit with a bounded force.
double huber(double r, double delta);

/// The fit's parameters θ = (a, b, e, α, β), with A = e^a, B = e^b, E = e^e. Mind the order:
/// E comes first in a Law and third here; params_of and law_of convert.
using FitParams = std::array<double, 5>;

/// Σ_i Huber_δ(LSE(a − α ln N_i, b − β ln D_i, e) − ln L_i) at θ, and its gradient with
/// respect to θ in `gradient` when that is not null. LSE(x, y, z) = ln(e^x + e^y + e^z),
/// computed without overflow (subtract the largest term first).
double fit_objective(const FitParams& theta, const std::vector<Observation>& observations,
                     double delta, FitParams* gradient);

/// θ of a law (a = ln A, b = ln B, e = ln E).
FitParams params_of(const Law& law);
/// The law of θ.
Law law_of(const FitParams& theta);

/// Settings of fit_law.
struct FitOptions {
  double huber_delta = 1e-3;        ///< δ
  std::vector<FitParams> starts;    ///< starting points; empty = chinchilla_start_grid()
  int max_iterations = 1000;        ///< L-BFGS iterations per start
};

/// What fit_law found.
struct FitResult {
  Law law;                ///< the fitted law
  double objective = 0;   ///< fit_objective at the fitted θ
  int starts = 0;         ///< starting points tried
};

/// Fits the law to the observations: minimize_lbfgs of fit_objective from every start,
/// keeping the lowest objective. gw::Error with fewer than 5 observations (the law has 5
/// parameters) or an observation whose N, D or loss is not finite and positive (the
/// message names its index).
FitResult fit_law(const std::vector<Observation>& observations, const FitOptions& options = {});

/// A function of θ that returns its value and writes its gradient.
using Objective = std::function<double(const FitParams& theta, FitParams& gradient)>;

/// L-BFGS (libLBFGS) from `start`, at most `max_iterations` iterations; returns the point
/// reached and writes the value there to `value`. A start where the objective is not finite
/// returns the start with value = +infinity.
FitParams minimize_lbfgs(const Objective& objective, const FitParams& start, int max_iterations,
                         double* value);

/// Chinchilla's grid of starts: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1},
/// a, b ∈ {0, 5, …, 25}: 5·5·5·6·6 = 4500 points.
std::vector<FitParams> chinchilla_start_grid();

// ---- the IsoFLOP analysis ------------------------------------------------------------------

/// y = a·x² + b·x + c.
struct Parabola {
  double a = 0;  ///< curvature (> 0 for a minimum)
  double b = 0;  ///< slope at x = 0
  double c = 0;  ///< value at x = 0
};

/// The least-squares parabola through (x_i, y_i). gw::Error with fewer than 3 points, sizes
/// that differ, a value that is not finite, or fewer than 3 distinct x.
Parabola fit_parabola(const std::vector<double>& x, const std::vector<double>& y);

/// y = coefficient · x^exponent.
struct PowerLaw {
  double coefficient = 0;  ///< the value at x = 1
  double exponent = 0;     ///< the slope in log-log
};

/// The least-squares line ln y = ln coefficient + exponent·ln x. gw::Error with fewer than 2
/// points, sizes that differ, a value that is not finite and positive, or all x equal.
PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y);

/// One training run of an IsoFLOP sweep.
struct IsoFlopRun {
  double C = 0;     ///< its budget (FLOPs; runs of one budget share this value exactly)
  double N = 0;     ///< parameters
  double loss = 0;  ///< final validation loss
};

/// One budget of the analysis.
struct IsoFlopBudget {
  double C = 0;           ///< the budget
  Parabola parabola;      ///< loss against x = ln N, least squares over the budget's runs
  double N_opt = 0;       ///< e^(x at the parabola's minimum)
  double D_opt = 0;       ///< C / (6·N_opt)
  double loss_min = 0;    ///< the parabola's value at its minimum
};

/// The whole analysis.
struct IsoFlopAnalysis {
  std::vector<IsoFlopBudget> budgets;  ///< in increasing C
  PowerLaw n_opt;                      ///< N_opt(C)
  PowerLaw d_opt;                      ///< D_opt(C)
};

/// Groups the runs by C, fits each budget's parabola in ln N, takes its minimum, and fits
/// N_opt(C) and D_opt(C). gw::Error when a run's C, N or loss is not finite and positive,
/// a budget has fewer than 3 runs, a parabola has no minimum (a ≤ 0: the budget's sizes do
/// not bracket the optimum; the message names the budget), or there are fewer than 2 budgets.
IsoFlopAnalysis analyze_isoflop(const std::vector<IsoFlopRun>& runs);

}  // namespace gw::scaling
