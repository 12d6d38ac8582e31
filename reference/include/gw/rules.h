// rules.h — small helpers for writing VJP and JVP rules (gw/op_table.h): the plumbing that
// every rule file needs and that is not the calculus itself.
//
// A JVP rule receives nullptr for an input whose tangent is zero (it does not depend on the
// variable being differentiated), and may return nullptr for a zero tangent; add_terms and
// or_zeros keep that bookkeeping out of the formulas.
#pragma once

#include "gw/graph.h"
#include "gw/ops.h"

namespace gw {

/// The adjoints a VJP rule returns, one per input (nullptr: no gradient for that input).
using Adjoints = std::vector<Node*>;
/// The tangents a JVP rule receives, one per input (nullptr: zero).
using Tangents = std::vector<Node*>;

/// a + b where either may be nullptr (a zero term); nullptr when both are.
inline Node* add_terms(Node* a, Node* b) {
  if (a == nullptr) return b;
  if (b == nullptr) return a;
  return add(a, b);
}

/// A constant of zeros with x's shape and dtype, in x's graph.
inline Node* zeros_like(const Node* x) {
  return x->graph->constant(Tensor::zeros(x->shape, x->dtype));
}

/// `t` itself, or zeros of x's shape when `t` is nullptr (for ops that need every operand).
inline Node* or_zeros(Node* t, const Node* x) { return t != nullptr ? t : zeros_like(x); }

/// A scalar constant `value` in x's dtype and graph (for masks such as x > 0).
inline Node* scalar_like(const Node* x, double value) {
  return x->graph->scalar(value, x->dtype);
}

}  // namespace gw
