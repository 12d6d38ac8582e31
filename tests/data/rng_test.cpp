// rng_test.cpp — Philox4x32-10 against Random123's published known-answer vectors, and the
// statistical sanity of the uniform, integer and normal helpers built on it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gw/rng.h"

namespace gw {
namespace {

void expect_block(const Philox4x32Block& got, const uint32_t (&want)[4], const char* name) {
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(got.v[i], want[i]) << name << ": word " << i << " is 0x" << std::hex << got.v[i]
                                 << ", Random123 kat_vectors says 0x" << want[i];
}

// Vectors from Random123's tests/kat_vectors ("philox4x32 10 CTR[4] KEY[2] -> OUT[4]").
TEST(Philox, MatchesKnownAnswerForZeroCounterAndKey) {
  const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
  expect_block(philox4x32({{0, 0, 0, 0}}, {{0, 0}}), want, "zeros");
}

TEST(Philox, MatchesKnownAnswerForAllOnesCounterAndKey) {
  const uint32_t m = 0xffffffffu;
  const uint32_t want[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
  expect_block(philox4x32({{m, m, m, m}}, {{m, m}}), want, "all ones");
}

TEST(Philox, MatchesKnownAnswerForPiDigits) {
  const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
  expect_block(philox4x32({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
                          {{0xa4093822, 0x299f31d0}}),
               want, "pi digits");
}

TEST(Philox, UniformFloatIsInUnitIntervalWithMeanOneHalf) {
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = uniform_float(7, 0, static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);  // std of the mean is 0.29/sqrt(n) = 0.00065
}

TEST(Philox, DifferentStreamsGiveDifferentNumbers) {
  int same = 0;
  for (uint64_t i = 0; i < 1000; ++i) same += uniform_float(7, 0, i) == uniform_float(7, 1, i);
  EXPECT_LT(same, 5) << "streams 0 and 1 of one seed should be unrelated";
}

TEST(Philox, UniformIntCoversRangeEvenly) {
  const uint64_t n = 10;
  std::vector<int> counts(n, 0);
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    const uint64_t k = uniform_int(3, 0, static_cast<uint64_t>(i), n);
    ASSERT_LT(k, n);
    ++counts[k];
  }
  for (uint64_t k = 0; k < n; ++k)  // expected 10000, std ~95
    EXPECT_NEAR(counts[k], draws / n, 500) << "value " << k;
}

TEST(Philox, UniformIntHandlesLargeAndUnitRanges) {
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(uniform_int(1, 0, i, 1), 0u);
  const uint64_t big = (uint64_t{1} << 40) + 3;
  uint64_t max_seen = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint64_t k = uniform_int(1, 0, i, big);
    ASSERT_LT(k, big);
    max_seen = std::max(max_seen, k);
  }
  EXPECT_GT(max_seen, big / 2) << "a 2^40 range should reach its upper half in 1000 draws";
}

TEST(Philox, UniformBelowIsHighHalfOfExactProduct) {
#ifdef __SIZEOF_INT128__
  for (uint64_t i = 0; i < 10000; ++i) {
    const Philox4x32Block b = philox_words(5, 0, i);
    const uint64_t n = (static_cast<uint64_t>(philox_words(6, 0, i).v[0]) << (i % 33)) | 1;
    const uint64_t w = (static_cast<uint64_t>(b.v[1]) << 32) | b.v[0];
    const auto want = static_cast<uint64_t>((static_cast<unsigned __int128>(w) * n) >> 64);
    ASSERT_EQ(uniform_below(b, n), want) << "w=" << w << " n=" << n;
  }
#else
  GTEST_SKIP() << "no 128-bit integers on this compiler to check against";
#endif
}

TEST(Philox, NormalHasMeanZeroAndUnitVariance) {
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = normal_float(11, 0, static_cast<uint64_t>(i));
    ASSERT_TRUE(std::isfinite(z));
    s += z;
    s2 += z * z;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n - (s / n) * (s / n), 1.0, 0.02);
}

}  // namespace
}  // namespace gw
