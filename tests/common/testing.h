// testing.h — helpers shared by the project's tests: random tensors, a naive evaluator that
// is independent of the executor, and closeness checks with useful messages.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "gw/op_table.h"
#include "gw/tensor.h"

namespace gw::testing {

/// Tensor with uniform values in [lo, hi), reproducible from `seed`.
inline Tensor random_tensor(const Shape& shape, DType dtype = DType::f32, uint64_t seed = 1,
                            double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

/// i32 tensor with values in [0, high).
inline Tensor random_ids(const Shape& shape, int high, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> u(0, high - 1);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, DType::i32);
}

/// Evaluates `out` by calling each op's CPU kernel recursively, with fresh buffers and no
/// planning: the oracle for the executor's tests. Inputs come from `feeds`.
inline Tensor naive_run(Node* out, const std::unordered_map<const Node*, Tensor>& feeds = {}) {
  std::unordered_map<const Node*, Tensor> memo(feeds);
  RunContext ctx;
  std::function<Tensor(Node*)> go = [&](Node* n) -> Tensor {
    auto it = memo.find(n);
    if (it != memo.end()) return it->second;
    if (n->op == Op::Parameter || n->op == Op::Constant) return memo[n] = n->value;
    if (n->op == Op::Input) throw Error("naive_run: input " + n->str() + " not fed");
    std::vector<Tensor> ins;
    for (Node* i : n->inputs) ins.push_back(go(i));
    Tensor output = Tensor::empty(n->shape, n->dtype);
    const OpDef& def = n->def();
    std::vector<char> ws(def.workspace ? def.workspace(*n) : 0);
    if (!def.cpu) throw Error(std::string("naive_run: no CPU kernel for ") + def.name);
    def.cpu(KernelArgs{*n, ins, output, ws.empty() ? nullptr : ws.data(), ctx});
    return memo[n] = output;
  };
  return go(out);
}

/// Expects |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element.
inline ::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol,
                                            double rtol) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << "shapes differ: " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double excess = std::abs(x[i] - y[i]) - (atol + rtol * std::abs(y[i]));
    if (!(excess <= worst) || std::isnan(x[i]) != std::isnan(y[i])) {
      worst = std::isnan(excess) ? INFINITY : excess;
      at = i;
    }
  }
  if (worst > 0)
    return ::testing::AssertionFailure() << "element " << at << ": " << x[at] << " vs " << y[at]
                                         << " (atol " << atol << ", rtol " << rtol << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace gw::testing
