// Lab 07: your copy of this file. Replace each GW_TODO("lab 07: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 07: every row of LlamaForwardFlops for T = b·s tokens: qkv 3·T·h·(2h − 1); rope 2·3·T·h (q and k); scores b·n·s·s·(2d − 1); softmax 3·b·n·s²; pv b·n·s·d·(2s − 1); output T·h·(2h − 1); attention_residual T·h; gate_up 2·T·i·(2h − 1); silu 4·T·i; gate_product T·i; down T·h·(2i − 1); mlp_residual T·h; rms_norm T·(4h + 2); head T·v·(2h − 1); cross_entropy T·(3v + 1); loss_mean T", shape);
  return f;
}

double lecture_forward_flops(const LlamaShape& shape) {
  GW_TODO("lab 07: N(6bsh² + 4bs²h + 3bs²n + 2bsh²) + N·6bshi + 2bshv, in doubles", shape);
}

double lecture_training_flops(const LlamaShape& shape) {
  GW_TODO("lab 07: forward + backward ≈ forward + 2·forward", shape);
}

int64_t llama_parameter_count(const LlamaShape& shape) {
  GW_TODO("lab 07: N·(4h² + 3hi + 2h) + 2vh + h", shape);
}

double gpt_parameter_count(double d, double L, double V) {
  GW_TODO("lab 07: 12d²L + 2dV", d, L, V);
}

double adam_training_bytes(double parameters) {
  GW_TODO("lab 07: 16 bytes per weight", parameters);
}

double llama_block_activations(const LlamaShape& shape) {
  GW_TODO("lab 07: (8h + 3i) per token, times T = b·s", shape);
}

double llama_activation_elements(const LlamaShape& shape, bool checkpointed) {
  GW_TODO("lab 07: head = 2h·T + 2v·T; without checkpointing N·block + head; with it N·h·T + (block − h·T) + head", shape, checkpointed);
}

double mfu(double flops_per_token, double tokens_per_second, double peak_flops_per_second) {
  GW_TODO("lab 07: achieved FLOP/s over the peak (0 when the peak is unknown, i.e. not positive)", flops_per_token, tokens_per_second, peak_flops_per_second);
}

}  // namespace gw
