// fit_tools.cpp — what lab 10 gives: the trainer's parameter count, the L-BFGS call (libLBFGS)
// and Chinchilla's grid of starting points (gw/scaling.h). The optimizer is a tool here, not
// the lesson: the objective and its gradient are (law_fit.cpp).
#include <lbfgs.h>

#include <array>
#include <cmath>
#include <limits>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

int64_t parameter_count(const ModelShape& s) {
  const int64_t h = s.n_embd, i = s.mlp_hidden, v = s.vocab_size;
  const int64_t per_block = 4 * h * h + 3 * h * i + 2 * h;  // wq wk wv wo, gate up down, 2 norms
  return 2 * v * h + s.n_layer * per_block + h;             // embedding + head, final norm
}

FitParams params_of(const Law& law) {
  return {std::log(law.A), std::log(law.B), std::log(law.E), law.alpha, law.beta};
}

Law law_of(const FitParams& t) { return {std::exp(t[2]), std::exp(t[0]), std::exp(t[1]), t[3], t[4]}; }

namespace {

// libLBFGS calls back with plain pointers; the objective travels in `instance`.
lbfgsfloatval_t evaluate(void* instance, const lbfgsfloatval_t* x, lbfgsfloatval_t* g, int n,
                         lbfgsfloatval_t /*step*/) {
  const Objective& objective = *static_cast<const Objective*>(instance);
  FitParams theta{}, gradient{};
  for (int k = 0; k < n; ++k) theta[static_cast<size_t>(k)] = x[k];
  const double value = objective(theta, gradient);
  for (int k = 0; k < n; ++k) g[k] = gradient[static_cast<size_t>(k)];
  return value;
}

}  // namespace

FitParams minimize_lbfgs(const Objective& objective, const FitParams& start, int max_iterations,
                         double* value) {
  constexpr int n = static_cast<int>(std::tuple_size<FitParams>::value);
  FitParams probe_gradient{};
  const double at_start = objective(start, probe_gradient);
  if (!std::isfinite(at_start)) {
    *value = std::numeric_limits<double>::infinity();
    return start;
  }
  lbfgs_parameter_t param;
  lbfgs_parameter_init(&param);
  param.max_iterations = max_iterations;
  // The Huber objective with δ = 1e-3 is small (≈ δ·Σ|r|), so the default stopping test
  // (‖g‖ < 1e-5·‖x‖) would stop far from the minimum: stop on a stalled value instead.
  param.epsilon = 1e-12;
  param.past = 5;
  param.delta = 1e-12;
  lbfgsfloatval_t* x = lbfgs_malloc(n);
  GW_CHECK(x != nullptr, "minimize_lbfgs: out of memory");
  for (int k = 0; k < n; ++k) x[k] = start[static_cast<size_t>(k)];
  lbfgsfloatval_t fx = 0;
  // Any return code leaves x at the best point the line searches reached; a rounding-error
  // or max-step stop near a minimum is normal for a piecewise objective like Huber's.
  lbfgs(n, x, &fx, evaluate, nullptr, const_cast<Objective*>(&objective), &param);
  FitParams out{};
  for (int k = 0; k < n; ++k) out[static_cast<size_t>(k)] = x[k];
  lbfgs_free(x);
  *value = objective(out, probe_gradient);
  if (!std::isfinite(*value) || *value > at_start) {  // never worse than where it started
    *value = at_start;
    return start;
  }
  return out;
}

std::vector<FitParams> chinchilla_start_grid() {
  std::vector<FitParams> grid;
  for (double alpha = 0; alpha <= 2.0001; alpha += 0.5)
    for (double beta = 0; beta <= 2.0001; beta += 0.5)
      for (double e = -1; e <= 1.0001; e += 0.5)
        for (double a = 0; a <= 25.0001; a += 5)
          for (double b = 0; b <= 25.0001; b += 5) grid.push_back({a, b, e, alpha, beta});
  return grid;
}

}  // namespace gw::scaling
