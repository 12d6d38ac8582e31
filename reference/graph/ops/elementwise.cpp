// elementwise.cpp — declarations of the elementwise ops (unary, with a scalar, binary) and
// their builders in gw/ops.h.
//
// Binary ops never see two different shapes: their builders broadcast NumPy-style by
// inserting explicit Broadcast nodes first (broadcast_to), so the sum back to an input's
// shape lives in one VJP rule, Broadcast's (as in MLX). The shape rules of Add, Sub, Mul,
// Div and Compare therefore reject unequal shapes instead of broadcasting.
//
// FLOP convention (lab 07): one FLOP per arithmetic operation per output element, with each
// transcendental (exp, log, sin, cos, sqrt, tanh, pow) counting 1. So neg, exp, add, ... cost
// numel; rsqrt costs 2 (sqrt, divide); sigmoid 3 (exp, add, divide); silu 4 (sigmoid, then a
// multiply); relu 1 (a comparison); compare 1; cast 0 (a conversion is no arithmetic).
// Bytes: every input read once plus the output written once.
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;
using op_rules::elements;
using op_rules::zero_flops;
template <int PerElement>
double per_element(const Node& node) { return PerElement * elements(node); }

// ---- unary: (...) -> (...), same dtype; arithmetic needs a floating dtype ----------------
void unary_float_infer(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(x->dtype), node.def().name, ": input ", x->str(),
              " must have a floating dtype (f64, f32, f16 or bf16)");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// Cast: any dtype to any dtype (attrs.dtype).
void cast_infer(Node& node) {
  node.shape = node.inputs[0]->shape;
  node.dtype = node.attrs.dtype;
}

// ---- binary: a (...), b (...) of equal shapes and dtypes -> (...) --------------------------
void check_binary(const Node& node) {
  const Node* a = node.inputs[0];
  const Node* b = node.inputs[1];
  const char* op = node.def().name;
  GW_CHECK_AS(ShapeError, a->shape == b->shape, op, ": shapes ", shape_str(a->shape), " and ",
              shape_str(b->shape), " differ (the builder gw::", op,
              "() inserts Broadcast nodes; the op itself needs equal shapes)");
  GW_CHECK_AS(DTypeError, a->dtype == b->dtype, op, ": dtypes ", dtype_name(a->dtype), " and ",
              dtype_name(b->dtype), " differ (shapes ", shape_str(a->shape), " and ",
              shape_str(b->shape), "); cast one first");
}
void binary_float_infer(Node& node) {
  check_binary(node);
  unary_float_infer(node);
}
// Compare works on any dtype: its 1/0 result has the inputs' dtype.
void compare_infer(Node& node) {
  check_binary(node);
  node.shape = node.inputs[0]->shape;
  node.dtype = node.inputs[0]->dtype;
}

Node* unary(Op op, Node* x, const char* name) { return build(op, {x}, {}, name); }

Node* with_scalar(Op op, Node* x, double c, const char* name) {
  Attrs a;
  a.scalar = c;
  return build(op, {x}, a, name);
}

// NumPy broadcasting by explicit Broadcast nodes: each input whose shape differs from the
// common shape gets one; then the op sees equal shapes. Dtypes are checked first so that a
// failing call leaves no stray Broadcast node in the graph.
Node* binary(Op op, Node* a, Node* b, const char* name, Attrs attrs = {}) {
  GW_CHECK(a != nullptr && b != nullptr, name, ": null input");
  GW_CHECK_AS(DTypeError, a->dtype == b->dtype, name, ": dtypes ", dtype_name(a->dtype),
              " and ", dtype_name(b->dtype), " differ (shapes ", shape_str(a->shape), " and ",
              shape_str(b->shape), "); cast one first");
  if (a->shape != b->shape) {
    const Shape out = broadcast_shapes(a->shape, b->shape, name);
    a = broadcast_to(a, out);
    b = broadcast_to(b, out);
  }
  return build(op, {a, b}, std::move(attrs), name);
}

}  // namespace

