// elementwise.cpp — the elementwise ops (unary, with a scalar, binary): their declarations,
// the rules that are not a lab's, and their builders in gw/ops.h.
//
// Binary ops never see two different shapes: their builders broadcast NumPy-style by
// inserting explicit Broadcast nodes first (broadcast_to), so the sum back to an input's
// shape lives in one VJP rule, Broadcast's (as in MLX). The shape rules of Add, Sub, Mul,
// Div and Compare therefore reject unequal shapes instead of broadcasting.
//
// Their FLOP counts are lab 07's (reference/passes/cost_rules.cpp); bytes are the table's
// default: every input read once plus the output written once.
//
// The VJP rules of exp, log, sin, tanh, relu, rsqrt, pow, add, mul and div are lab 03's
// (reference/autodiff/vjp_rules.cpp); the JVP rules of exp, log, sin, relu, add and mul are
// lab 02's (reference/autodiff/jvp_rules.cpp).
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;

// ---- unary: (...) -> (...), same dtype; arithmetic needs a floating dtype ----------------
void unary_shape(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(x->dtype), node.def().name, ": input ", x->str(),
              " must have a floating dtype (f64, f32, f16 or bf16)");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// Cast: any dtype to any dtype (attrs.dtype).
void cast_shape(Node& node) {
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
void binary_shape(Node& node) {
  check_binary(node);
  unary_shape(node);
}
// Compare works on any dtype: its 1/0 result has the inputs' dtype.
void compare_shape(Node& node) {
  check_binary(node);
  node.shape = node.inputs[0]->shape;
  node.dtype = node.inputs[0]->dtype;
}

Node* unary(Op op, Node* x, const char* name) { return build(op, {x}, {}, name); }

Node* with_scalar(Op op, Node* x, double c, const char* name) {
  Attrs a;
  a.c = c;
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

// ---- rules that are not a lab's ------------------------------------------------------------
Adjoints vjp_neg(Node&, Node* g) { return {neg(g)}; }
// d|x|/dx = sign(x) (0 at 0): (x > 0) − (x < 0), a constant of the backward graph.
Node* sign(Node* x) {
  Node* zero = scalar_like(x, 0.0);
  return sub(compare(x, zero, CompareOp::gt), compare(x, zero, CompareOp::lt));
}
Adjoints vjp_abs(Node& y, Node* g) { return {mul(g, sign(y.inputs[0]))}; }
Adjoints vjp_cos(Node& y, Node* g) { return {neg(mul(g, sin(y.inputs[0])))}; }
Adjoints vjp_sqrt(Node& y, Node* g) { return {div(g, mul(&y, 2.0))}; }  // 1/(2√x)
Adjoints vjp_sigmoid(Node& y, Node* g) { return {mul(g, mul(&y, add(neg(&y), 1.0)))}; }
Node* silu_derivative(Node* x) {  // silu' = σ(x)·(1 + x·(1 − σ(x)))
  Node* s = sigmoid(x);
  return mul(s, add(mul(x, add(neg(s), 1.0)), 1.0));
}
Adjoints vjp_silu(Node& y, Node* g) { return {mul(g, silu_derivative(y.inputs[0]))}; }
Adjoints vjp_cast(Node& y, Node* g) { return {cast(g, y.inputs[0]->dtype)}; }
Adjoints vjp_add_scalar(Node&, Node* g) { return {g}; }
Adjoints vjp_mul_scalar(Node& y, Node* g) { return {mul(g, y.attrs.c)}; }
Adjoints vjp_sub(Node&, Node* g) { return {g, neg(g)}; }
// Compare is piecewise constant: no gradient flows through it (a mask is a constant).
Adjoints vjp_compare(Node&, Node*) { return {nullptr, nullptr}; }

Node* jvp_neg(Node&, const Tangents& t) { return neg(t[0]); }
Node* jvp_abs(Node& y, const Tangents& t) { return mul(t[0], sign(y.inputs[0])); }
Node* jvp_cos(Node& y, const Tangents& t) { return neg(mul(t[0], sin(y.inputs[0]))); }
Node* jvp_sqrt(Node& y, const Tangents& t) { return div(t[0], mul(&y, 2.0)); }
Node* jvp_rsqrt(Node& y, const Tangents& t) { return mul(t[0], mul(pow(&y, 3.0), -0.5)); }
Node* jvp_sigmoid(Node& y, const Tangents& t) { return mul(t[0], mul(&y, add(neg(&y), 1.0))); }
Node* jvp_silu(Node& y, const Tangents& t) { return mul(t[0], silu_derivative(y.inputs[0])); }
Node* jvp_tanh(Node& y, const Tangents& t) { return mul(t[0], add(neg(mul(&y, &y)), 1.0)); }
Node* jvp_cast(Node& y, const Tangents& t) { return cast(t[0], y.dtype); }
Node* jvp_add_scalar(Node&, const Tangents& t) { return t[0]; }
Node* jvp_mul_scalar(Node& y, const Tangents& t) { return mul(t[0], y.attrs.c); }
Node* jvp_pow_scalar(Node& y, const Tangents& t) {
  const double c = y.attrs.c;
  return mul(t[0], mul(pow(y.inputs[0], c - 1.0), c));
}
Node* jvp_sub(Node&, const Tangents& t) { return add_terms(t[0], t[1] ? neg(t[1]) : nullptr); }
Node* jvp_div(Node& y, const Tangents& t) {  // ẏ = ȧ/b − y·ḃ/b
  Node* b = y.inputs[1];
  return add_terms(t[0] ? div(t[0], b) : nullptr, t[1] ? neg(mul(&y, div(t[1], b))) : nullptr);
}
Node* jvp_compare(Node&, const Tangents&) { return nullptr; }

}  // namespace

void define_elementwise_ops(OpRegistry& r) {
  // unary: (...) -> (...), same dtype
  r.define(Op::Neg, "neg", 1).shape(unary_shape).vjp(vjp_neg).jvp(jvp_neg);
  r.define(Op::Abs, "abs", 1).shape(unary_shape).vjp(vjp_abs).jvp(jvp_abs);
  r.define(Op::Exp, "exp", 1).shape(unary_shape);
  r.define(Op::Log, "log", 1).shape(unary_shape);
  r.define(Op::Sin, "sin", 1).shape(unary_shape);
  r.define(Op::Cos, "cos", 1).shape(unary_shape).vjp(vjp_cos).jvp(jvp_cos);
  r.define(Op::Sqrt, "sqrt", 1).shape(unary_shape).vjp(vjp_sqrt).jvp(jvp_sqrt);
  r.define(Op::Rsqrt, "rsqrt", 1).shape(unary_shape).jvp(jvp_rsqrt);
  r.define(Op::Relu, "relu", 1).shape(unary_shape);
  r.define(Op::Sigmoid, "sigmoid", 1).shape(unary_shape)
      .vjp(vjp_sigmoid).jvp(jvp_sigmoid);
  r.define(Op::Silu, "silu", 1).shape(unary_shape).vjp(vjp_silu).jvp(jvp_silu);
  r.define(Op::Tanh, "tanh", 1).shape(unary_shape).jvp(jvp_tanh);
  r.define(Op::Cast, "cast", 1).shape(cast_shape).vjp(vjp_cast).jvp(jvp_cast);
  // with a scalar attribute c
  r.define(Op::AddScalar, "add_scalar", 1).shape(unary_shape)
      .vjp(vjp_add_scalar).jvp(jvp_add_scalar);
  r.define(Op::MulScalar, "mul_scalar", 1).shape(unary_shape)
      .vjp(vjp_mul_scalar).jvp(jvp_mul_scalar);
  r.define(Op::PowScalar, "pow_scalar", 1).shape(unary_shape)
      .jvp(jvp_pow_scalar);
  // binary on equal shapes
  r.define(Op::Add, "add", 2).shape(binary_shape);
  r.define(Op::Sub, "sub", 2).shape(binary_shape).vjp(vjp_sub).jvp(jvp_sub);
  r.define(Op::Mul, "mul", 2).shape(binary_shape);
  r.define(Op::Div, "div", 2).shape(binary_shape).jvp(jvp_div);
  r.define(Op::Compare, "compare", 2).shape(compare_shape)
      .vjp(vjp_compare).jvp(jvp_compare);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* neg(Node* x) { return unary(Op::Neg, x, "neg"); }
Node* abs(Node* x) { return unary(Op::Abs, x, "abs"); }
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
