// Lab 07: your copy of this file. Replace each GW_TODO("lab 07: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// cost_rules.cpp — lab 07: the FLOP and byte counts of the ops the lecture's table names.
//
// Convention: one FLOP per arithmetic operation, as the lecture counts: a product of an m×n
// by an n×h matrix is m·h·(2n − 1) (n multiplies and n − 1 adds per output element), a sum of
// k numbers is k − 1 adds, and each transcendental function (exp, log, sin, sqrt, tanh, pow)
// counts 1. A conversion (cast) or a copy counts 0. Bytes: the table's default is every input
// read once plus the output written once, which fits every op here but the embedding gather.
// reference/passes/register_cost_rules.cpp puts these functions into the op table.
#include "common/op_shapes.h"
#include "gw/op_table.h"

namespace gw::lab07 {

// c = a (…, m, k) times b (…, k, n), batched; kernels::gemm_shape(c) gives batch, m, k and n
// with the transpose flags applied. The lecture's m×n by n×h has k for its n, n for its h.
double matmul_flops(const Node& c) {
  GW_TODO("lab 07: batch · m · n · (2k − 1): each of the m·n outputs is k multiplies and k − 1 adds (0 when k = 0: empty products do no arithmetic)", c);
}

// Every elementwise op (unary, with a scalar, binary, compare, cast; y.op says which):
// operations per output element times the elements.
double elementwise_flops(const Node& y) {
  GW_TODO("lab 07: 1 per element for each op, except cast 0 (no arithmetic), rsqrt 2 (sqrt, divide), sigmoid 3 (exp, add, divide) and silu 4 (a sigmoid, then a multiply)", y);
}

// Sum, Max and Mean over attrs.axes: each output reduces numel(x)/numel(y) inputs.
double reduction_flops(const Node& y) {
  GW_TODO("lab 07: k numbers take k − 1 adds (or comparisons) per output, so numel(x) − numel(y) in all; Mean also divides once per output; an empty input does no arithmetic (0)", y);
}

// Softmax and log-softmax over the last axis: the lecture's 3 per element.
double softmax_flops(const Node& y) {
  GW_TODO("lab 07: 3 per element (exponentiate, add up, normalize)", y);
}

// x (…, h) · rsqrt(mean(x²) + eps) · w: the lecture's 4bsh + 2bs.
double rms_norm_flops(const Node& y) {
  GW_TODO("lab 07: per row of h (the last axis): h squares, h − 1 adds, a divide, + eps, rsqrt, then h scalings by rstd and h by the weight: 4h + 2", y);
}

// RoPE of x (b, n, s, d): each pair (x₁, x₂) → (x₁cos − x₂sin, x₁sin + x₂cos).
double rope_flops(const Node& y) {
  GW_TODO("lab 07: 4 multiplies and 2 adds per pair: 3 per element", y);
}

// softmax(q kᵀ · scale) v with q, k, v (b, n, s, d); the scale and the causal mask are free.
// kernels::attention_shape(o) gives heads = b·n, s and d.
double attention_flops(const Node& o) {
  GW_TODO("lab 07: per head: scores q kᵀ, (s, d)·(d, s); softmax 3 per score; P v, (s, s)·(s, d)", o);
}

// Softmax cross-entropy of logits (rows, v) against targets (rows): one loss per row.
double cross_entropy_flops(const Node& loss) {
  GW_TODO("lab 07: per row of the logits (rows, v): the softmax's 3 per logit (logsumexp), then 1 to subtract the target's logit", loss);
}

// Embedding: y (…, h) gathers rows of table (v, h) at ids i32 (…). No arithmetic; a gather
// touches only the rows it reads, not the whole table (which the default would count).
double embedding_bytes(const Node& y) {
  GW_TODO("lab 07: the ids (input 1) read, the gathered rows read (as many elements as y) and y written", y);
}

}  // namespace gw::lab07
