// lab_rules.cpp — puts the rules that the labs' students write into the op table: lab 02's
// JVP rules (jvp_rules.cpp), lab 03's VJP rules (vjp_rules.cpp) and lab 05's straight-through
// estimator (reference/passes/fake_quant.cpp). Every other rule is
// declared with its op family (reference/graph/ops/). The table registers these after the
// families and the kernels, and refuses a rule that a family also defines.
#include "gw/op_table.h"
#include "gw/rules.h"

namespace gw {

namespace lab02 {
Node* jvp_exp(Node& y, const Tangents& t);
Node* jvp_log(Node& y, const Tangents& t);
Node* jvp_sin(Node& y, const Tangents& t);
Node* jvp_relu(Node& y, const Tangents& t);
Node* jvp_add(Node& y, const Tangents& t);
Node* jvp_mul(Node& y, const Tangents& t);
Node* jvp_sum(Node& y, const Tangents& t);
Node* jvp_matmul(Node& y, const Tangents& t);
}  // namespace lab02

namespace lab03 {
Adjoints vjp_exp(Node& y, Node* g);
Adjoints vjp_log(Node& y, Node* g);
Adjoints vjp_sin(Node& y, Node* g);
Adjoints vjp_tanh(Node& y, Node* g);
Adjoints vjp_relu(Node& y, Node* g);
Adjoints vjp_rsqrt(Node& y, Node* g);
Adjoints vjp_pow_scalar(Node& y, Node* g);
Adjoints vjp_add(Node& y, Node* g);
Adjoints vjp_mul(Node& y, Node* g);
Adjoints vjp_div(Node& y, Node* g);
Adjoints vjp_sum(Node& y, Node* g);
Adjoints vjp_mean(Node& y, Node* g);
Adjoints vjp_max(Node& y, Node* g);
Adjoints vjp_broadcast(Node& y, Node* g);
Adjoints vjp_reshape(Node& y, Node* g);
Adjoints vjp_permute(Node& y, Node* g);
Adjoints vjp_matmul(Node& y, Node* g);
Adjoints vjp_softmax(Node& y, Node* g);
Adjoints vjp_log_softmax(Node& y, Node* g);
Adjoints vjp_softmax_cross_entropy(Node& y, Node* g);
}  // namespace lab03

namespace lab05 {
Adjoints vjp_fake_quantize(Node& y, Node* g);
}  // namespace lab05

void define_lab02_jvp_rules(OpRegistry& r) {
  r.define(Op::Exp).jvp(lab02::jvp_exp);
  r.define(Op::Log).jvp(lab02::jvp_log);
  r.define(Op::Sin).jvp(lab02::jvp_sin);
  r.define(Op::Relu).jvp(lab02::jvp_relu);
  r.define(Op::Add).jvp(lab02::jvp_add);
  r.define(Op::Mul).jvp(lab02::jvp_mul);
  r.define(Op::Sum).jvp(lab02::jvp_sum);
  r.define(Op::MatMul).jvp(lab02::jvp_matmul);
}

void define_lab03_vjp_rules(OpRegistry& r) {
  r.define(Op::Exp).vjp(lab03::vjp_exp);
  r.define(Op::Log).vjp(lab03::vjp_log);
  r.define(Op::Sin).vjp(lab03::vjp_sin);
  r.define(Op::Tanh).vjp(lab03::vjp_tanh);
  r.define(Op::Relu).vjp(lab03::vjp_relu);
  r.define(Op::Rsqrt).vjp(lab03::vjp_rsqrt);
  r.define(Op::PowScalar).vjp(lab03::vjp_pow_scalar);
  r.define(Op::Add).vjp(lab03::vjp_add);
  r.define(Op::Mul).vjp(lab03::vjp_mul);
  r.define(Op::Div).vjp(lab03::vjp_div);
  r.define(Op::Sum).vjp(lab03::vjp_sum);
  r.define(Op::Mean).vjp(lab03::vjp_mean);
  r.define(Op::Max).vjp(lab03::vjp_max);
  r.define(Op::Broadcast).vjp(lab03::vjp_broadcast);
  r.define(Op::Reshape).vjp(lab03::vjp_reshape);
  r.define(Op::Permute).vjp(lab03::vjp_permute);
  r.define(Op::MatMul).vjp(lab03::vjp_matmul);
  r.define(Op::Softmax).vjp(lab03::vjp_softmax);
  r.define(Op::LogSoftmax).vjp(lab03::vjp_log_softmax);
  r.define(Op::SoftmaxCrossEntropy).vjp(lab03::vjp_softmax_cross_entropy);
}

void define_lab05_vjp_rules(OpRegistry& r) {
  r.define(Op::FakeQuantize).vjp(lab05::vjp_fake_quantize);
}

}  // namespace gw
