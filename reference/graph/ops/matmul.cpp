// matmul.cpp — MatMul, batched, with transpose flags: its declaration and its builder. Its
// rules are the labs': the VJP lab 03's, the JVP lab 02's, the FLOP count lab 07's.
//
// a (..., m, k) times b (..., k, n) -> (..., m, n). b may also be 2-D (k, n) and shared by
// every batch, which is how a linear layer multiplies activations (b, s, h) by a weight
// (h, h'): the CPU kernel then folds the batch into m and makes one GEMM call.
// transpose_a reads a as (..., k, m) and transpose_b reads b as (..., n, k), so the VJP
// (Ā = C̄ Bᵀ, B̄ = Aᵀ C̄) needs no Permute nodes.
#include "common/op_shapes.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"

namespace gw {
namespace {

using kernels::gemm_shape;

void matmul_shape(Node& node) {
  const Node* a = node.inputs[0];
  const Node* b = node.inputs[1];
  const std::string shapes = "a " + shape_str(a->shape) + (node.attrs.transpose_a ? "ᵀ" : "") +
                             " and b " + shape_str(b->shape) +
                             (node.attrs.transpose_b ? "ᵀ" : "");
  GW_CHECK_AS(DTypeError, a->dtype == b->dtype, "matmul: dtypes ", dtype_name(a->dtype), " and ",
              dtype_name(b->dtype), " differ (", shapes, ")");
  GW_CHECK_AS(DTypeError, is_floating(a->dtype),
              "matmul: dtype ", dtype_name(a->dtype), " not supported (f64, f32, f16 or bf16; ", shapes,
              ")");
  const size_t ra = a->shape.size(), rb = b->shape.size();
  GW_CHECK_AS(ShapeError, ra >= 2 && rb >= 2, "matmul: ", shapes,
              ": both operands need at least 2 axes");
  GW_CHECK_AS(ShapeError, rb == 2 || rb == ra, "matmul: ", shapes,
              ": b must be 2-D (shared) or have a's batch axes");
  if (rb == ra)
    for (size_t i = 0; i + 2 < ra; ++i)
      GW_CHECK_AS(ShapeError, a->shape[i] == b->shape[i], "matmul: ", shapes,
                  ": batch axis ", i, " differs");
  const int64_t ka = node.attrs.transpose_a ? a->shape[ra - 2] : a->shape[ra - 1];
  const int64_t kb = node.attrs.transpose_b ? b->shape[rb - 1] : b->shape[rb - 2];
  GW_CHECK_AS(ShapeError, ka == kb, "matmul: ", shapes, ": inner dimensions ", ka, " and ", kb,
              " differ");
  const kernels::GemmShape g = gemm_shape(node);
  node.shape.assign(a->shape.begin(), a->shape.end() - 2);
  node.shape.push_back(g.m);
  node.shape.push_back(g.n);
  node.dtype = a->dtype;
}

}  // namespace

void define_matmul_ops(OpRegistry& r) {
  r.define(Op::MatMul, "matmul", 2).shape(matmul_shape);
}

Node* matmul(Node* a, Node* b, bool transpose_a, bool transpose_b) {
  GW_CHECK(a != nullptr && b != nullptr, "matmul: null input");
  Attrs attrs;
  attrs.transpose_a = transpose_a;
  attrs.transpose_b = transpose_b;
  return a->graph->add_node(Op::MatMul, {a, b}, attrs);
}

}  // namespace gw
