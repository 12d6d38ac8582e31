// counting_testing.h — what lab 07's public and hidden tests share: run one training step of
// the reference model with the allocator watching, so that the prediction of
// gw::predict_memory can be compared with the measured peak, and the gradients with and
// without activation checkpointing can be compared bit by bit; and measure the activation
// memory of a forward and backward pass. The LAB_EXPECT_* checks behave as the gtest macros
// they are named after and, graded, send the number the lab's code computed to the judge.
#pragma once

#include <gtest/gtest.h>
#include <time.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gw/allocator.h"
#include "gw/cost_model.h"
#include "gw/executor.h"
#include "gw/memory_estimate.h"
#include "gw/ops.h"
#include "gw/optim.h"
#include "gw/rng.h"
#include "gw/trainer.h"
#include "gw/training_step.h"
#include "gw/transformer_costs.h"
#include "observe.h"

namespace gw::labs {

/// A model of `layers` blocks, `heads` heads, width `width`, SwiGLU width `mlp`, vocabulary
/// `vocab` and context `context`.
inline ModelShape model_of(int64_t layers, int64_t heads, int64_t width, int64_t mlp, int64_t vocab,
                           int64_t context) {
  ModelShape m;
  m.n_layer = layers, m.n_head = heads, m.n_embd = width, m.mlp_hidden = mlp;
  m.vocab_size = vocab, m.block_size = context;
  return m;
}

/// The trainer's cpu-tiny model: 4 layers, 4 heads, h 128, i 352, s 64, with tinyshakespeare's
/// 65 characters.
inline ModelShape cpu_tiny() { return model_of(4, 4, 128, 352, 65, 64); }

/// The course's letters of a model and a batch.
inline LlamaShape letters_of(const ModelShape& m, int64_t b, int64_t s) {
  return {b, s, m.n_embd, m.n_head, m.mlp_hidden, m.vocab_size, m.n_layer};
}

/// One measured training step (gw/training_step.h).
using MeasuredStep = gw::MeasuredStep;

/// Builds one training step (forward, backward, AdamW) of `shape` on a batch of b rows of s
/// tokens, predicts its memory, runs it once with the allocator watching, and keeps the
/// gradients. Token ids come from `seed`.
inline MeasuredStep measure_training_step(const ModelShape& shape, int64_t b, int64_t s,
                                          bool checkpoint, uint64_t seed = 7) {
  set_thread_count(1);  // small GEMMs: one thread is fastest, and a loaded machine stays fast
  TrainingStepOptions options;
  options.batch = b;
  options.sequence = s;
  options.checkpoint_activations = checkpoint;
  return gw::measure_training_step(shape, options, seed);
}

/// Whether two lists of f32 gradients are equal bit for bit.
inline ::testing::AssertionResult bit_identical(const std::vector<Tensor>& a,
                                                const std::vector<Tensor>& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << a.size() << " gradients against " << b.size();
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].numel() != b[k].numel() ||
        std::memcmp(a[k].data<float>(), b[k].data<float>(),
                    static_cast<size_t>(a[k].numel()) * sizeof(float)) != 0) {
      observe::count("first gradient that differs", static_cast<int64_t>(k));
      return ::testing::AssertionFailure() << "gradient " << k << " differs";
    }
  observe::count("gradients compared bit for bit", static_cast<int64_t>(a.size()));
  return ::testing::AssertionSuccess();
}

/// The activation memory of a forward and backward pass, measured
/// (gw::measure_activation_memory): bytes above the weights and the batch, with each
/// gradient reduced to a number as soon as it is made.
inline int64_t measure_activation_memory(const ModelShape& shape, int64_t b, int64_t s,
                                         bool checkpoint, uint64_t seed = 7) {
  set_thread_count(1);
  TrainingStepOptions options;
  options.batch = b;
  options.sequence = s;
  options.checkpoint_activations = checkpoint;
  options.seed = seed;
  return gw::measure_activation_memory(shape, options, seed);
}

/// CPU seconds the calling thread has used: a timing that a loaded machine does not stretch.
inline double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// |a − b| ≤ tolerance·b, with a message giving both numbers and the ratio. Graded, `a` is
/// observed within twice the tolerance of the reference's.
inline ::testing::AssertionResult within(const std::string& what, double a, double b,
                                         double tolerance) {
  observe::value(what, a, 0, 2 * tolerance);
  const double ratio = b != 0 ? a / b : 0.0;
  if (b > 0 && std::abs(a - b) <= tolerance * b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << a << " against " << b << " (ratio "
                                       << ratio << ", allowed 1 ± " << tolerance << ")";
}

/// `got` == `want` (as doubles: every count here is below 2⁵³). Graded, `got` is observed as
/// a number under `what`, to 1e-12 relative (the same sum taken in another order).
inline ::testing::AssertionResult equal(const std::string& what, double got, double want) {
  observe::value(what, got, 0, 1e-12);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " is " << got << ", expected " << want;
}

/// |got − want| ≤ tol. Graded, `got` is observed within 2·tol of the reference's.
inline ::testing::AssertionResult near_number(const std::string& what, double got, double want,
                                              double tol) {
  observe::value(what, got, 2 * tol, 0);
  if (std::abs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " is " << got << ", expected " << want << " ± " << tol;
}

/// `got` ⋚ `bound` as `relation` says ("<", "<=", ">", ">="). Graded, `got` is observed to
/// 1e-9 relative: the reference computes the same count.
inline ::testing::AssertionResult bounded(const std::string& what, double got,
                                          const std::string& relation, double bound) {
  observe::value(what, got, 0, 1e-9);
  const bool ok = relation == "<"    ? got < bound
                  : relation == "<=" ? got <= bound
                  : relation == ">"  ? got > bound
                                     : got >= bound;
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " is " << got << ", expected " << relation << " " << bound;
}

}  // namespace gw::labs

#define LAB_EXPECT_EQ(got, want) \
  EXPECT_TRUE(::gw::labs::equal(#got, static_cast<double>(got), static_cast<double>(want)))
#define LAB_EXPECT_NEAR(got, want, tol) \
  EXPECT_TRUE(                          \
      ::gw::labs::near_number(#got, static_cast<double>(got), static_cast<double>(want), tol))
#define LAB_EXPECT_GT(got, bound) \
  EXPECT_TRUE(::gw::labs::bounded(#got, static_cast<double>(got), ">", static_cast<double>(bound)))
#define LAB_EXPECT_GE(got, bound) \
  EXPECT_TRUE(::gw::labs::bounded(#got, static_cast<double>(got), ">=", static_cast<double>(bound)))
#define LAB_EXPECT_LT(got, bound) \
  EXPECT_TRUE(::gw::labs::bounded(#got, static_cast<double>(got), "<", static_cast<double>(bound)))
#define LAB_EXPECT_LE(got, bound) \
  EXPECT_TRUE(::gw::labs::bounded(#got, static_cast<double>(got), "<=", static_cast<double>(bound)))
