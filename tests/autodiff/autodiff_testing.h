// autodiff_testing.h — small helpers shared by the autodiff tests: f64 parameters with
// reproducible random values, and scalar values of a graph.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "gw/autodiff.h"
#include "gw/executor.h"
#include "gw/graph.h"
#include "gw/ops.h"
#include "testing.h"

namespace gw::testing {

/// An f64 Parameter with values uniform in [lo, hi), reproducible from `seed`.
inline Node* random_param(Graph& g, const std::string& name, const Shape& shape, uint64_t seed,
                          double lo = -1.0, double hi = 1.0) {
  return g.parameter(name, random_tensor(shape, DType::f64, seed, lo, hi));
}

/// An f64 scalar Parameter.
inline Node* scalar_param(Graph& g, const std::string& name, double v) {
  return g.parameter(name, Tensor::from_values({}, {v}, DType::f64));
}

/// The value of a one-element node.
inline double value_of(Node* n, const Feeds& feeds = {}) { return eval(n, feeds).item(); }

}  // namespace gw::testing
