// Lab 10: your copy of this file. Replace each GW_TODO("lab 10: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 10: check the points (same sizes, ≥ 3, finite, ≥ 3 distinct x); least squares for (a, b, c): the 3×3 normal equations [Σx⁴ Σx³ Σx²; Σx³ Σx² Σx; Σx² Σx n]·(a, b, c) = (Σx²y, Σxy, Σy), solved by Gaussian elimination or Cramer's rule (center x at its mean first, for conditioning, then shift back)", x, y);
}

PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y) {
  GW_TODO("lab 10: check the points (same sizes, ≥ 2, finite and > 0, not all x equal); least-squares line through (ln x, ln y): slope = exponent, intercept = ln coefficient", x, y);
}

IsoFlopAnalysis analyze_isoflop(const std::vector<IsoFlopRun>& runs) {
  GW_TODO("lab 10: check every run (C, N, loss finite and > 0); group the runs by C (increasing); per budget (≥ 3 runs) fit_parabola of loss against ln N, require a > 0, minimum at x* = −b/(2a): N_opt = e^x*, D_opt = C/(6 N_opt), loss_min = the parabola at x*; then fit_power_law of N_opt and of D_opt against C (≥ 2 budgets)", runs);
}

}  // namespace gw::scaling
