// shape.cpp — the shape ops (Reshape, Permute, Broadcast, Slice, Concat): their declarations,
// the rules that are not a lab's, and their builders reshape, permute, transpose,
// broadcast_to, sum_to, slice and concat.
//
// Shape ops move bytes and do no arithmetic: 0 FLOPs; bytes = inputs read + output written.
// Each shape rule normalizes its attributes in place (a resolved -1 in Reshape, non-negative
// axes in Permute, Slice and Concat), so kernels, VJP rules and passes read one canonical
// form. Reshape is a view (is_view): the executor aliases its output to its input's memory.
// Broadcast is the one op that broadcasts (NumPy rule); its VJP is sum_to, so the sum back to
// an input's shape lives in one place. The VJP rules of Reshape, Permute and Broadcast are
// lab 03's; the JVP rules are all here (every shape op is linear: its tangent is the same op
// applied to the input's tangent).
#include <algorithm>

#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;

int64_t rank_of(const Node* x) { return static_cast<int64_t>(x->shape.size()); }


// ---- Reshape: x (...) -> attrs.shape, same numel; one entry may be -1 ----------------------
void reshape_shape(Node& node) {
  const Node* x = node.inputs[0];
  Shape s = node.attrs.shape;
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      GW_CHECK_AS(ShapeError, unknown < 0, "reshape: ", shape_str(x->shape), " to ",
                  shape_str(node.attrs.shape), ": only one axis may be -1");
      unknown = static_cast<int64_t>(i);
    } else {
      GW_CHECK_AS(ShapeError, s[i] >= 0, "reshape: ", shape_str(x->shape), " to ",
                  shape_str(node.attrs.shape), ": negative size ", s[i]);
      known *= s[i];
    }
  }
  const int64_t n = numel(x->shape);
  if (unknown >= 0) {
    GW_CHECK_AS(ShapeError, known > 0 && n % known == 0, "reshape: ", shape_str(x->shape),
                " (", n, " elements) cannot be reshaped to ", shape_str(node.attrs.shape));
    s[static_cast<size_t>(unknown)] = n / known;
  }
  GW_CHECK_AS(ShapeError, numel(s) == n, "reshape: ", shape_str(x->shape), " (", n,
              " elements) cannot be reshaped to ", shape_str(node.attrs.shape), " (",
              numel(s), " elements)");
  node.attrs.shape = s;
  node.shape = s;
  node.dtype = x->dtype;
}

// ---- Permute: output axis i is input axis perm[i] -------------------------------------------
void permute_shape(Node& node) {
  const Node* x = node.inputs[0];
  const int64_t rank = rank_of(x);
  std::vector<int64_t>& perm = node.attrs.perm;
  GW_CHECK_AS(ShapeError, static_cast<int64_t>(perm.size()) == rank, "permute: ",
              perm.size(), " axes given for input ", shape_str(x->shape), " of rank ", rank);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  Shape out;
  for (int64_t& a : perm) {
    a = normalize_axis(a, rank, "permute");
    GW_CHECK_AS(ShapeError, !seen[static_cast<size_t>(a)], "permute: axis ", a,
                " listed twice for input ", shape_str(x->shape));
    seen[static_cast<size_t>(a)] = true;
    out.push_back(x->shape[static_cast<size_t>(a)]);
  }
  node.shape = out;
  node.dtype = x->dtype;
}

// ---- Broadcast: x (...) -> attrs.shape by the NumPy rule ------------------------------------
// Aligned from the right, each axis of x equals the target's or is 1; the target may add
// leading axes.
void broadcast_shape(Node& node) {
  const Node* x = node.inputs[0];
  const Shape& to = node.attrs.shape;
  bool fits = x->shape.size() <= to.size();
  for (size_t i = 0; fits && i < x->shape.size(); ++i) {
    const int64_t d = x->shape[x->shape.size() - 1 - i];
    fits = d == 1 || d == to[to.size() - 1 - i];
  }
  GW_CHECK_AS(ShapeError, fits, "broadcast: ", shape_str(x->shape), " cannot be broadcast to ",
              shape_str(to));
  node.shape = to;
  node.dtype = x->dtype;
}

