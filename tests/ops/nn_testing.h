// nn_testing.h — helpers of the fused-op tests (test_nn.cpp, test_attention.cpp): running
// one op on concrete tensors, and central-difference gradients of a weighted output sum.
#pragma once

#include <functional>
#include <vector>

#include "gw/graph.h"
#include "testing.h"

namespace gw::testing {

/// Computes an op's output from concrete inputs (each call builds a fresh graph).
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Builds `make` on constants holding `inputs` and runs it with naive_run.
inline Tensor run_op(const std::vector<Tensor>& inputs,
                     const std::function<Node*(Graph&, const std::vector<Node*>&)>& make) {
  Graph g;
  std::vector<Node*> leaves;
  for (const Tensor& t : inputs) leaves.push_back(g.constant(t));
  return naive_run(make(g, leaves));
}

/// ∂/∂inputs[which] of Σ weight ∘ f(inputs), by central differences in f64
/// (error O(eps²) from truncation, as lab 01 explains).
inline Tensor finite_difference(const OpFn& f, const std::vector<Tensor>& inputs, size_t which,
                                const Tensor& weight, double eps = 1e-6) {
  const std::vector<double> w = weight.to_doubles();
  auto objective = [&](const std::vector<Tensor>& in) {
    const std::vector<double> y = f(in).to_doubles();
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
    return s;
  };
  const Tensor& x = inputs[which];
  std::vector<double> grad(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    std::vector<Tensor> plus = inputs, minus = inputs;
    plus[which] = x.clone();
    minus[which] = x.clone();
    plus[which].data<double>()[i] += eps;
    minus[which].data<double>()[i] -= eps;
    grad[static_cast<size_t>(i)] = (objective(plus) - objective(minus)) / (2 * eps);
  }
  return Tensor::from_values(x.shape(), grad, DType::f64);
}

}  // namespace gw::testing
