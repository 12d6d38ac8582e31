// Lab 10: your copy of this file. Replace each GW_TODO("lab 10: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// compute_optimal.cpp — lab 10: the loss of the law, the compute-optimal N and D of a budget
// (closed form, and numerically along the IsoFLOP curve), and the budget that money buys
// (gw/scaling.h).
#include <cmath>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::scaling {

double law_loss(const Law& law, double N, double D) {
  GW_TODO("lab 10: check N and D (finite, > 0; gw::Error naming them), then L = E + A/N^α + B/D^β", law, N, D);
}

Allocation compute_optimal(const Law& law, double C) {
  GW_TODO("lab 10: check C (finite, > 0) and the law (A, B, α, β > 0); G = (αA/(βB))^(1/(α+β)), N = G·(C/6)^(β/(α+β)), D = (C/6)^(α/(α+β))/G, loss = law_loss(N, D)", law, C);
}

Allocation compute_optimal_numeric(const Law& law, double C) {
  GW_TODO("lab 10: the same checks, and C > 6 (one parameter, one token); then minimize f(x) = A/N^α + B/D^β with N = e^x, D = C/(6e^x) over x ∈ [0, ln(C/6)] by golden-section search until the bracket is below 1e-10 (leave E out: it does not move the minimum, and next to a large E the differences of the other two terms drown in rounding); N = e^x, D = C/(6N)", law, C);
}

double budget_from_dollars(double dollars, double price_per_gpu_hour, double peak_flops,
                           double mfu) {
  GW_TODO("lab 10: check every argument (finite, > 0; mfu ≤ 1); GPU-hours = dollars / price, C = GPU-hours · 3600 · peak_flops · mfu", dollars, price_per_gpu_hour, peak_flops, mfu);
}

}  // namespace gw::scaling
