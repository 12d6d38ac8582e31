// test_quantized_model.cpp — quantized models as files and in training: a quantized checkpoint
// round-trips and its model computes with the codes; a checkpoint of the wrong kind or a
// corrupt one is a clear error; quantization-aware training runs through the fake-quantized
// weights and ends with a quantized checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gw/executor.h"
#include "gw/quantized_model.h"
#include "gw/trainer.h"
#include "model_testing.h"

namespace gw {
namespace {

using testing::TempDir;
using testing::tiny_config;

// A briefly trained tiny model and its checkpoint.
struct Trained {
  TempDir dir;
  TrainConfig config = tiny_config(dir);
  std::string ckpt;
  Trained() {
    config.max_iters = 6;
    std::ostringstream log;
    run_training(config, log);
    ckpt = config.out_dir + "/ckpt.bin";
  }
};

// Logits of `model` on fixed ids.
std::vector<double> logits_of(Graph& g, const Transformer& model) {
  const int64_t s = model.shape.block_size;
  Node* ids = g.input("ids", {1, s}, DType::i32);
  Tensor feed = Tensor::zeros({1, s}, DType::i32);
  for (int64_t i = 0; i < s; ++i) feed.data<int32_t>()[i] = static_cast<int32_t>(i % 5);
  return eval(model.logits(ids), {{ids, feed}}).to_doubles();
}

TEST(QuantizedCheckpoint, RoundTripsAndItsModelComputesWithTheCodes) {
  Trained t;
  const Checkpoint trained = read_checkpoint(t.ckpt);
  for (WeightScheme scheme : {WeightScheme::int8_channel, WeightScheme::int4_group, WeightScheme::kmeans4}) {
    Graph g;
    const Transformer m = load_model(g, trained, nullptr);
    const std::vector<QuantizedWeight> q = quantize_model_weights(quantizable_weights(m), scheme);
    // The reference values: the trained model with each weight replaced by its dequantized form.
    for (size_t i = 0; i < q.size(); ++i) quantizable_weights(m)[i]->value.copy_from(q[i].dequantized());
    const std::vector<double> want = logits_of(g, m);
    const std::string path = t.dir.file(std::string("q-") + weight_scheme_name(scheme) + ".bin");
    write_checkpoint(path, quantized_checkpoint(trained, m, scheme, q));
    const Checkpoint back = read_checkpoint(path);
    ASSERT_TRUE(is_quantized_checkpoint(back));
    Graph g2;
    const Transformer qm = load_model(g2, back, nullptr);
    EXPECT_NE(qm.blocks[0].wq->op, Op::Parameter)
        << "the loaded model reads its weights through nodes computing them from the codes";
    const std::vector<double> got = logits_of(g2, qm);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-4) << weight_scheme_name(scheme) << " logit " << i;
    const auto trained_bytes = std::filesystem::file_size(t.ckpt);
    EXPECT_LT(std::filesystem::file_size(path), trained_bytes / 3)
        << "a quantized checkpoint holds no optimizer state and packed codes";
  }
}

TEST(QuantizedCheckpoint, WrongKindAndCorruptFilesAreClearErrors) {
  Trained t;
  const Checkpoint trained = read_checkpoint(t.ckpt);
  Graph g;
  const Transformer m = load_model(g, trained, nullptr);
  try {
    read_quantized_weights(trained, m);
    FAIL() << "a trainer checkpoint is not a quantized one";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not a quantized checkpoint"), std::string::npos) << e.what();
  }
  const std::string path = t.dir.file("q.bin");
  write_checkpoint(path, quantized_checkpoint(trained, m, WeightScheme::int4_group,
                                              quantize_model_weights(quantizable_weights(m),
                                                                     WeightScheme::int4_group)));
  TrainConfig resume = t.config;
  Trainer trainer(resume, TextDataset::from_file(resume.data));
  EXPECT_THROW(trainer.restore(read_checkpoint(path)), IoError)
      << "a quantized checkpoint cannot resume training";
  Checkpoint missing = read_checkpoint(path);
  missing.tensors.erase(missing.tensors.begin() + static_cast<long>(missing.tensors.size()) - 1);
  Graph g2;
  try {
    load_model(g2, missing, nullptr);
    FAIL() << "a missing codebook or scale must be named";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("lm_head"), std::string::npos) << e.what();
  }
  {  // a flipped byte: the checksum names the file
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x55');
  }
  EXPECT_THROW(read_checkpoint(path), IoError);
}

TEST(QuantizationAwareTraining, TrainsThroughFakeQuantizedWeightsAndWritesTheQuantizedModel) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.max_iters = 8, c.eval_interval = 4, c.qat = "int4-g32";
  std::ostringstream log;
  const TrainSummary sum = run_training(c, log);
  ASSERT_FALSE(sum.evals.empty());
  EXPECT_TRUE(std::isfinite(sum.evals.back().val_loss)) << log.str();
  const Checkpoint q = read_checkpoint(c.out_dir + "/quantized.bin");
  EXPECT_TRUE(is_quantized_checkpoint(q));
  EXPECT_EQ(q.meta.value("scheme", ""), "int4-g32");
  // The val loss that training reports is the quantized model's: same weights, same codes.
  Trainer plain(checkpoint_config(read_checkpoint(c.out_dir + "/ckpt.bin")),
                TextDataset::from_file(c.data));
  plain.restore(read_checkpoint(c.out_dir + "/ckpt.bin"));
  const std::vector<Node*> w = quantizable_weights(plain.model());
  const std::vector<QuantizedWeight> codes = quantize_model_weights(w, WeightScheme::int4_group);
  for (size_t i = 0; i < w.size(); ++i) w[i]->value.copy_from(codes[i].dequantized());
  EXPECT_NEAR(plain.evaluate().val_loss, sum.evals.back().val_loss, 1e-4);
}

TEST(QuantizationAwareTraining, KMeansAndUnknownSchemesAreRefused) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.qat = "kmeans4";
  EXPECT_THROW(c.validate(), UsageError);
  c.qat = "int3";
  EXPECT_THROW(c.validate(), UsageError);
}

}  // namespace
}  // namespace gw
