// op_cases.h — one table of small instances of every op, filled by the family test files
// (tests/ops/test_<family>.cpp) and walked by one harness (tests/ops/test_op_table.cpp), as
// ggml's test-backend-ops does. Each case is checked four ways: its VJP against numerical
// gradients, its JVP against numerical directional derivatives, JVP against VJP, and the
// CUDA kernels against the CPU ones. A new op adds its cases next to its kernel tests:
//
//   const OpCases kCases({
//       GW_OP_CASE("exp", return exp(p({2, 3}));),
//       GW_OP_CASE("log", return log(p({2, 3}, 0.5, 2.0));),
//   });
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gw/graph.h"
#include "testing.h"

namespace gw::testing {

/// What a case builds its op on: random leaves of the run's dtype in the run's graph.
struct CaseLeaves {
  Graph& graph;             ///< where to build (on the CPU or a GPU)
  DType dtype;              ///< f64 for gradient checks; f32 or f64 for the CUDA twins
  std::vector<Node*>& wrt;  ///< the differentiable leaves made so far
  uint64_t seed = 100;      ///< the next leaf's seed: the same case draws the same values

  /// A Parameter with values uniform in [lo, hi), differentiated by the checks.
  Node* operator()(const Shape& shape, double lo = -1.0, double hi = 1.0) {
    Node* n = graph.parameter("p" + std::to_string(wrt.size()),
                              random_tensor(shape, dtype, seed++, lo, hi));
    wrt.push_back(n);
    return n;
  }
  /// An i32 constant with values in [0, high) (ids, targets): not differentiated.
  Node* ids(const Shape& shape, int high) {
    return graph.constant(random_ids(shape, high, seed++));
  }
};

/// One small instance of an op.
struct OpCase {
  std::string name;                          ///< a test name: letters, digits, underscores
  std::function<Node*(CaseLeaves&)> build;   ///< builds the op on random leaves
  double eps = 1e-6;                         ///< central-difference step of the f64 checks
  double atol = 1e-6;                        ///< absolute tolerance of the f64 checks
  /// false: the rules are not the numerical derivative (a straight-through estimator), so
  /// only their agreement is checked and the CUDA twin compares the forward alone.
  bool differentiable = true;
  /// false: the CUDA kernels do not take this form of the op (CudaMatchesCpu skips it).
  bool on_cuda = true;
};

/// `c`, marked as a form only the CPU kernels take.
inline OpCase cpu_only(OpCase c) {
  c.on_cuda = false;
  return c;
}

/// GoogleTest prints a case by its name.
inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

/// Every registered case, in registration order.
inline std::vector<OpCase>& registered_op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

/// Registers a family's cases (a namespace-scope object in its test file).
struct OpCases {
  explicit OpCases(std::vector<OpCase> cases) {
    for (OpCase& c : cases) registered_op_cases().push_back(std::move(c));
  }
};

/// A case whose build is `body`, with `p` the CaseLeaves.
#define GW_OP_CASE(label, body) \
  ::gw::testing::OpCase { label, [](::gw::testing::CaseLeaves& p) -> ::gw::Node* { body } }

}  // namespace gw::testing
