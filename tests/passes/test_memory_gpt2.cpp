// test_memory_gpt2.cpp — lab 07's memory prediction on the gpt2-small preset's shapes (12
// layers, 12 heads, h 768, i 2048, the 65-character vocabulary, 85 million weights): one
// training step (forward, backward, AdamW) of one row of 64 tokens, run with the allocator
// watching; the prediction from the schedule must be within 5% of the measured peak, with and
// without activation checkpointing, and the gradients must agree bit for bit. About 1.4 GB.
#include <gtest/gtest.h>

#include "counting_testing.h"

namespace gw {
namespace {

ModelShape gpt2_small() { return labs::model_of(12, 12, 768, 2048, 65, 1024); }

TEST(PeakMemoryGpt2Small, PredictedWithin5PercentOfMeasuredWithAndWithoutCheckpointing) {
  const labs::MeasuredStep plain = labs::measure_training_step(gpt2_small(), 1, 64, false);
  const labs::MeasuredStep ckpt = labs::measure_training_step(gpt2_small(), 1, 64, true);
  for (const labs::MeasuredStep* run : {&plain, &ckpt}) {
    EXPECT_TRUE(labs::within(run == &plain ? "plain" : "checkpointed",
                             static_cast<double>(run->predicted.total()),
                             static_cast<double>(run->measured_peak), 0.05));
    EXPECT_EQ(run->predicted.persistent(), run->measured_persistent);
    EXPECT_EQ(run->predicted.optimizer_state, 2 * run->predicted.weights) << "AdamW's m and v";
  }
  EXPECT_TRUE(labs::bit_identical(plain.grads, ckpt.grads));
}

TEST(PeakMemoryGpt2Small, CheckpointingCutsActivationMemoryAsTheFormulaSays) {
  const LlamaShape l = labs::letters_of(gpt2_small(), 1, 256);
  const double plain =
      static_cast<double>(labs::measure_activation_memory(gpt2_small(), 1, 256, false));
  const double ckpt =
      static_cast<double>(labs::measure_activation_memory(gpt2_small(), 1, 256, true));
  EXPECT_TRUE(labs::within("saving", plain - ckpt,
                           4 * (llama_activation_elements(l, false) -
                                llama_activation_elements(l, true)),
                           0.10));
}

}  // namespace
}  // namespace gw
