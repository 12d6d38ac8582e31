// sampler_test.cpp — batches are pure functions of (seed, step, micro): reproducible, varied,
// equal after a "resume", with targets shifted by one; and the synthetic corpora.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "gw/data.h"
#include "gw/error.h"

namespace gw {
namespace {

std::vector<int32_t> ramp(int32_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

std::vector<int32_t> values(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  return std::vector<int32_t>(p, p + t.numel());
}

TEST(Sampler, BatchHasShapeBatchByBlockAndI32) {
  const auto tokens = ramp(1000);
  const Batch b = BatchSampler(tokens, Split::train, 16, 4, 1).get(0);
  EXPECT_EQ(b.x.shape(), (Shape{4, 16}));
  EXPECT_EQ(b.y.shape(), (Shape{4, 16}));
  EXPECT_EQ(b.x.dtype(), DType::i32);
}

TEST(Sampler, TargetsAreInputsShiftedByOne) {
  const auto tokens = ramp(1000);  // token at position p is p, so y must be x + 1
  const Batch b = BatchSampler(tokens, Split::train, 8, 5, 3).get(7);
  const auto x = values(b.x), y = values(b.y);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i] + 1) << "element " << i;
  for (int r = 0; r < 5; ++r)  // each row is a contiguous window
    for (int t = 1; t < 8; ++t) EXPECT_EQ(x[r * 8 + t], x[r * 8 + t - 1] + 1);
}

TEST(Sampler, SameSeedAndStepGiveIdenticalBatch) {
  const auto tokens = ramp(5000);
  const BatchSampler a(tokens, Split::train, 32, 8, 42), b(tokens, Split::train, 32, 8, 42);
  EXPECT_EQ(values(a.get(17, 2).x), values(b.get(17, 2).x));
}

TEST(Sampler, DifferentStepsMicroStepsSeedsAndSplitsDiffer) {
  const auto tokens = ramp(100000);
  const BatchSampler s(tokens, Split::train, 32, 8, 42);
  EXPECT_NE(s.offsets(0), s.offsets(1));
  EXPECT_NE(s.offsets(5, 0), s.offsets(5, 1));
  EXPECT_NE(s.offsets(5), BatchSampler(tokens, Split::train, 32, 8, 43).offsets(5));
  EXPECT_NE(s.offsets(5), BatchSampler(tokens, Split::val, 32, 8, 42).offsets(5));
}

TEST(Sampler, ResumedSamplerDrawsTheUninterruptedBatches) {
  const auto tokens = ramp(20000);
  const BatchSampler run(tokens, Split::train, 16, 4, 9);
  std::vector<std::vector<int32_t>> uninterrupted;
  for (uint64_t step = 0; step < 20; ++step) uninterrupted.push_back(values(run.get(step, 1).x));
  // A new process resuming at step 10 knows only the seed and the step.
  const BatchSampler resumed(tokens, Split::train, 16, 4, 9);
  for (uint64_t step = 10; step < 20; ++step)
    EXPECT_EQ(values(resumed.get(step, 1).x), uninterrupted[step]) << "step " << step;
}

TEST(Sampler, OffsetsStayInRangeAndReachTheEnd) {
  const auto tokens = ramp(40);
  const BatchSampler s(tokens, Split::train, 30, 64, 1);
  std::set<int64_t> seen;
  for (uint64_t step = 0; step < 50; ++step)
    for (int64_t o : s.offsets(step)) {
      ASSERT_GE(o, 0);
      ASSERT_LE(o, 40 - 30 - 1);
      seen.insert(o);
    }
  EXPECT_EQ(seen.size(), 10u) << "all 10 valid starts should occur";
}

TEST(Sampler, BlockLongerThanSplitIsClearError) {
  const auto tokens = ramp(10);
  EXPECT_NO_THROW(BatchSampler(tokens, Split::val, 9, 1, 1));
  try {
    BatchSampler(tokens, Split::val, 10, 1, 1);
    FAIL() << "block 10 needs 11 tokens";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("val"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("block_size"), std::string::npos) << e.what();
  }
}

TEST(Sampler, EvalBatchesAreFixedAndDifferFromTraining) {
  const auto tokens = ramp(50000);
  const BatchSampler s(tokens, Split::val, 16, 4, 5);
  const auto e1 = s.eval_batches(3), e2 = BatchSampler(tokens, Split::val, 16, 4, 5).eval_batches(3);
  ASSERT_EQ(e1.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(values(e1[i].x), values(e2[i].x));
  EXPECT_NE(values(e1[0].x), values(e1[1].x));
  EXPECT_NE(values(e1[0].x), values(s.get(0).x));
}

TEST(Synthetic, ArithmeticLinesAreCorrectSums) {
  const std::string text = synthetic_arithmetic(5000, 1);
  EXPECT_EQ(text.size(), 5000u);
  size_t start = 0, lines = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1, ++lines) {
    const std::string line = text.substr(start, nl - start);
    int a, b, c;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d+%d=%d", &a, &b, &c), 3) << line;
    EXPECT_EQ(a + b, c) << line;
  }
  EXPECT_GT(lines, 400u);
  EXPECT_EQ(synthetic_arithmetic(5000, 1), text) << "same seed, same corpus";
  EXPECT_NE(synthetic_arithmetic(5000, 2), text);
}

TEST(Synthetic, GrammarUsesOnlyItsWords) {
  const std::string text = synthetic_grammar(20000, 3);
  EXPECT_EQ(text.size(), 20000u);
  EXPECT_LE(CharTokenizer::from_text(text).vocab_size(), 30);
  EXPECT_NE(text.find("the "), std::string::npos);
  EXPECT_NE(text.find(".\n"), std::string::npos);
}

TEST(Synthetic, GrammarEntropyIsStableAndPlausible) {
  const double h1 = grammar_entropy_nats_per_char(20000, 1);
  const double h2 = grammar_entropy_nats_per_char(20000, 2);
  EXPECT_NEAR(h1, h2, 0.01) << "estimate should not depend on the seed";
  EXPECT_GT(h1, 0.05);
  EXPECT_LT(h1, std::log(26.0)) << "must be below a uniform letter model";
}

TEST(Synthetic, GrammarEntropyEstimateMatchesExactValue) {
  const double exact = grammar_entropy_exact_nats_per_char();
  EXPECT_NEAR(grammar_entropy_nats_per_char(50000, 4), exact, 0.005)
      << "the sampled estimate should converge to the closed form";
}

TEST(Synthetic, UnknownKindIsUsageError) {
  EXPECT_THROW(synthetic_corpus("poetry", 10, 1), UsageError);
  EXPECT_THROW(synthetic_corpus("grammar", 0, 1), UsageError);
}

}  // namespace
}  // namespace gw
