// autocast_policy.cpp — the op table of autocast (which ops run in 16 bits, which in f32) and
// the graph plumbing its passes share: the nodes reachable from some outputs, in order, and
// rewiring the uses of a node. The passes themselves are lab 06's (autocast.cpp).
#include <unordered_set>

#include "gw/autocast.h"

namespace gw {

CastPolicy cast_policy(Op op) {
  switch (op) {
    // The products: most of a transformer's FLOPs, and what tensor cores and bf16 dot
    // instructions speed up. Their kernels accumulate in f32; FlashAttention's packed output
    // (the output and each row's log-sum-exp) stays f32 whatever its inputs.
    case Op::MatMul:
    case Op::Attention:
    case Op::FlashAttention:
      return CastPolicy::low;
    // Range and rounding: exp overflows f16 past 11, a sum of many terms stops growing in 16
    // bits (the accumulation experiment), a norm's mean of squares and a softmax's
    // normalizer are such sums, and RoPE's angles need more than 8 bits of mantissa.
    case Op::Exp:
    case Op::Log:
    case Op::Sin:
    case Op::Cos:
    case Op::Sqrt:
    case Op::Rsqrt:
    case Op::PowScalar:
    case Op::Div:
    case Op::Sum:
    case Op::Max:
    case Op::Mean:
    case Op::Softmax:
    case Op::LogSoftmax:
    case Op::SoftmaxCrossEntropy:
    case Op::RMSNorm:
    case Op::RoPE:
      return CastPolicy::f32;
    // Exact or well-conditioned in any precision: run in whatever comes in.
    case Op::Neg:
    case Op::Abs:
    case Op::Relu:
    case Op::Sigmoid:
    case Op::Silu:
    case Op::SwiGLU:
    case Op::SwiGLUPacked:
    case Op::Tanh:
    case Op::AddScalar:
    case Op::MulScalar:
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Compare:
    case Op::Reshape:
    case Op::Permute:
    case Op::Broadcast:
    case Op::Slice:
    case Op::Concat:
    case Op::Embedding:
      return CastPolicy::follow;
    default:
      return CastPolicy::keep;
  }
}

std::vector<Node*> reachable_nodes(const std::vector<Node*>& outputs) {
  std::vector<Node*> order;
  std::unordered_set<const Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, next input to visit)
  for (Node* out : outputs) {
    if (out == nullptr || !seen.insert(out).second) continue;
    stack.push_back({out, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        Node* in = node->inputs[next++];
        if (seen.insert(in).second) stack.push_back({in, 0});
        continue;
      }
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

std::vector<Node*> consumers(const std::vector<Node*>& nodes, const Node* node) {
  std::vector<Node*> out;
  for (Node* n : nodes)
    for (const Node* in : n->inputs)
      if (in == node) {
        out.push_back(n);
        break;
      }
  return out;
}

int replace_uses(const std::vector<Node*>& nodes, Node* from, Node* to) {
  int replaced = 0;
  for (Node* n : nodes)
    for (Node*& in : n->inputs)
      if (in == from) {
        in = to;
        ++replaced;
      }
  return replaced;
}

}  // namespace gw
