// comm_quant.cpp — declarations of AllReduce and of the quantization ops (Quantize,
// Dequantize, MatMulInt8), with their builders.
//
// Quantization follows lab 05: r = S(q − Z) with an N-bit signed range
// [−2^(N−1), 2^(N−1) − 1]; S and Z are f32 tensors, shape {} (per tensor) or
// (x.shape[axis]) (per channel), so the calibration that computes them stays in the graph.
// Codes are stored as i8 whatever N is; MatMulInt8 multiplies i8 codes into i32 sums.
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "op_rules.h"

namespace gw {
namespace {

using op_rules::build;
using op_rules::def_of;
using op_rules::elements;
using op_rules::io_bytes;

// ---- AllReduce ---------------------------------------------------------------------------
void all_reduce_infer(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(x->dtype) || x->dtype == DType::i32, "all_reduce: ",
              x->str(), ": dtype must be floating or i32");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// ---- Quantize / Dequantize ---------------------------------------------------------------
// scale and zero_point: f32, shape {} or (x.shape[axis]).
void check_qparams(const char* op, const Node& node) {
  const Node* x = node.inputs[0];
  for (int i : {1, 2}) {
    const Node* p = node.inputs[i];
    const char* what = i == 1 ? "scale" : "zero_point";
    GW_CHECK_AS(DTypeError, p->dtype == DType::f32, op, ": ", what, " ", p->str(),
                " must be f32");
    if (p->shape.empty()) continue;
    GW_CHECK_AS(ShapeError, !x->shape.empty(), op, ": per-channel ", what, " ",
                shape_str(p->shape), " needs an input with axes, got ", shape_str(x->shape));
    const int64_t axis = normalize_axis(node.attrs.axis, static_cast<int64_t>(x->shape.size()),
                                        op);
    GW_CHECK_AS(ShapeError, p->shape == Shape{x->shape[static_cast<size_t>(axis)]}, op, ": ",
                what, " ", shape_str(p->shape), " must be () per tensor or (",
                x->shape[axis], ") per channel for input ", shape_str(x->shape), " along axis ",
                node.attrs.axis);
  }
}
void quantize_infer(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, x->dtype == DType::f32, "quantize: input ", x->str(),
              " must be f32");
  GW_CHECK_AS(Error, node.attrs.count >= 2 && node.attrs.count <= 8, "quantize: bits ",
              node.attrs.count, " must be in 2..8 (codes are stored as i8)");
  check_qparams("quantize", node);
  node.shape = x->shape;
  node.dtype = DType::i8;
}
void dequantize_infer(Node& node) {
  const Node* q = node.inputs[0];
  GW_CHECK_AS(DTypeError, q->dtype == DType::i8, "dequantize: input ", q->str(),
              " must be i8");
  GW_CHECK_AS(DTypeError, node.attrs.dtype == DType::f32 || node.attrs.dtype == DType::f64,
              "dequantize: output dtype ", dtype_name(node.attrs.dtype), " must be f32 or f64");
  check_qparams("dequantize", node);
  node.shape = q->shape;
  node.dtype = node.attrs.dtype;
}
// divide, round, add Z, clamp: 4 per element; dequantize: subtract, multiply
double four_per_element(const Node& node) { return 4.0 * elements(node); }
double two_per_element(const Node& node) { return 2.0 * elements(node); }

// ---- MatMulInt8: a i8 (m, k), b i8 (k, n) -> i32 (m, n) ------------------------------------
void matmul_int8_infer(Node& node) {
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
double matmul_int8_ops(const Node& node) {  // integer multiply-adds, counted like FLOPs
  return 2.0 * elements(node) * node.inputs[0]->shape[1];
}

}  // namespace

void declare_comm_quant_ops(OpDef* t) {
  OpDef& ar = def_of(t, Op::AllReduce);
  ar.name = "all_reduce";
  ar.arity = 1;
  ar.infer = all_reduce_infer;
  ar.flops = elements;  // one add per element and incoming contribution (2 ranks)
  ar.bytes = io_bytes;

  OpDef& q = def_of(t, Op::Quantize);
  q.name = "quantize";
  q.arity = 3;
  q.infer = quantize_infer;
  q.flops = four_per_element;
  q.bytes = io_bytes;

  OpDef& dq = def_of(t, Op::Dequantize);
  dq.name = "dequantize";
  dq.arity = 3;
  dq.infer = dequantize_infer;
  dq.flops = two_per_element;
  dq.bytes = io_bytes;

  OpDef& mm = def_of(t, Op::MatMulInt8);
  mm.name = "matmul_int8";
  mm.arity = 2;
  mm.infer = matmul_int8_infer;
  mm.flops = matmul_int8_ops;
  mm.bytes = io_bytes;
}

// ---- builders (gw/ops.h) -----------------------------------------------------------------
Node* all_reduce(Node* x, bool average) {
  Attrs a;
  a.flag = average;
  return build(Op::AllReduce, {x}, a, "all_reduce");
}
Node* quantize(Node* x, Node* scale, Node* zero_point, int bits, int64_t axis) {
  Attrs a;
  a.count = bits;
  a.axis = axis;
  return build(Op::Quantize, {x, scale, zero_point}, a, "quantize");
}
Node* dequantize(Node* q, Node* scale, Node* zero_point, int64_t axis) {
  Attrs a;
  a.axis = axis;
  a.dtype = DType::f32;
  return build(Op::Dequantize, {q, scale, zero_point}, a, "dequantize");
}
Node* matmul_int8(Node* a, Node* b) {
  return build(Op::MatMulInt8, {a, b}, {}, "matmul_int8");
}

}  // namespace gw
