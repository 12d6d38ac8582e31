// STUDENT COPY of reference/autodiff/gradcheck.cpp for lab 01, made by gw-labgen.
// Replace each GW_TODO("lab 01: ...") line with your code and keep the rest as it is:
// the build (GW_LABS=student) and the grader take this file in place of the reference.
// gradcheck.cpp — lab 01: numerical gradients by central differences, and gradcheck.
//
// f'(θ) ≈ (f(θ+ε) − f(θ−ε)) / 2ε has error O(ε²) (the one-sided difference O(ε)). It is slow
// (two evaluations per coordinate) and inexact (rounding), so it checks gradients and never
// computes them. gradcheck compares an analytic gradient g with the numerical ĝ and flags
// every element where |g − ĝ| > atol + rtol·|ĝ|. LABS.md, lab 01.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

Tensor numerical_gradient(const ScalarFunction& f, const std::vector<Tensor>& inputs,
                          size_t which, double eps) {
  GW_CHECK(which < inputs.size(), "numerical_gradient: input ", which, " of ", inputs.size());
  GW_CHECK(eps > 0.0, "numerical_gradient: eps must be positive, got ", eps);
  // f sees f64 copies, so the perturbation is not rounded away by a narrow dtype.
  std::vector<Tensor> point;
  for (const Tensor& t : inputs) point.push_back(t.astype(DType::f64));
  Tensor grad = Tensor::zeros(inputs[which].shape(), DType::f64);
  GW_TODO("lab 01: central difference ĝⱼ = (f(θ+εeⱼ) − f(θ−εeⱼ)) / 2ε for every element j of point[which]");
  return grad;
}

GradcheckReport gradcheck(const ScalarFunction& f, const std::vector<Tensor>& analytic_gradients,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  GW_CHECK(analytic_gradients.size() == inputs.size(), "gradcheck: ", analytic_gradients.size(),
           " analytic gradients for ", inputs.size(), " inputs");
  GradcheckReport report;
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputCheck check;
    const Tensor& analytic = analytic_gradients[i];
    if (!analytic.defined() || analytic.shape() != inputs[i].shape()) {
      check.passed = false;  // a missing or misshapen gradient fails the input outright
      check.max_abs_error = check.max_rel_error = INFINITY;
      report.passed = false;
      report.inputs.push_back(check);
      continue;
    }
    const std::vector<double> numeric = numerical_gradient(f, inputs, i, options.eps).to_doubles();
    const std::vector<double> g = analytic.to_doubles();
    GW_TODO("lab 01: compare g with ĝ element by element (max abs/rel error, failing indices, passed)");
    report.passed = report.passed && check.passed;
    report.inputs.push_back(check);
  }
  report.max_listed = options.max_listed;
  return report;
}

std::string GradcheckReport::str() const {
  std::ostringstream os;
  os << "gradcheck " << (passed ? "passed" : "FAILED") << "\n";
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputCheck& c = inputs[i];
    os << "  input " << i << ": " << (c.passed ? "ok" : "FAIL") << ", max abs error "
       << c.max_abs_error << ", max rel error " << c.max_rel_error;
    if (!c.failing.empty()) {
      os << ", " << c.failing.size() << " failing element(s):";
      const size_t shown = std::min(c.failing.size(), static_cast<size_t>(std::max(max_listed, 0)));
      for (size_t j = 0; j < shown; ++j) os << " " << c.failing[j];
      if (shown < c.failing.size()) os << " ...";
    }
    os << "\n";
  }
  return os.str();
}

ScalarFunction graph_function(Node* scalar_output, const std::vector<Node*>& inputs,
                              const Feeds& other_feeds) {
  GW_CHECK(scalar_output != nullptr, "graph_function: null output");
  return [scalar_output, inputs, other_feeds](const std::vector<Tensor>& values) {
    GW_CHECK(values.size() == inputs.size(), "graph_function: ", values.size(), " values for ",
             inputs.size(), " inputs");
    Feeds feeds = other_feeds;
    std::vector<Tensor> saved(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      Node* leaf = inputs[i];
      GW_CHECK(leaf->is_leaf(), "graph_function: ", leaf->str(), " is not a leaf");
      Tensor v = values[i].astype(leaf->dtype).to(leaf->device);
      if (leaf->op == Op::Input) {
        feeds[leaf] = v;
      } else {
        saved[i] = leaf->value;
        leaf->value = v;
      }
    }
    double result = 0.0;
    try {
      for (double x : eval(scalar_output, feeds).to_doubles()) result += x;
    } catch (...) {
      for (size_t i = 0; i < inputs.size(); ++i)
        if (saved[i].defined()) inputs[i]->value = saved[i];
      throw;
    }
    for (size_t i = 0; i < inputs.size(); ++i)
      if (saved[i].defined()) inputs[i]->value = saved[i];
    return result;
  };
}

GradcheckReport gradcheck_graph(Node* output, const std::vector<Node*>& wrt, const Feeds& feeds,
                                const GradcheckOptions& options) {
  GW_CHECK(output != nullptr, "gradcheck_graph: null output");
  Node* scalar = output->shape.empty() ? output : sum(output);
  const std::vector<Node*> grads = gradients(scalar, wrt);
  const std::vector<Tensor> analytic = eval(grads, feeds);
  std::vector<Tensor> point;
  for (Node* w : wrt) {
    if (w->op == Op::Input) {
      auto it = feeds.find(w);
      GW_CHECK(it != feeds.end(), "gradcheck_graph: input ", w->str(), " not fed");
      point.push_back(it->second);
    } else {
      point.push_back(w->value);
    }
  }
  Feeds others = feeds;
  for (Node* w : wrt) others.erase(w);
  return gradcheck(graph_function(scalar, wrt, others), analytic, point, options);
}

std::vector<EpsStudyPoint> eps_study(const std::vector<double>& epsilons) {
  std::vector<double> steps = epsilons;
  if (steps.empty())
    for (int e = 1; e <= 12; ++e) steps.push_back(std::pow(10.0, -e));
  const double exact = std::cos(1.0);
  std::vector<EpsStudyPoint> points;
  for (double eps : steps) {
    GW_TODO("lab 01: the central difference of sin at x₀ = 1 with every operation in float, then in double; record both errors against `exact`");
  }
  return points;
}

}  // namespace gw
