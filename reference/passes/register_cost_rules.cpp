// register_cost_rules.cpp — puts lab 07's FLOP and byte rules (cost_rules.cpp) into the op
// table, after the op families, which leave these slots empty. A family that also defined one
// would stop the table's construction with an error naming the op.
#include "gw/op_table.h"

namespace gw {

namespace lab07 {
double matmul_flops(const Node& c);
double elementwise_flops(const Node& y);
double reduction_flops(const Node& y);
double softmax_flops(const Node& y);
double rms_norm_flops(const Node& y);
double rope_flops(const Node& y);
double attention_flops(const Node& o);
double cross_entropy_flops(const Node& loss);
double embedding_bytes(const Node& y);
}  // namespace lab07

namespace {
// A fused RoPE, x (b, s, 3, n, d), rotates q and k and copies v: two thirds of its elements
// cost what lab 07's rule counts per element, the copy nothing.
double rope_cost(const Node& y) {
  const double all = lab07::rope_flops(y);
  return y.shape.size() == 5 ? all * 2.0 / 3.0 : all;
}
}  // namespace

void define_lab07_cost_rules(OpRegistry& r) {
  for (Op op : {Op::Neg, Op::Abs, Op::Exp, Op::Log, Op::Sin, Op::Cos, Op::Sqrt, Op::Rsqrt,
                Op::Relu, Op::Sigmoid, Op::Silu, Op::Tanh, Op::Cast, Op::AddScalar,
                Op::MulScalar, Op::PowScalar, Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Compare})
    r.define(op).flops(lab07::elementwise_flops);
  for (Op op : {Op::Sum, Op::Max, Op::Mean}) r.define(op).flops(lab07::reduction_flops);
  r.define(Op::Softmax).flops(lab07::softmax_flops);
  r.define(Op::LogSoftmax).flops(lab07::softmax_flops);
  r.define(Op::RMSNorm).flops(lab07::rms_norm_flops);
  r.define(Op::RoPE).flops(rope_cost);
  r.define(Op::Attention).flops(lab07::attention_flops);
  r.define(Op::MatMul).flops(lab07::matmul_flops);
  r.define(Op::SoftmaxCrossEntropy).flops(lab07::cross_entropy_flops);
  r.define(Op::Embedding).bytes(lab07::embedding_bytes);
}

}  // namespace gw