// ---- Slice: elements [start, end) along axis ------------------------------------------------
void slice_shape(Node& node) {
  const Node* x = node.inputs[0];
  Attrs& a = node.attrs;
  a.axis = normalize_axis(a.axis, rank_of(x), "slice");
  const int64_t d = x->shape[static_cast<size_t>(a.axis)];
  const int64_t start = a.start < 0 ? a.start + d : a.start;
  const int64_t end = a.end < 0 ? a.end + d : a.end;
  GW_CHECK_AS(ShapeError, 0 <= start && start <= end && end <= d, "slice: [", a.start, ", ",
              a.end, ") along axis ", a.axis, " of input ", shape_str(x->shape),
              " is out of range");
  a.start = start;
  a.end = end;
  node.shape = x->shape;
  node.shape[static_cast<size_t>(a.axis)] = end - start;
  node.dtype = x->dtype;
}

// ---- Concat: xs[i] (..., d_i, ...) -> (..., Σ d_i, ...) along axis ----------------------------
void concat_shape(Node& node) {
  GW_CHECK_AS(ShapeError, !node.inputs.empty(), "concat: no inputs");
  const Node* first = node.inputs[0];
  node.attrs.axis = normalize_axis(node.attrs.axis, rank_of(first), "concat");
  const size_t axis = static_cast<size_t>(node.attrs.axis);
  Shape out = first->shape;
  out[axis] = 0;
  for (const Node* x : node.inputs) {
    GW_CHECK_AS(DTypeError, x->dtype == first->dtype, "concat: dtypes ",
                dtype_name(first->dtype), " and ", dtype_name(x->dtype), " differ");
    bool fits = x->shape.size() == first->shape.size();
    for (size_t i = 0; fits && i < x->shape.size(); ++i)
      fits = i == axis || x->shape[i] == first->shape[i];
    GW_CHECK_AS(ShapeError, fits, "concat: shapes ", shape_str(first->shape), " and ",
                shape_str(x->shape), " differ outside axis ", axis);
    out[axis] += x->shape[axis];
  }
  node.shape = out;
  node.dtype = first->dtype;
}

// ---- rules that are not a lab's ------------------------------------------------------------
// The slice's adjoint is ȳ padded with zeros back to the input's extent along the axis.
Adjoints vjp_slice(Node& y, Node* g) {
  Node* x = y.inputs[0];
  const size_t axis = static_cast<size_t>(y.attrs.axis);
  std::vector<Node*> parts;
  Shape pad = x->shape;
  if (y.attrs.start > 0) {
    pad[axis] = y.attrs.start;
    parts.push_back(x->graph->zeros(pad, g->dtype));
  }
  parts.push_back(g);
  if (y.attrs.end < x->shape[axis]) {
    pad[axis] = x->shape[axis] - y.attrs.end;
    parts.push_back(x->graph->zeros(pad, g->dtype));
  }
  return {concat(parts, y.attrs.axis)};
}
Adjoints vjp_concat(Node& y, Node* g) {
  Adjoints out;
  int64_t start = 0;
  for (Node* x : y.inputs) {
    const int64_t len = x->shape[static_cast<size_t>(y.attrs.axis)];
    out.push_back(slice(g, y.attrs.axis, start, start + len));
    start += len;
  }
  return out;
}

Node* jvp_reshape(Node& y, const Tangents& t) { return reshape(t[0], y.shape); }
Node* jvp_permute(Node& y, const Tangents& t) { return permute(t[0], y.attrs.perm); }
Node* jvp_broadcast(Node& y, const Tangents& t) { return broadcast_to(t[0], y.shape); }
Node* jvp_slice(Node& y, const Tangents& t) {
  return slice(t[0], y.attrs.axis, y.attrs.start, y.attrs.end);
}
Node* jvp_concat(Node& y, const Tangents& t) {
  std::vector<Node*> parts;
  for (size_t i = 0; i < t.size(); ++i) parts.push_back(or_zeros(t[i], y.inputs[i]));
  return concat(parts, y.attrs.axis);
}

}  // namespace

