// matmul.cpp — declaration of MatMul: batched, with transpose flags, and its builder.
//
// a (..., m, k) times b (..., k, n) -> (..., m, n). b may also be 2-D (k, n) and shared by
// every batch, which is how a linear layer multiplies activations (b, s, h) by a weight
// (h, h'): the CPU kernel then folds the batch into m and makes one GEMM call.
// transpose_a reads a as (..., k, m) and transpose_b reads b as (..., n, k), so the VJP
// (Ā = C̄ Bᵀ, B̄ = Aᵀ C̄) needs no Permute nodes.
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"

namespace gw {
namespace {

// The GEMM sizes of a MatMul node, read from its inputs and flags.
struct GemmDims {
  int64_t batch, m, k, n;
};

GemmDims gemm_dims(const Node& node) {
  const Shape& a = node.inputs[0]->shape;
  const Shape& b = node.inputs[1]->shape;
  const size_t ra = a.size(), rb = b.size();
  GemmDims g{};
  g.m = node.attrs.transpose_a ? a[ra - 1] : a[ra - 2];
  g.k = node.attrs.transpose_a ? a[ra - 2] : a[ra - 1];
  g.n = node.attrs.transpose_b ? b[rb - 2] : b[rb - 1];
  g.batch = 1;
  for (size_t i = 0; i + 2 < ra; ++i) g.batch *= a[i];
  return g;
}

void matmul_infer(Node& node) {
  const Node* a = node.inputs[0];
  const Node* b = node.inputs[1];
  const std::string shapes = "a " + shape_str(a->shape) + (node.attrs.transpose_a ? "ᵀ" : "") +
                             " and b " + shape_str(b->shape) +
                             (node.attrs.transpose_b ? "ᵀ" : "");
  GW_CHECK_AS(DTypeError, a->dtype == b->dtype, "matmul: dtypes ", dtype_name(a->dtype), " and ",
              dtype_name(b->dtype), " differ (", shapes, ")");
  GW_CHECK_AS(DTypeError, a->dtype == DType::f32 || a->dtype == DType::f64,
              "matmul: dtype ", dtype_name(a->dtype), " not supported (f32 or f64; ", shapes,
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
  const GemmDims g = gemm_dims(node);
  node.shape.assign(a->shape.begin(), a->shape.end() - 2);
  node.shape.push_back(g.m);
  node.shape.push_back(g.n);
  node.dtype = a->dtype;
}

// 2·m·n·k per batch: one multiply and one add per term of each inner product.
double matmul_flops(const Node& node) {
  const GemmDims g = gemm_dims(node);
  return 2.0 * static_cast<double>(g.batch) * g.m * g.n * g.k;
}

// A GEMM that streams each operand once: read a and b, write c.
double matmul_bytes(const Node& node) {
  const double e = static_cast<double>(dtype_size(node.dtype));
  return e * static_cast<double>(numel(node.inputs[0]->shape) + numel(node.inputs[1]->shape) +
                                 numel(node.shape));
}

}  // namespace

void declare_matmul_ops(OpDef* table) {
  OpDef& d = table[static_cast<size_t>(Op::MatMul)];
  d.name = "matmul";
  d.arity = 2;
  d.infer = matmul_infer;
  d.flops = matmul_flops;
  d.bytes = matmul_bytes;
}

Node* matmul(Node* a, Node* b, bool transpose_a, bool transpose_b) {
  GW_CHECK(a != nullptr && b != nullptr, "matmul: null input");
  Attrs attrs;
  attrs.transpose_a = transpose_a;
  attrs.transpose_b = transpose_b;
  return a->graph->add_node(Op::MatMul, {a, b}, attrs);
}

}  // namespace gw