void declare_elementwise_ops(OpDef* t) {
  const op_rules::Entry entries[] = {
      {Op::Neg, "neg", 1, unary_float_infer, per_element<1>},
      {Op::Exp, "exp", 1, unary_float_infer, per_element<1>},
      {Op::Log, "log", 1, unary_float_infer, per_element<1>},
      {Op::Sin, "sin", 1, unary_float_infer, per_element<1>},
      {Op::Cos, "cos", 1, unary_float_infer, per_element<1>},
      {Op::Sqrt, "sqrt", 1, unary_float_infer, per_element<1>},
      {Op::Rsqrt, "rsqrt", 1, unary_float_infer, per_element<2>},
      {Op::Relu, "relu", 1, unary_float_infer, per_element<1>},
      {Op::Sigmoid, "sigmoid", 1, unary_float_infer, per_element<3>},
      {Op::Silu, "silu", 1, unary_float_infer, per_element<4>},
      {Op::Tanh, "tanh", 1, unary_float_infer, per_element<1>},
      {Op::Cast, "cast", 1, cast_infer, zero_flops},
      {Op::AddScalar, "add_scalar", 1, unary_float_infer, per_element<1>},
      {Op::MulScalar, "mul_scalar", 1, unary_float_infer, per_element<1>},
      {Op::PowScalar, "pow_scalar", 1, unary_float_infer, per_element<1>},
      {Op::Add, "add", 2, binary_float_infer, per_element<1>},
      {Op::Sub, "sub", 2, binary_float_infer, per_element<1>},
      {Op::Mul, "mul", 2, binary_float_infer, per_element<1>},
      {Op::Div, "div", 2, binary_float_infer, per_element<1>},
      {Op::Compare, "compare", 2, compare_infer, per_element<1>},
  };
  op_rules::declare(t, entries);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* neg(Node* x) { return unary(Op::Neg, x, "neg"); }
Node* exp(Node* x) { return unary(Op::Exp, x, "exp"); }
Node* log(Node* x) { return unary(Op::Log, x, "log"); }
Node* sin(Node* x) { return unary(Op::Sin, x, "sin"); }
Node* cos(Node* x) { return unary(Op::Cos, x, "cos"); }
Node* sqrt(Node* x) { return unary(Op::Sqrt, x, "sqrt"); }
Node* rsqrt(Node* x) { return unary(Op::Rsqrt, x, "rsqrt"); }
Node* relu(Node* x) { return unary(Op::Relu, x, "relu"); }
Node* sigmoid(Node* x) { return unary(Op::Sigmoid, x, "sigmoid"); }
Node* silu(Node* x) { return unary(Op::Silu, x, "silu"); }
Node* tanh(Node* x) { return unary(Op::Tanh, x, "tanh"); }
Node* cast(Node* x, DType dtype) {
  Attrs a;
  a.dtype = dtype;
  return build(Op::Cast, {x}, a, "cast");
}

Node* add(Node* x, double c) { return with_scalar(Op::AddScalar, x, c, "add_scalar"); }
Node* mul(Node* x, double c) { return with_scalar(Op::MulScalar, x, c, "mul_scalar"); }
Node* pow(Node* x, double c) { return with_scalar(Op::PowScalar, x, c, "pow_scalar"); }

Node* add(Node* a, Node* b) { return binary(Op::Add, a, b, "add"); }
Node* sub(Node* a, Node* b) { return binary(Op::Sub, a, b, "sub"); }
Node* mul(Node* a, Node* b) { return binary(Op::Mul, a, b, "mul"); }
Node* div(Node* a, Node* b) { return binary(Op::Div, a, b, "div"); }
Node* compare(Node* a, Node* b, CompareOp op) {
  Attrs attrs;
  attrs.compare = op;
  return binary(Op::Compare, a, b, "compare", attrs);
}

}  // namespace gw
