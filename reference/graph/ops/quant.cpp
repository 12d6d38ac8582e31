// quant.cpp — the quantization ops Quantize, Dequantize, FakeQuantize (and its mask) and
// MatMulInt8: declarations, rules and builders. Rounding has no useful derivative, so only
// FakeQuantize is differentiated, by the straight-through estimator (its VJP is lab 05's).
//
// Quantization follows lab 05 (gw/quantize.h): r = S(q − Z) with an N-bit signed range
// [−2^(N−1), 2^(N−1) − 1]; S and Z are f32 tensors of shape () per tensor, (x.shape[axis]) per
// channel, or x's shape with x.shape[axis] replaced by ⌈x.shape[axis]/g⌉ per group of g along
// `axis` (attrs.group_size = g). Codes are stored as i8 whatever N is; MatMulInt8 multiplies
// i8 codes into i32 sums.
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;
using op_rules::per_element;

// ---- Quantize / Dequantize ---------------------------------------------------------------
// scale and zero_point: f32, shape (), (x.shape[axis]) or x's shape grouped along axis.
void check_qparams(const char* op, Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(Error, node.attrs.group_size >= 0, op, ": group size ", node.attrs.group_size,
              " must be ≥ 0");
  if (!x->shape.empty())
    node.attrs.axis = normalize_axis(node.attrs.axis, static_cast<int64_t>(x->shape.size()), op);
  for (int i : {1, 2}) {
    const Node* p = node.inputs[i];
    const char* what = i == 1 ? "scale" : "zero_point";
    GW_CHECK_AS(DTypeError, p->dtype == DType::f32, op, ": ", what, " ", p->str(),
                " must be f32");
    if (p->shape.empty() && node.attrs.group_size == 0) continue;
    GW_CHECK_AS(ShapeError, !x->shape.empty(), op, ": ", what, " ", shape_str(p->shape),
                " per channel or group needs an input with axes, got ", shape_str(x->shape));
    const size_t a = static_cast<size_t>(node.attrs.axis);
    Shape want = {x->shape[a]};
    if (node.attrs.group_size > 0) {
      want = x->shape;
      want[a] = (x->shape[a] + node.attrs.group_size - 1) / node.attrs.group_size;
    }
    GW_CHECK_AS(ShapeError, p->shape == want, op, ": ", what, " ", shape_str(p->shape),
                " must be ", shape_str(want), " for input ", shape_str(x->shape),
                node.attrs.group_size > 0 ? " in groups along axis " : " per channel along axis ",
                node.attrs.axis);
  }
}
void quantize_shape(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, x->dtype == DType::f32, "quantize: input ", x->str(),
              " must be f32");
  GW_CHECK_AS(Error, node.attrs.bits >= 2 && node.attrs.bits <= 8, "quantize: bits ",
              node.attrs.bits, " must be in 2..8 (codes are stored as i8)");
  check_qparams("quantize", node);
  node.shape = x->shape;
  node.dtype = DType::i8;
}
void dequantize_shape(Node& node) {
  const Node* q = node.inputs[0];
  GW_CHECK_AS(DTypeError, q->dtype == DType::i8, "dequantize: input ", q->str(),
              " must be i8");
  GW_CHECK_AS(DTypeError, node.attrs.dtype == DType::f32 || node.attrs.dtype == DType::f64,
              "dequantize: output dtype ", dtype_name(node.attrs.dtype), " must be f32 or f64");
  check_qparams("dequantize", node);
  node.shape = q->shape;
  node.dtype = node.attrs.dtype;
}

// FakeQuantize and its mask: f32 x, scale, zero_point -> f32 of x's shape.
void fake_quantize_shape(Node& node) {
  const Node* x = node.inputs[0];
  const char* op = node.def().name;
  GW_CHECK_AS(DTypeError, x->dtype == DType::f32, op, ": input ", x->str(), " must be f32");
  GW_CHECK_AS(Error, node.attrs.bits >= 2 && node.attrs.bits <= 8, op, ": bits ",
              node.attrs.bits, " must be in 2..8");
  check_qparams(op, node);
  node.shape = x->shape;
  node.dtype = DType::f32;
}

