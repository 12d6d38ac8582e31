// compute_optimal.cpp — lab 10: the loss of the law, the compute-optimal N and D of a budget
// (closed form, and numerically along the IsoFLOP curve), and the budget that money buys
// (gw/scaling.h).
#include <cmath>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

double law_loss(const Law& law, double N, double D) {
  // BEGIN LAB 10: check N and D (finite, > 0; gw::Error naming them), then L = E + A/N^α + B/D^β
  GW_CHECK(std::isfinite(N) && N > 0 && std::isfinite(D) && D > 0,
           "law_loss: N and D must be finite and positive (N = ", N, ", D = ", D, ")");
  return law.E + law.A / std::pow(N, law.alpha) + law.B / std::pow(D, law.beta);
  // END LAB 10
}

Allocation compute_optimal(const Law& law, double C) {
  // BEGIN LAB 10: check C (finite, > 0) and the law (A, B, α, β > 0); G = (αA/(βB))^(1/(α+β)), N = G·(C/6)^(β/(α+β)), D = (C/6)^(α/(α+β))/G, loss = law_loss(N, D)
  GW_CHECK(std::isfinite(C) && C > 0, "compute_optimal: the budget C must be finite and positive (C = ", C, ")");
  GW_CHECK(law.A > 0 && law.B > 0 && law.alpha > 0 && law.beta > 0,
           "compute_optimal: the law needs A, B, alpha, beta > 0");
  const double sum = law.alpha + law.beta;
  const double G = std::pow(law.alpha * law.A / (law.beta * law.B), 1.0 / sum);
  Allocation a;
  a.N = G * std::pow(C / 6, law.beta / sum);
  a.D = std::pow(C / 6, law.alpha / sum) / G;
  a.loss = law_loss(law, a.N, a.D);
  return a;
  // END LAB 10
}

Allocation compute_optimal_numeric(const Law& law, double C) {
  // BEGIN LAB 10: the same checks, and C > 6 (one parameter, one token); then minimize f(x) = A/N^α + B/D^β with N = e^x, D = C/(6e^x) over x ∈ [0, ln(C/6)] by golden-section search until the bracket is below 1e-10 (leave E out: it does not move the minimum, and next to a large E the differences of the other two terms drown in rounding); N = e^x, D = C/(6N)
  GW_CHECK(std::isfinite(C) && C > 0, "compute_optimal_numeric: the budget C must be finite and positive (C = ", C, ")");
  GW_CHECK(law.A > 0 && law.B > 0 && law.alpha > 0 && law.beta > 0,
           "compute_optimal_numeric: the law needs A, B, alpha, beta > 0");
  GW_CHECK(C > 6, "compute_optimal_numeric: the budget C = ", C,
           " is below 6 FLOPs: not one parameter trained on one token");
  const double log_c6 = std::log(C / 6);
  auto loss_at = [&](double x) {  // L − E: E does not move the minimum
    return law.A / std::pow(std::exp(x), law.alpha) +
           law.B / std::pow(std::exp(log_c6 - x), law.beta);
  };
  const double inv_phi = (std::sqrt(5.0) - 1) / 2;  // 1/φ: the bracket shrinks by it each step
  double lo = 0, hi = std::max(log_c6, 1e-12);
  double x1 = hi - inv_phi * (hi - lo), x2 = lo + inv_phi * (hi - lo);
  double f1 = loss_at(x1), f2 = loss_at(x2);
  while (hi - lo > 1e-10) {
    if (f1 <= f2) {  // the minimum lies in [lo, x2]
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - inv_phi * (hi - lo);
      f1 = loss_at(x1);
    } else {  // in [x1, hi]
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + inv_phi * (hi - lo);
      f2 = loss_at(x2);
    }
  }
  const double x = (lo + hi) / 2;
  Allocation a;
  a.N = std::exp(x);
  a.D = std::exp(log_c6 - x);
  a.loss = law_loss(law, a.N, a.D);
  return a;
  // END LAB 10
}

double budget_from_dollars(double dollars, double price_per_gpu_hour, double peak_flops,
                           double mfu) {
  // BEGIN LAB 10: check every argument (finite, > 0; mfu ≤ 1); GPU-hours = dollars / price, C = GPU-hours · 3600 · peak_flops · mfu
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  GW_CHECK(positive(dollars) && positive(price_per_gpu_hour) && positive(peak_flops),
           "budget_from_dollars: dollars, price and peak FLOP/s must be finite and positive (",
           dollars, ", ", price_per_gpu_hour, ", ", peak_flops, ")");
  GW_CHECK(positive(mfu) && mfu <= 1, "budget_from_dollars: mfu must be in (0, 1] (mfu = ", mfu, ")");
  const double gpu_hours = dollars / price_per_gpu_hour;
  return gpu_hours * 3600 * peak_flops * mfu;
  // END LAB 10
}

}  // namespace gw::scaling
