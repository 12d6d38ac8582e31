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
  // BEGIN LAB 01: ĝⱼ = (f(θ+εeⱼ) − f(θ−εeⱼ)) / 2ε for every element j of inputs[which]: call f on f64 copies of the inputs (astype), move one element at a time and put it back; return an f64 tensor of the input's shape
  // f sees f64 copies, so the perturbation is not rounded away by a narrow dtype.
  std::vector<Tensor> point;
  for (const Tensor& t : inputs) point.push_back(t.astype(DType::f64));
  Tensor grad = Tensor::zeros(inputs[which].shape(), DType::f64);
  double* theta = point[which].data<double>();
  double* g = grad.data<double>();
  for (int64_t j = 0; j < grad.numel(); ++j) {
    const double saved = theta[j];
    theta[j] = saved + eps;
    const double plus = f(point);
    theta[j] = saved - eps;
    const double minus = f(point);
    theta[j] = saved;  // restore before the next coordinate
    g[j] = (plus - minus) / (2.0 * eps);
  }
  return grad;
  // END LAB 01
}

GradcheckReport gradcheck(const ScalarFunction& f, const std::vector<Tensor>& analytic_gradients,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  GW_CHECK(analytic_gradients.size() == inputs.size(), "gradcheck: ", analytic_gradients.size(),
           " analytic gradients for ", inputs.size(), " inputs");
  GradcheckReport report;
  // BEGIN LAB 01: one InputCheck per input: a missing or misshapen gradient fails it outright (errors +inf); else compare g with ĝ element by element (max abs and rel errors with the kRelativeErrorTiny guard; a NaN on either side fails its element and makes both maxima NaN; passed); the report keeps options.max_listed
  report.max_listed = options.max_listed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputCheck check;
    const Tensor& analytic = analytic_gradients[i];
    if (!analytic.defined() || analytic.shape() != inputs[i].shape()) {
      check.passed = false;
      check.max_abs_error = check.max_rel_error = std::numeric_limits<double>::infinity();
      report.passed = false;
      report.inputs.push_back(check);
      continue;
    }
    const std::vector<double> numeric = numerical_gradient(f, inputs, i, options.eps).to_doubles();
    const std::vector<double> g = analytic.to_doubles();
    for (size_t j = 0; j < g.size(); ++j) {
      const double err = std::fabs(g[j] - numeric[j]);
      const double rel = err / std::max(std::fabs(numeric[j]), kRelativeErrorTiny);
      // A NaN poisons the maxima (std::max would drop it) and fails its element.
      check.max_abs_error = std::isnan(err) ? err : std::max(check.max_abs_error, err);
      check.max_rel_error = std::isnan(rel) ? rel : std::max(check.max_rel_error, rel);
      if (!(err <= options.atol + options.rtol * std::fabs(numeric[j])))
        check.failing.push_back(static_cast<int64_t>(j));
    }
    check.passed = check.failing.empty();
    report.passed = report.passed && check.passed;
    report.inputs.push_back(check);
  }
  // END LAB 01
  return report;
}

std::vector<EpsStudyPoint> eps_study(const std::vector<double>& epsilons) {
  const std::vector<double> steps = epsilons.empty() ? eps_study_grid() : epsilons;
  std::vector<EpsStudyPoint> points;
  // BEGIN LAB 01: for each ε of `steps`, one point: the central difference of sin at x₀ = 1 with every operation in float (ε rounded to float too), then in double, and each one's error against the exact derivative cos(1)
  const double exact = std::cos(1.0);
  for (double eps : steps) {
    const float x32 = 1.0f;
    const float e32 = static_cast<float>(eps);
    const float d32 = (std::sin(x32 + e32) - std::sin(x32 - e32)) / (2.0f * e32);
    const double d64 = (std::sin(1.0 + eps) - std::sin(1.0 - eps)) / (2.0 * eps);
    points.push_back({eps, std::fabs(static_cast<double>(d32) - exact), std::fabs(d64 - exact)});
  }
  // END LAB 01
  return points;
}

}  // namespace gw