// Shape ops move bytes and do no arithmetic: 0 FLOPs, the default byte count.
void define_shape_ops(OpRegistry& r) {
  using op_rules::no_arithmetic;
  r.define(Op::Reshape, "reshape", 1).shape(reshape_shape).flops(no_arithmetic).view()
      .jvp(jvp_reshape);
  r.define(Op::Permute, "permute", 1).shape(permute_shape).flops(no_arithmetic).jvp(jvp_permute);
  r.define(Op::Broadcast, "broadcast", 1).shape(broadcast_shape).flops(no_arithmetic)
      .jvp(jvp_broadcast);
  r.define(Op::Slice, "slice", 1).shape(slice_shape).flops(no_arithmetic).vjp(vjp_slice)
      .jvp(jvp_slice);
  r.define(Op::Concat, "concat", -1).shape(concat_shape).flops(no_arithmetic).vjp(vjp_concat)
      .jvp(jvp_concat);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* reshape(Node* x, Shape shape) {
  Attrs a;
  a.shape = std::move(shape);
  return build(Op::Reshape, {x}, a, "reshape");
}

Node* permute(Node* x, std::vector<int64_t> perm) {
  Attrs a;
  a.perm = std::move(perm);
  return build(Op::Permute, {x}, a, "permute");
}

Node* transpose(Node* x, int64_t axis_a, int64_t axis_b) {
  GW_CHECK(x != nullptr, "transpose: null input");
  const int64_t rank = rank_of(x);
  const int64_t i = normalize_axis(axis_a, rank, "transpose");
  const int64_t j = normalize_axis(axis_b, rank, "transpose");
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t k = 0; k < rank; ++k) perm[static_cast<size_t>(k)] = k;
  std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  return permute(x, perm);
}

Node* broadcast_to(Node* x, Shape shape) {
  GW_CHECK(x != nullptr, "broadcast: null input");
  if (x->shape == shape) return x;
  Attrs a;
  a.shape = std::move(shape);
  return build(Op::Broadcast, {x}, a, "broadcast");
}

// Sums over the axes that broadcasting x's source to x's shape created: the leading axes x
// has in excess, and every axis where `shape` has 1 and x does not (size-1 axes need no sum).
// Then reshapes to `shape`.
Node* sum_to(Node* x, const Shape& shape) {
  GW_CHECK(x != nullptr, "sum_to: null input");
  if (x->shape == shape) return x;
  const size_t rank = x->shape.size();
  bool fits = shape.size() <= rank;
  std::vector<int64_t> axes;
  const size_t lead = fits ? rank - shape.size() : 0;
  for (size_t i = 0; fits && i < rank; ++i) {
    if (i < lead) {  // a leading axis of size 1 needs only the final reshape
      if (x->shape[i] != 1) axes.push_back(static_cast<int64_t>(i));
      continue;
    }
    const int64_t target = shape[i - lead];
    fits = target == x->shape[i] || target == 1;
    if (fits && target == 1 && x->shape[i] != 1) axes.push_back(static_cast<int64_t>(i));
  }
  GW_CHECK_AS(ShapeError, fits, "sum_to: ", shape_str(x->shape), " is not a broadcast of ",
              shape_str(shape));
  Node* s = axes.empty() ? x : sum(x, axes, /*keepdims=*/false);
  return s->shape == shape ? s : reshape(s, shape);
}

Node* slice(Node* x, int64_t axis, int64_t start, int64_t end) {
  Attrs a;
  a.axis = axis;
  a.start = start;
  a.end = end;
  return build(Op::Slice, {x}, a, "slice");
}

// One input is returned as is: concatenating a single tensor changes nothing.
Node* concat(const std::vector<Node*>& xs, int64_t axis) {
  GW_CHECK_AS(ShapeError, !xs.empty(), "concat: no inputs");
  if (xs.size() == 1) {
    GW_CHECK(xs[0] != nullptr, "concat: null input");
    normalize_axis(axis, rank_of(xs[0]), "concat");
    return xs[0];
  }
  Attrs a;
  a.axis = axis;
  return build(Op::Concat, xs, a, "concat");
}

}  // namespace gw
