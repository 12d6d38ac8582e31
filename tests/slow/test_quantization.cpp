// test_quantization.cpp — lab 05's targets on a real trained model, behind the `slow` label
// (about two minutes on 2 cores): cpu-tiny trained on tinyshakespeare loses at most 0.01 nats
// of val loss when its matmul weights are int8 per channel (also run from its checkpoint as
// int8 GEMMs), at most 0.10 when int4 in groups of 32, and 200 steps of quantization-aware
// training recover at least half of int4's loss. The dataset is read in place from
// ../shared/datasets; the test skips where it is absent.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "gw/data.h"
#include "gw/quantized_model.h"
#include "gw/trainer.h"

namespace gw {
namespace {

// The val loss of `trainer`'s model with its matmul weights quantized by `scheme` (the values
// the quantized model computes with); the weights are put back afterwards.
double weights_only_val_loss(Trainer& trainer, WeightScheme scheme) {
  const std::vector<Node*> w = quantizable_weights(trainer.model());
  std::vector<Tensor> saved;
  for (Node* n : w) saved.push_back(n->value.clone());
  const std::vector<QuantizedWeight> q = quantize_model_weights(w, scheme);
  for (size_t i = 0; i < w.size(); ++i) w[i]->value.copy_from(q[i].dequantized());
  const double loss = trainer.evaluate().val_loss;
  for (size_t i = 0; i < w.size(); ++i) w[i]->value.copy_from(saved[i]);
  return loss;
}

TEST(Quantization, CpuTinyMeetsTheInt8Int4AndQatTargets) {
  const std::string data = tinyshakespeare_path();
  if (data.empty()) GTEST_SKIP() << "tinyshakespeare.txt not found next to the source tree (../shared/datasets)";
  TrainConfig c = preset_config("cpu-tiny");
  c.data = data;
  c.eval_interval = 1000;
  c.out_dir = ::testing::TempDir() + "gw_quantization";
  c.plot = false;
  std::ostringstream log;
  run_training(c, log);
  const std::string ckpt = c.out_dir + "/ckpt.bin";

  Trainer trainer(c, TextDataset::from_file(data));
  trainer.restore(read_checkpoint(ckpt));
  const double f32 = trainer.evaluate().val_loss;
  const double int8 = weights_only_val_loss(trainer, WeightScheme::int8_channel);
  const double int4 = weights_only_val_loss(trainer, WeightScheme::int4_group);
  EXPECT_LE(int8 - f32, 0.01) << "int8 per channel: " << f32 << " -> " << int8;
  EXPECT_LE(int4 - f32, 0.10) << "int4 g32: " << f32 << " -> " << int4;
  // The int8 model as gw-sample runs it from its checkpoint: int8 GEMMs on 7-bit activations.
  const WeightScheme scheme = WeightScheme::int8_channel;
  const Checkpoint q = quantized_checkpoint(read_checkpoint(ckpt), trainer.model(), scheme,
                                            quantize_model_weights(
                                                quantizable_weights(trainer.model()), scheme),
                                            {});
  const double int8_run = quantized_val_loss(q, trainer.data());
  EXPECT_LE(int8_run - f32, 0.01) << "int8 run as int8 GEMMs: " << f32 << " -> " << int8_run;

  TrainConfig qat = c;
  qat.resume = ckpt;
  qat.qat = "int4-g32";
  qat.max_iters = c.max_iters + 200;
  qat.eval_interval = 200;
  qat.out_dir = ::testing::TempDir() + "gw_quantization_qat";
  std::ostringstream qat_log;
  const TrainSummary s = run_training(qat, qat_log);
  ASSERT_FALSE(s.evals.empty()) << qat_log.str();
  const double after_qat = s.evals.back().val_loss;  // the fake-quantized (int4) model's
  EXPECT_LE(after_qat, int4 - 0.5 * (int4 - f32))
      << "200 QAT steps should recover at least half of int4's loss: f32 " << f32 << ", int4 "
      << int4 << ", int4 after QAT " << after_qat << "\n" << qat_log.str();
}

}  // namespace
}  // namespace gw
