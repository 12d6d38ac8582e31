// int8_linear.cpp — the fusion pass behind lab 05's fast path (gw/passes.h): a matmul whose
// weight is dequantized from symmetric int8 codes with one scale per output channel becomes a
// quantized_linear node, which runs the product as an int8 GEMM instead of dequantizing the
// weight to f32 first.
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/passes.h"

namespace gw {
namespace {

// A Dequantize node of i8 codes (k, n) with scale (n) along axis 1 and a zero point that is
// a constant of zeros: W = q·S, what quantized_linear computes with.
bool is_symmetric_int8_per_column(const Node* w) {
  if (w->op != Op::Dequantize || w->attrs.group_size != 0 || w->attrs.axis != 1) return false;
  const Node* q = w->inputs[0];
  const Node* zero = w->inputs[2];
  if (q->shape.size() != 2 || w->inputs[1]->shape != Shape{q->shape[1]}) return false;
  if (zero->op != Op::Constant) return false;
  for (double z : zero->value.to_doubles())
    if (z != 0.0) return false;
  return w->dtype == DType::f32;
}

}  // namespace

int fuse_int8_linear(Graph& graph) {
  int fused = 0;
  for (const auto& node : graph.nodes()) {
    Node* n = node.get();
    if (n->op != Op::MatMul || n->attrs.transpose_a || n->attrs.transpose_b) continue;
    Node* w = n->inputs[1];
    if (!is_symmetric_int8_per_column(w)) continue;
    const Shape shape = n->shape;
    n->op = Op::QuantizedLinear;
    n->inputs = {n->inputs[0], w->inputs[0], w->inputs[1]};
    n->attrs = Attrs{};
    n->def().infer(*n);  // same (..., n) f32 output: the consumers see no change
    GW_CHECK(n->shape == shape, "fuse_int8_linear: ", n->str(), " changed shape");
    ++fused;
  }
  return fused;
}

}  // namespace gw
