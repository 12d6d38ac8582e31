// reduce.cpp — the reductions Sum, Max and Mean along a set of axes: their declarations,
// the rules that are not a lab's, and their builders sum, max and mean.
//
// attrs.axes lists the reduced axes; empty means every axis. Negative axes count from the
// end. The shape rule normalizes attrs.axes in place (non-negative, sorted, and listing every
// axis when it was empty), so kernels, VJP rules and passes read one canonical form.
// attrs.keepdims keeps each reduced axis with size 1 (what a broadcast back needs).
// FLOPs are lab 07's (reference/passes/cost_rules.cpp); bytes the table's default (the input
// read once plus the output written once).
#include <algorithm>

#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

// x (...) -> the kept axes of x (or size 1 in place of each reduced one with keepdims).
void reduce_shape(Node& node) {
  const Node* x = node.inputs[0];
  const char* op = node.def().name;
  GW_CHECK_AS(DTypeError, is_floating(x->dtype), op, ": input ", x->str(),
              " must have a floating dtype (f64, f32, f16 or bf16)");
  const int64_t rank = static_cast<int64_t>(x->shape.size());
  std::vector<int64_t> axes;
  if (node.attrs.axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  } else {
    for (int64_t a : node.attrs.axes) axes.push_back(normalize_axis(a, rank, op));
    std::sort(axes.begin(), axes.end());
    GW_CHECK_AS(ShapeError, std::adjacent_find(axes.begin(), axes.end()) == axes.end(), op,
                ": axis listed twice in the reduced axes of input ", shape_str(x->shape));
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  Shape out;
  for (int64_t a = 0; a < rank; ++a) {
    const int64_t d = x->shape[static_cast<size_t>(a)];
    if (!reduced[static_cast<size_t>(a)]) out.push_back(d);
    else if (node.attrs.keepdims) out.push_back(1);
    // A maximum over nothing has no value (a sum over nothing is 0, a mean NaN).
    if (reduced[static_cast<size_t>(a)])
      GW_CHECK_AS(ShapeError, d > 0 || node.op != Op::Max, op, ": axis ", a,
                  " of input ", shape_str(x->shape), " is empty; the maximum is undefined");
  }
  node.attrs.axes = axes;
  node.shape = out;
  node.dtype = x->dtype;
}

Node* reduce(Op op, Node* x, std::vector<int64_t> axes, bool keepdims, const char* name) {
  GW_CHECK(x != nullptr, name, ": null input");
  Attrs a;
  a.axes = std::move(axes);
  a.keepdims = keepdims;
  return x->graph->add_node(op, {x}, a);
}

// ---- rules that are not a lab's ------------------------------------------------------------
Node* jvp_mean(Node& y, const Tangents& t) { return mean(t[0], y.attrs.axes, y.attrs.keepdims); }
// The tangent of the max is the tangent of the maximal element, shared evenly among ties (as
// lab 03's VJP of max shares the adjoint).
Node* jvp_max(Node& y, const Tangents& t) {
  Node* x = y.inputs[0];
  Node* kept = y.attrs.keepdims ? &y : max(x, y.attrs.axes, true);
  Node* mask = compare(x, broadcast_to(kept, x->shape), CompareOp::eq);
  Node* ties = sum(mask, y.attrs.axes, y.attrs.keepdims);
  return div(sum(mul(t[0], mask), y.attrs.axes, y.attrs.keepdims), ties);
}

}  // namespace

void define_reduce_ops(OpRegistry& r) {
  r.define(Op::Sum, "sum", 1).shape(reduce_shape);
  r.define(Op::Max, "max", 1).shape(reduce_shape).jvp(jvp_max);
  r.define(Op::Mean, "mean", 1).shape(reduce_shape).jvp(jvp_mean);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* sum(Node* x, std::vector<int64_t> axes, bool keepdims) {
  return reduce(Op::Sum, x, std::move(axes), keepdims, "sum");
}
Node* max(Node* x, std::vector<int64_t> axes, bool keepdims) {
  return reduce(Op::Max, x, std::move(axes), keepdims, "max");
}
Node* mean(Node* x, std::vector<int64_t> axes, bool keepdims) {
  return reduce(Op::Mean, x, std::move(axes), keepdims, "mean");
}

}  // namespace gw
