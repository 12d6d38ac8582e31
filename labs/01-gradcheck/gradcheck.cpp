// Lab 01: your copy of this file. Replace each GW_TODO("lab 01: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// gradcheck.cpp — lab 01: numerical gradients by central differences, gradcheck, and the
// study of the central difference's error against ε.
//
// f'(θ) ≈ (f(θ+ε) − f(θ−ε)) / 2ε has error O(ε²) (the one-sided difference O(ε)). It is slow
// (two evaluations per coordinate) and inexact (rounding), so it checks gradients and never
// computes them. gradcheck compares an analytic gradient g with the numerical ĝ and flags
// every element where |g − ĝ| > atol + rtol·|ĝ|. graph_function and gradcheck_graph, which
// apply gradcheck to a graph, are in gradcheck_graph.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "gw/autodiff.h"

namespace gw {

Tensor numerical_gradient(const ScalarFunction& f, const std::vector<Tensor>& inputs,
                          size_t which, double eps) {
  GW_CHECK(which < inputs.size(), "numerical_gradient: input ", which, " of ", inputs.size());
  GW_CHECK(eps > 0.0, "numerical_gradient: eps must be positive, got ", eps);
  GW_TODO("lab 01: ĝⱼ = (f(θ+εeⱼ) − f(θ−εeⱼ)) / 2ε for every element j of inputs[which]: call f on f64 copies of the inputs (astype), move one element at a time and put it back; return an f64 tensor of the input's shape", f, inputs, which, eps);
}

GradcheckReport gradcheck(const ScalarFunction& f, const std::vector<Tensor>& analytic_gradients,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  GW_CHECK(analytic_gradients.size() == inputs.size(), "gradcheck: ", analytic_gradients.size(),
           " analytic gradients for ", inputs.size(), " inputs");
  GradcheckReport report;
  GW_TODO("lab 01: one InputCheck per input: a missing or misshapen gradient fails it outright (errors +inf); else compare g with ĝ element by element (max abs and rel errors with the kRelativeErrorTiny guard; a NaN on either side fails its element and makes both maxima NaN; passed); the report keeps options.max_listed", f, analytic_gradients, inputs, options);
  return report;
}

std::vector<EpsStudyPoint> eps_study(const std::vector<double>& epsilons) {
  const std::vector<double> steps = epsilons.empty() ? eps_study_grid() : epsilons;
  std::vector<EpsStudyPoint> points;
  GW_TODO("lab 01: for each ε of `steps`, one point: the central difference of sin at x₀ = 1 with every operation in float (ε rounded to float too), then in double, and each one's error against the exact derivative cos(1)", epsilons);
  return points;
}

}  // namespace gw
