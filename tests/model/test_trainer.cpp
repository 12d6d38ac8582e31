// test_trainer.cpp — the trainer end to end on a synthetic corpus: a short run lowers the
// loss, a resumed run is bit-identical to an uninterrupted one, gradient accumulation over
// k micro-batches equals one batch k times larger, and bad input gives one clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "gw/checkpoint.h"
#include "gw/error.h"
#include "gw/trainer.h"
#include "model_testing.h"

namespace gw {
namespace {

using gw::testing::TempDir;
using gw::testing::tiny_config;

TEST(Trainer, FiftyStepsLowerTheLoss) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  std::ostringstream log;
  const TrainSummary s = run_training(c, log);
  ASSERT_EQ(s.steps.size(), 50u) << log.str();
  ASSERT_GE(s.evals.size(), 2u) << log.str();
  EXPECT_LT(s.evals.back().val_loss, s.evals.front().val_loss - 0.5) << log.str();
  EXPECT_LT(s.steps.back().loss, s.steps.front().loss) << log.str();
  // The initial loss of a fresh model is about log(vocab).
  EXPECT_NEAR(s.evals.front().val_loss, std::log(22.0), 0.3);
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/ckpt.bin"));
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/metrics.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/summary.json"));
}

TEST(Trainer, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  TempDir dir;
  TrainConfig full = tiny_config(dir);
  full.max_iters = 20, full.eval_interval = 5;
  full.out_dir = dir.file("full");
  std::ostringstream log;
  const TrainSummary a = run_training(full, log);

  TrainConfig first = full;
  first.out_dir = dir.file("part");
  first.stop_at = 10;
  const TrainSummary b1 = run_training(first, log);
  ASSERT_EQ(b1.steps.size(), 10u);
  TrainConfig second = full;
  second.out_dir = dir.file("part");
  second.resume = dir.file("part") + "/ckpt.bin";
  const TrainSummary b2 = run_training(second, log);
  ASSERT_EQ(b2.steps.size(), 10u) << log.str();

  for (size_t i = 0; i < 20; ++i) {
    const StepStats& x = a.steps[i];
    const StepStats& y = i < 10 ? b1.steps[i] : b2.steps[i - 10];
    ASSERT_EQ(x.step, y.step);
    EXPECT_EQ(std::memcmp(&x.loss, &y.loss, sizeof(double)), 0)
        << "step " << x.step << ": " << x.loss << " vs " << y.loss;
    EXPECT_EQ(x.grad_norm, y.grad_norm) << "step " << x.step;
  }
  EXPECT_EQ(a.evals.back().val_loss, b2.evals.back().val_loss);
  const Checkpoint ca = read_checkpoint(full.out_dir + "/ckpt.bin");
  const Checkpoint cb = read_checkpoint(second.resume);
  ASSERT_EQ(ca.tensors.size(), cb.tensors.size());
  for (size_t k = 0; k < ca.tensors.size(); ++k)
    EXPECT_EQ(std::memcmp(ca.tensors[k].second.raw(), cb.tensors[k].second.raw(),
                          ca.tensors[k].second.nbytes()), 0)
        << ca.tensors[k].first << " differs after resume";
}

TEST(Trainer, GradientAccumulationEqualsOneLargerBatch) {
  TempDir dir;
  TrainConfig big = tiny_config(dir);
  big.batch_size = 4;
  TrainConfig acc = big;
  acc.batch_size = 2, acc.grad_accum = 2;
  Trainer one(big, TextDataset::from_file(big.data));
  Trainer two(acc, TextDataset::from_file(acc.data));
  BatchSampler sampler(one.data().train, Split::train, big.block_size, 4, 5);
  for (int step = 0; step < 3; ++step) {
    const Batch b = sampler.get(static_cast<uint64_t>(step));
    // The same 4 rows as one batch, and as two micro-batches of 2.
    auto half = [&](const Tensor& t, int64_t part) {
      Tensor h = Tensor::empty({2, big.block_size}, DType::i32);
      std::memcpy(h.raw(), t.data<int32_t>() + part * 2 * big.block_size, h.nbytes());
      return h;
    };
    const StepStats s1 = one.train_step({b});
    const StepStats s2 = two.train_step({Batch{half(b.x, 0), half(b.y, 0)},
                                         Batch{half(b.x, 1), half(b.y, 1)}});
    EXPECT_NEAR(s1.loss, s2.loss, 1e-5) << "step " << step;
    EXPECT_NEAR(s1.grad_norm, s2.grad_norm, 1e-4 * s1.grad_norm) << "step " << step;
  }
  const std::vector<double> w1 = one.model().lm_head->value.to_doubles();
  const std::vector<double> w2 = two.model().lm_head->value.to_doubles();
  for (size_t i = 0; i < w1.size(); ++i) ASSERT_NEAR(w1[i], w2[i], 1e-5) << "lm_head[" << i << "]";
}

template <typename E>
void expect_error(const TrainConfig& c, const std::string& words) {
  std::ostringstream log;
  try {
    run_training(c, log);
    ADD_FAILURE() << "accepted; expected an error with '" << words << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Trainer, MissingOrEmptyDatasetIsAnIoError) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.data = dir.file("nope.txt");
  expect_error<IoError>(c, "nope.txt");
  gw::testing::write_text(dir.file("empty.txt"), "");
  c.data = dir.file("empty.txt");
  expect_error<IoError>(c, "empty");
}

TEST(Trainer, BlockLongerThanTheDataIsAUsageError) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  gw::testing::write_text(dir.file("short.txt"), "hello world, a short text\n");
  c.data = dir.file("short.txt");
  expect_error<UsageError>(c, "block_size");
}

TEST(Trainer, ZeroSizesAreUsageErrors) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.batch_size = 0;
  expect_error<UsageError>(c, "batch_size");
  c = tiny_config(dir);
  c.n_layer = -1;
  expect_error<UsageError>(c, "n_layer");
}

TEST(Trainer, UnwritableOutputFolderIsAnIoError) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  gw::testing::write_text(dir.file("a_file"), "x");
  c.out_dir = dir.file("a_file") + "/sub";  // a folder inside a regular file
  expect_error<IoError>(c, "output folder");
}

TEST(Trainer, CorruptResumeCheckpointIsRefusedBeforeTraining) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  gw::testing::write_text(dir.file("bad.bin"), "GWCKPT but not really");
  c.resume = dir.file("bad.bin");
  expect_error<IoError>(c, "bad.bin");
}

TEST(Trainer, GraphFlopCountIsAboutThreeTimesTheForwardFormula) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  Trainer t(c, TextDataset::from_file(c.data));
  const double forward = forward_flops_per_token(t.model().shape, c.block_size);
  // Backward costs about twice the forward (lab 07); the optimizer adds a little.
  EXPECT_GT(t.flops_per_token(), 2.5 * forward);
  EXPECT_LT(t.flops_per_token(), 4.0 * forward);
}

}  // namespace
}  // namespace gw
