// test_half_exhaustive.cpp — the reference's f32 -> f16 and f32 -> bf16 conversions on all 2³²
// f32 bit patterns: f16 against the F16C instruction vcvtps2ph, bf16 against the nearer of
// its two bf16 neighbours (ties to even) computed in float arithmetic. About a minute of CPU
// time, hence the slow label; lab 06's graded tests cover every rounding case of every
// binade instead.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "gw/dtype.h"

namespace gw {
namespace {

__attribute__((target("f16c"))) uint16_t hardware_f16(float x) {
  return static_cast<uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}

uint16_t nearest_bf16(uint32_t u) {
  const float x = float_of(u);
  if (std::isnan(x)) return static_cast<uint16_t>((u >> 16) | 0x40u);
  const uint32_t lo = u >> 16;
  if ((u & 0xffffu) == 0) return static_cast<uint16_t>(lo);
  const uint32_t up = (lo & 0x7fffu) + 1;
  const double a = std::fabs(static_cast<double>(float_of(lo << 16)));
  const double b = up >= 0x7f80u ? std::ldexp(1.0, 128)
                                 : std::fabs(static_cast<double>(float_of(up << 16)));
  const double ax = std::fabs(static_cast<double>(x));
  const bool away = ax - a > b - ax || (ax - a == b - ax && (lo & 1u));
  return static_cast<uint16_t>(away ? ((lo & 0x8000u) | up) : lo);
}

TEST(HalfExhaustive, F16OfEveryF32PatternMatchesVcvtps2ph) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "this CPU has no F16C";
  int64_t wrong = 0;
#pragma omp parallel for reduction(+ : wrong) schedule(static)
  for (int64_t hi = 0; hi < 65536; ++hi)
    for (uint32_t lo = 0; lo < 65536; ++lo) {
      const float x = float_of(static_cast<uint32_t>(hi << 16) | lo);
      wrong += float_to_f16_bits(x) != hardware_f16(x);
    }
  EXPECT_EQ(wrong, 0);
}

TEST(HalfExhaustive, Bf16OfEveryF32PatternIsTheNearestTiesToEven) {
  int64_t wrong = 0;
#pragma omp parallel for reduction(+ : wrong) schedule(static)
  for (int64_t hi = 0; hi < 65536; ++hi)
    for (uint32_t lo = 0; lo < 65536; ++lo) {
      const uint32_t u = static_cast<uint32_t>(hi << 16) | lo;
      wrong += float_to_bf16_bits(float_of(u)) != nearest_bf16(u);
    }
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace gw
