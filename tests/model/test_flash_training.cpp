// test_flash_training.cpp — the trainer on flash attention (--attention flash, the default):
// the same loss curve as on the naive op, step by step, and the same evaluation; a bad value
// is refused; the default step runs the flash and fused SwiGLU ops; q, k, v from one fused
// projection give the loss and gradients of three.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gw/autocast.h"
#include "gw/autodiff.h"
#include "gw/executor.h"
#include "gw/model.h"
#include "gw/trainer.h"
#include "model_testing.h"
#include "testing.h"

namespace gw {
namespace {

using testing::TempDir;
using testing::tiny_config;

struct Curve {
  std::vector<double> losses;
  double val_loss = 0;
};

// 30 steps of the tiny model with the given attention op, then an evaluation. A block of 80
// positions crosses the flash kernel's 64-row tile edge.
Curve train(const std::string& attention) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.attention = attention;
  c.block_size = 80, c.max_iters = 30;
  Trainer t(c, TextDataset::from_file(c.data));
  Curve out;
  for (int i = 0; i < 30; ++i) out.losses.push_back(t.train_step().loss);
  out.val_loss = t.evaluate().val_loss;
  return out;
}

TEST(FlashTraining, LossCurveMatchesNaiveAttention) {
  const Curve naive = train("naive"), flash = train("flash");
  ASSERT_EQ(naive.losses.size(), flash.losses.size());
  for (size_t i = 0; i < naive.losses.size(); ++i)
    EXPECT_NEAR(flash.losses[i], naive.losses[i], 1e-3 * (1 + i)) << "step " << i + 1;
  EXPECT_LT(flash.losses.back(), flash.losses.front() - 0.2) << "flash training did not learn";
  EXPECT_NEAR(flash.val_loss, naive.val_loss, 2e-2);
}

// The op names of a profile table's rows ("op  calls  ms ..." lines).
std::vector<std::string> profiled_ops(const std::string& table) {
  std::vector<std::string> ops;
  size_t at = 0;
  while (at < table.size()) {
    const size_t end = std::min(table.find('\n', at), table.size());
    const std::string line = table.substr(at, end - at);
    ops.push_back(line.substr(0, line.find(' ')));
    at = end + 1;
  }
  return ops;
}

TEST(FlashTraining, TheDefaultStepRunsFlashAttentionAndTheFusedSwiGLU) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.attention = TrainConfig{}.attention;  // the default, whatever the test config says
  EXPECT_EQ(c.attention, "flash");
  Trainer t(c, TextDataset::from_file(c.data));
  const std::vector<std::string> ops = profiled_ops(t.profile_step());
  auto has = [&](const char* op) { return std::find(ops.begin(), ops.end(), op) != ops.end(); };
  for (const char* op : {"flash_attention", "flash_attention_backward", "swiglu_packed",
                         "swiglu_packed_backward"})
    EXPECT_TRUE(has(op)) << op << " missing from the step:\n" << t.profile_step();
  for (const char* op : {"attention", "attention_backward", "silu", "sigmoid", "swiglu",
                         "swiglu_backward_gate", "swiglu_backward_up"})
    EXPECT_FALSE(has(op)) << op << " still in the step";
}

// A CPU model runs q, k, v as one (h, 3h) GEMM, read fused by RoPE and flash attention; with
// fused_flash off, three GEMMs and three tensors (the CUDA layout). Same loss and gradients,
// up to the order of float sums; 2 fewer GEMMs per block forward.
TEST(FlashTraining, FusedQkvProjectionMatchesThreeProjections) {
  ModelShape shape;
  shape.n_layer = 2, shape.n_head = 2, shape.n_embd = 32, shape.mlp_hidden = 96;
  shape.vocab_size = 20, shape.block_size = 70;  // 70 positions cross a 64-row tile
  Graph g;
  Transformer t = make_transformer(g, shape, 5, 0.2);
  EXPECT_TRUE(t.fused_flash) << "a CPU model reads q, k, v fused";
  t.use_flash = true;
  Node* x = g.input("x", {2, 70}, DType::i32);
  Node* y = g.input("y", {2, 70}, DType::i32);
  const Feeds feeds = {{x, testing::random_ids({2, 70}, 20, 3)},
                       {y, testing::random_ids({2, 70}, 20, 4)}};
  std::vector<Node*> weights;
  for (const ModelParameter& p : t.params) weights.push_back(p.node);
  std::vector<std::vector<Tensor>> results;
  for (bool fused : {true, false}) {
    t.fused_flash = fused;
    Node* loss = t.loss(x, y);
    int gemms = 0;
    for (const Node* n : reachable_nodes({loss})) gemms += n->op == Op::MatMul;
    EXPECT_EQ(gemms, (fused ? 4 : 6) * shape.n_layer + 1) << "fused " << fused;
    std::vector<Node*> outputs = gradients(loss, weights);
    outputs.insert(outputs.begin(), loss);
    results.push_back(eval(outputs, feeds));
  }
  EXPECT_NEAR(results[0][0].item(), results[1][0].item(), 1e-6) << "loss";
  for (size_t k = 1; k < results[0].size(); ++k)
    EXPECT_TRUE(testing::all_close(results[0][k], results[1][k], 1e-6, 1e-4))
        << "gradient of " << weights[k - 1]->name;
}

TEST(FlashTraining, UnknownAttentionIsAUsageError) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.attention = "sparse";
  try {
    c.validate();
    ADD_FAILURE() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--attention sparse"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gw
