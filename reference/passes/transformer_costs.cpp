// transformer_costs.cpp — lab 07: the lecture's analytic formulas (gw/transformer_costs.h):
// the forward FLOPs of a Llama layer row by row, the lecture's approximate total, the
// training rule, parameter counts, training memory, and MFU.
//
// Letters: b batch, s sequence, h width, n heads, d = h/n, i SwiGLU width, v vocabulary,
// N layers. A matmul of m×n by n×h costs m·h·(2n − 1) in the rows of llama_forward_flops
// (the op table's convention, so the rows add up to the graph's count exactly) and 2mnh in the
// lecture's approximate formula.
#include "gw/transformer_costs.h"

#include "gw/error.h"

namespace gw {

LlamaForwardFlops llama_forward_flops(const LlamaShape& shape) {
  GW_CHECK_AS(UsageError, shape.n > 0 && shape.h % shape.n == 0, "llama_forward_flops: width ",
              shape.h, " does not split into ", shape.n, " heads");
  LlamaForwardFlops f;
  f.layers = shape.N;
  // BEGIN LAB 07: every row of LlamaForwardFlops for T = b·s tokens: qkv 3·T·h·(2h − 1); rope 2·3·T·h (q and k); scores b·n·s·s·(2d − 1); softmax 3·b·n·s²; pv b·n·s·d·(2s − 1); output T·h·(2h − 1); attention_residual T·h; gate_up 2·T·i·(2h − 1); silu 4·T·i; gate_product T·i; down T·h·(2i − 1); mlp_residual T·h; rms_norm T·(4h + 2); head T·v·(2h − 1); cross_entropy T·(3v + 1); loss_mean T
  const double b = static_cast<double>(shape.b), s = static_cast<double>(shape.s);
  const double h = static_cast<double>(shape.h), n = static_cast<double>(shape.n);
  const double d = static_cast<double>(shape.d()), i = static_cast<double>(shape.i);
  const double v = static_cast<double>(shape.v);
  const double T = b * s;
  auto matmul = [](double m, double inner, double out) { return m * out * (2 * inner - 1); };
  f.qkv = 3 * matmul(T, h, h);
  f.rope = 2 * 3 * T * h;
  f.scores = b * n * matmul(s, d, s);
  f.softmax = 3 * b * n * s * s;
  f.pv = b * n * matmul(s, s, d);
  f.output = matmul(T, h, h);
  f.attention_residual = T * h;
  f.gate_up = 2 * matmul(T, h, i);
  f.silu = 4 * T * i;
  f.gate_product = T * i;
  f.down = matmul(T, i, h);
  f.mlp_residual = T * h;
  f.rms_norm = T * (4 * h + 2);
  f.head = matmul(T, h, v);
  f.cross_entropy = T * (3 * v + 1);
  f.loss_mean = T;
  // END LAB 07
  return f;
}

double lecture_forward_flops(const LlamaShape& shape) {
  // BEGIN LAB 07: N(6bsh² + 4bs²h + 3bs²n + 2bsh²) + N·6bshi + 2bshv, in doubles
  const double b = static_cast<double>(shape.b), s = static_cast<double>(shape.s);
  const double h = static_cast<double>(shape.h), n = static_cast<double>(shape.n);
  const double i = static_cast<double>(shape.i), v = static_cast<double>(shape.v);
  const double N = static_cast<double>(shape.N);
  return N * (6 * b * s * h * h + 4 * b * s * s * h + 3 * b * s * s * n + 2 * b * s * h * h) +
         N * 6 * b * s * h * i + 2 * b * s * h * v;
  // END LAB 07
}

double lecture_training_flops(const LlamaShape& shape) {
  // BEGIN LAB 07: forward + backward ≈ forward + 2·forward
  return 3 * lecture_forward_flops(shape);
  // END LAB 07
}

int64_t llama_parameter_count(const LlamaShape& shape) {
  // BEGIN LAB 07: N·(4h² + 3hi + 2h) + 2vh + h
  const int64_t h = shape.h, i = shape.i, v = shape.v;
  return shape.N * (4 * h * h + 3 * h * i + 2 * h) + 2 * v * h + h;
  // END LAB 07
}

double gpt_parameter_count(double d, double L, double V) {
  // BEGIN LAB 07: 12d²L + 2dV
  return 12 * d * d * L + 2 * d * V;
  // END LAB 07
}

double adam_training_bytes(double parameters) {
  // BEGIN LAB 07: 16 bytes per weight
  return 16 * parameters;
  // END LAB 07
}

double llama_block_activations(const LlamaShape& shape) {
  // BEGIN LAB 07: (8h + 3i) per token, times T = b·s
  const double T = static_cast<double>(shape.b) * static_cast<double>(shape.s);
  return (8 * static_cast<double>(shape.h) + 3 * static_cast<double>(shape.i)) * T;
  // END LAB 07
}

double llama_activation_elements(const LlamaShape& shape, bool checkpointed) {
  // BEGIN LAB 07: head = 2h·T + 2v·T; without checkpointing N·block + head; with it N·h·T + (block − h·T) + head
  const double T = static_cast<double>(shape.b) * static_cast<double>(shape.s);
  const double h = static_cast<double>(shape.h), v = static_cast<double>(shape.v);
  const double N = static_cast<double>(shape.N);
  const double block = llama_block_activations(shape);
  const double head = 2 * h * T + 2 * v * T;
  return checkpointed ? N * h * T + (block - h * T) + head : N * block + head;
  // END LAB 07
}

double mfu(double flops_per_token, double tokens_per_second, double peak_flops_per_second) {
  // BEGIN LAB 07: achieved FLOP/s over the peak (0 when the peak is unknown, i.e. not positive)
  if (!(peak_flops_per_second > 0)) return 0.0;
  return flops_per_token * tokens_per_second / peak_flops_per_second;
  // END LAB 07
}

}  // namespace gw