// ---- MatMulInt8: a i8 (m, k), b i8 (k, n) -> i32 (m, n) ------------------------------------
void matmul_int8_shape(Node& node) {
  const Node* a = node.inputs[0];
  const Node* b = node.inputs[1];
  GW_CHECK_AS(DTypeError, a->dtype == DType::i8 && b->dtype == DType::i8, "matmul_int8: ",
              a->str(), " and ", b->str(), " must both be i8");
  GW_CHECK_AS(ShapeError, a->shape.size() == 2 && b->shape.size() == 2 &&
                              a->shape[1] == b->shape[0],
              "matmul_int8: a ", shape_str(a->shape), " and b ", shape_str(b->shape),
              " must be (m, k) and (k, n)");
  node.shape = {a->shape[0], b->shape[1]};
  node.dtype = DType::i32;
}
// QuantizedLinear: x f32 (..., k), codes i8 (k, n), scale f32 (n) -> f32 (..., n).
void quantized_linear_shape(Node& node) {
  const Node* x = node.inputs[0];
  const Node* q = node.inputs[1];
  const Node* s = node.inputs[2];
  GW_CHECK_AS(DTypeError, x->dtype == DType::f32 && q->dtype == DType::i8 && s->dtype == DType::f32,
              "quantized_linear: x ", x->str(), ", codes ", q->str(), " and scale ", s->str(),
              " must be f32, i8 and f32");
  GW_CHECK_AS(ShapeError, !x->shape.empty() && q->shape.size() == 2 &&
                              x->shape.back() == q->shape[0] && s->shape == Shape{q->shape[1]},
              "quantized_linear: x ", shape_str(x->shape), ", codes ", shape_str(q->shape),
              " and scale ", shape_str(s->shape), " must be (..., k), (k, n) and (n)");
  node.shape = x->shape;
  node.shape.back() = q->shape[1];
  node.dtype = DType::f32;
}
// Counted as lab 07 counts a float matmul (integer operations count like FLOPs): each output
// of the int8 GEMM is k multiplies and k − 1 adds. Quantizing x costs 4 per element (per row
// of k: k abs, k − 1 maxima, one divide for the row's scale, then k divides and k roundings);
// rescaling each i32 sum by the row's and the column's scale, 2 per output.
double quantized_linear_ops(const Node& node) {
  const double k = static_cast<double>(node.inputs[1]->shape[0]);
  return op_rules::elements(node) * (2.0 * k - 1.0) + 4.0 * op_rules::input_elements(node) +
         2.0 * op_rules::elements(node);
}

double matmul_int8_ops(const Node& node) {  // m·n·(2k − 1), like a float matmul
  const double k = static_cast<double>(node.inputs[0]->shape[1]);
  return op_rules::elements(node) * (2.0 * k - 1.0);
}

// The tangent passes where x is inside the range, like the gradient (straight through).
Node* jvp_fake_quantize(Node& y, const Tangents& t) {
  if (t[0] == nullptr) return nullptr;
  const Attrs& a = y.attrs;
  return mul(t[0], fake_quantize_mask(y.inputs[0], y.inputs[1], y.inputs[2],
                                      static_cast<int>(a.bits), a.axis, a.group_size));
}

// The mask is piecewise constant: no gradient and no tangent flow through it.
Adjoints vjp_mask(Node&, Node*) { return {nullptr, nullptr, nullptr}; }
Node* jvp_mask(Node&, const Tangents&) { return nullptr; }

}  // namespace

void define_quant_ops(OpRegistry& r) {
  // quantize: divide, round, add Z, clamp; dequantize: subtract, multiply
  r.define(Op::Quantize, "quantize", 3).shape(quantize_shape).flops(per_element<4>);
  r.define(Op::Dequantize, "dequantize", 3).shape(dequantize_shape).flops(per_element<2>);
  // fake quantize: divide, round, add Z, clamp, subtract Z, multiply
  r.define(Op::FakeQuantize, "fake_quantize", 3).shape(fake_quantize_shape)
      .flops(per_element<6>).jvp(jvp_fake_quantize);  // its VJP, the STE, is lab 05's
  r.define(Op::FakeQuantizeMask, "fake_quantize_mask", 3).shape(fake_quantize_shape)
      .flops(per_element<4>).vjp(vjp_mask).jvp(jvp_mask);
  r.define(Op::MatMulInt8, "matmul_int8", 2).shape(matmul_int8_shape).flops(matmul_int8_ops);
  r.define(Op::QuantizedLinear, "quantized_linear", 3).shape(quantized_linear_shape)
      .flops(quantized_linear_ops);
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* quantize(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis,
               int64_t group_size) {
  Attrs a;
  a.bits = bits;
  a.axis = axis;
  a.group_size = group_size;
  return build(Op::Quantize, {x, scale, zero_point}, a, "quantize");
}
Node* dequantize(Node* q, Node* scale, Node* zero_point, int64_t axis, int64_t group_size) {
  Attrs a;
  a.axis = axis;
  a.group_size = group_size;
  a.dtype = DType::f32;
  return build(Op::Dequantize, {q, scale, zero_point}, a, "dequantize");
}
Node* fake_quantize(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis,
                    int64_t group_size) {
  Attrs a;
  a.bits = bits;
  a.axis = axis;
  a.group_size = group_size;
  return build(Op::FakeQuantize, {x, scale, zero_point}, a, "fake_quantize");
}
Node* fake_quantize_mask(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis,
                         int64_t group_size) {
  Attrs a;
  a.bits = bits;
  a.axis = axis;
  a.group_size = group_size;
  return build(Op::FakeQuantizeMask, {x, scale, zero_point}, a, "fake_quantize_mask");
}
Node* quantized_linear(Node* x, Node* codes, Node* scale) {
  return build(Op::QuantizedLinear, {x, codes, scale}, {}, "quantized_linear");
}
Node* matmul_int8(Node* a, Node* b) {
  return build(Op::MatMulInt8, {a, b}, {}, "matmul_int8");
}

}  // namespace gw
