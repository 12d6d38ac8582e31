// test_lab08.cpp — public tests of lab 08 (flash attention on the CPU): output, log-sum-exp
// and gradients equal attention's (f32 relative 1e-4) at T = 1, 7, 63, 65 and 1000,
// d = 16, 64 and 80, causal and not; q, k, v fused as the trainer passes them; f64 to 1e-10;
// extra memory linear in T with no T×T buffer; bad shapes are errors; and the naive baseline
// (naive attention, forward and backward) against the same oracle. The oracle is attention
// composed of primitive ops in f64 (labs/common/attention_testing.h): neither your naive
// kernel nor your flash kernel.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "attention_testing.h"
#include "gw/error.h"
#include "observe.h"

namespace gw {
namespace {

using labs::flash_matches_naive;
using labs::random_case;

// Every d and mask at one T, in f32.
::testing::AssertionResult all_match_at(int64_t t) {
  for (int64_t d : {16, 64, 80})
    for (bool causal : {false, true}) {
      ::testing::AssertionResult r =
          flash_matches_naive(random_case({1, 2, t, d}, causal, DType::f32, 10 * t + d), 1e-4);
      if (!r) return r;
    }
  return ::testing::AssertionSuccess();
}

TEST(Lab08, MatchesNaiveAtT1) { EXPECT_TRUE(all_match_at(1)); }
TEST(Lab08, MatchesNaiveAtT7) { EXPECT_TRUE(all_match_at(7)); }
TEST(Lab08, MatchesNaiveAtT63) { EXPECT_TRUE(all_match_at(63)); }
TEST(Lab08, MatchesNaiveAtT65) { EXPECT_TRUE(all_match_at(65)); }
TEST(Lab08, MatchesNaiveAtT1000) { EXPECT_TRUE(all_match_at(1000)); }

// The trainer computes q, k, v with one GEMM and passes them fused, (b, s, 3, n, d): the same
// kernels then see rows 3·n·d apart (Flash::ld), and the gradients land side by side.
TEST(Lab08, FusedQkvAsTheTrainerPassesItMatchesNaive) {
  for (int64_t t : {7, 65})
    for (bool causal : {false, true})
      EXPECT_TRUE(labs::fused_flash_matches_naive(
          random_case({2, 3, t, 16}, causal, DType::f32, 40 + t), 1e-4));
}

TEST(Lab08, F64MatchesNaiveTo1e10AcrossTileEdges) {
  for (int64_t t : {2, 64, 129})
    for (bool causal : {false, true})
      EXPECT_TRUE(flash_matches_naive(random_case({2, 3, t, 8}, causal, DType::f64, 5 + t),
                                      1e-10));
}

// The flash op's own memory (output, gradients and its scratch) grows like T; a T×T f32
// buffer (4·T² bytes) anywhere in the forward or the backward fails the test. A few rows of
// each run's output are checked too (a fast wrong answer is no answer).
TEST(Lab08, ExtraMemoryIsLinearInTWithNoTxTBuffer) {
  std::vector<double> extra;
  for (int64_t t : {1024, 2048, 4096}) {
    const labs::AttentionCase c = random_case({1, 2, t, 16}, true, DType::f32, 7);
    const labs::FlashRun run = labs::flash_peak_extra_bytes(c);
    EXPECT_TRUE(labs::sampled_rows_match(labs::RowOracle(c), run.packed, 4, t, 1e-4));
    EXPECT_TRUE(labs::extra_memory_below("T = " + std::to_string(t), run,
                                         4.0 * static_cast<double>(t * t)))
        << "at least one T×T f32 buffer";
    extra.push_back(static_cast<double>(run.peak_extra_bytes));
  }
  const double growth = extra[2] / std::max(extra[0], 1.0);
  observe::value("extra memory at T = 4096 over T = 1024", growth, 5.0);
  EXPECT_LT(growth, 5.0) << "T×4 multiplied the extra memory by more than 5 (" << extra[0]
                         << " -> " << extra[2] << " bytes): it grows faster than T";
}

// Error checks run after a check of the kernel itself, so untouched stubs fail here too.
TEST(Lab08, BadShapesAreShapeErrorsNamingThem) {
  ASSERT_TRUE(flash_matches_naive(random_case({1, 1, 5, 4}, false, DType::f32, 3), 1e-4));
  Graph g;
  Node* q = g.input("q", {1, 2, 4, 8});
  try {
    flash_attention(q, g.input("k", {1, 2, 4, 16}), q, false);
    observe::no_error("mismatched head dims");
    ADD_FAILURE() << "mismatched head dims: expected gw::ShapeError";
  } catch (const ShapeError& e) {
    observe::error("mismatched head dims", e);
    EXPECT_NE(std::string(e.what()).find("(1, 2, 4, 16)"), std::string::npos) << e.what();
  }
  Node* empty = g.input("e", {1, 0, 2, 8});  // (b, s, n, d) with s = 0
  try {
    flash_attention(empty, empty, empty, true);
    observe::no_error("T = 0");
    ADD_FAILURE() << "T = 0: expected gw::ShapeError";
  } catch (const ShapeError& e) {
    observe::error("T = 0", e);
  }
}

// The naive baseline: softmax(c·q kᵀ + mask) v with its (s, s) scores, and its backward.
TEST(Lab08, NaiveAttentionMatchesTheOracle) {
  for (int64_t t : {1, 7, 65})
    for (int64_t d : {16, 80})
      for (bool causal : {false, true})
        EXPECT_TRUE(labs::naive_matches_oracle(
            random_case({1, 2, t, d}, causal, DType::f32, 100 * t + d + causal), 1e-4));
}

TEST(Lab08, NaiveAttentionF64MatchesTheOracleTo1e10) {
  for (int64_t t : {3, 64, 129})
    for (bool causal : {false, true})
      EXPECT_TRUE(labs::naive_matches_oracle(
          random_case({2, 3, t, 8}, causal, DType::f64, 9 + t + causal), 1e-10));
}

}  // namespace
}  // namespace gw
