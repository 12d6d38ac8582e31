// test_lab06.cpp — public tests of lab 06 (mixed precision): the four conversions on every
// 16-bit pattern and on the formats' landmarks (largest, smallest normal and subnormal,
// ties, overflow, NaN), the accumulation experiment, the bytes per parameter, the dynamic
// loss scaler's state machine and the finiteness check it relies on.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gw/error.h"
#include "gw/mixed_precision.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

bool is_f16_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
bool is_bf16_nan(uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0; }

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

// Expects float_to_*_bits(x) == want; graded, the bits are observed.
::testing::AssertionResult encodes(const std::string& what, uint16_t got, uint16_t want) {
  observe::count(what, got);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": got " << hex(got) << ", expected " << hex(want);
}

// Expects |got − want| ≤ tol; graded, `got` is observed within 2·tol.
::testing::AssertionResult number(const std::string& what, double got, double want, double tol) {
  observe::value(what, got, 2 * tol);
  if (std::abs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " is " << got << ", expected " << want;
}

// ---- conversions -----------------------------------------------------------------------------

TEST(Conversions, EveryF16PatternRoundTripsThroughF32) {
  int64_t wrong = 0, nans = 0;
  uint32_t first_wrong = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t p = static_cast<uint16_t>(h);
    const float f = f16_bits_to_float(p);
    const uint16_t back = float_to_f16_bits(f);
    // A NaN comes back quiet (mantissa bit 9 set), with its sign and payload.
    const uint16_t want = is_f16_nan(p) ? static_cast<uint16_t>(p | 0x200u) : p;
    if (is_f16_nan(p)) nans += std::isnan(f) && std::signbit(f) == ((p & 0x8000u) != 0);
    if (back != want && wrong++ == 0) first_wrong = h;
  }
  observe::count("f16 patterns that do not round-trip", wrong);
  observe::count("f16 NaN patterns read as NaN of their sign", nans);
  EXPECT_EQ(wrong, 0) << "first: " << hex(first_wrong) << " -> "
                      << f16_bits_to_float(static_cast<uint16_t>(first_wrong)) << " -> "
                      << hex(float_to_f16_bits(f16_bits_to_float(static_cast<uint16_t>(first_wrong))));
  EXPECT_EQ(nans, 2 * 1023) << "the 2·1023 NaN patterns read as NaN, with their sign";
}

TEST(Conversions, EveryBf16PatternRoundTripsThroughF32) {
  int64_t wrong = 0, nans = 0;
  uint32_t first_wrong = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t p = static_cast<uint16_t>(h);
    const float f = bf16_bits_to_float(p);
    const uint16_t back = float_to_bf16_bits(f);
    const uint16_t want = is_bf16_nan(p) ? static_cast<uint16_t>(p | 0x40u) : p;
    if (is_bf16_nan(p)) nans += std::isnan(f) && std::signbit(f) == ((p & 0x8000u) != 0);
    if (back != want && wrong++ == 0) first_wrong = h;
  }
  observe::count("bf16 patterns that do not round-trip", wrong);
  observe::count("bf16 NaN patterns read as NaN of their sign", nans);
  EXPECT_EQ(wrong, 0) << "first: " << hex(first_wrong);
  EXPECT_EQ(nans, 2 * 127);
}

TEST(Conversions, TheF16Landmarks) {
  const auto f = [](uint16_t h) { return static_cast<double>(f16_bits_to_float(h)); };
  EXPECT_TRUE(number("largest f16 (0x7bff)", f(0x7bff), 65504, 0));
  EXPECT_TRUE(number("smallest normal f16 (0x0400)", f(0x0400),
                         6.103515625e-05, 0));
  EXPECT_TRUE(number("smallest subnormal f16 (0x0001)", f(0x0001),
                         5.9604644775390625e-08, 0));
  EXPECT_TRUE(number("largest subnormal f16 (0x03ff)", f(0x03ff),
                         6.097555160522461e-05, 0));
  EXPECT_TRUE(number("-2 (0xc000)", f(0xc000), -2, 0));
  EXPECT_TRUE(encodes("65504", float_to_f16_bits(65504.0f), 0x7bff));
  EXPECT_TRUE(encodes("65519 rounds down to 65504", float_to_f16_bits(65519.0f), 0x7bff));
  EXPECT_TRUE(encodes("65520 rounds up past the largest: inf", float_to_f16_bits(65520.0f), 0x7c00));
  EXPECT_TRUE(encodes("-1e6 overflows to -inf", float_to_f16_bits(-1e6f), 0xfc00));
  EXPECT_TRUE(encodes("1 + 2⁻¹¹ is a tie: to even, 1", float_to_f16_bits(1.00048828125f), 0x3c00));
  EXPECT_TRUE(encodes("1 + 3·2⁻¹¹ is a tie: to even, 1 + 2⁻⁹", float_to_f16_bits(1.00146484375f),
                      0x3c02));
  EXPECT_TRUE(encodes("2⁻²⁴ is the smallest subnormal", float_to_f16_bits(5.9604644775390625e-08f),
                      0x0001));
  EXPECT_TRUE(encodes("2⁻²⁵ is a tie between 0 and 2⁻²⁴: to even, 0",
                      float_to_f16_bits(2.98023223876953125e-08f), 0x0000));
  EXPECT_TRUE(encodes("3·2⁻²⁵ is a tie: to even, 2·2⁻²⁴", float_to_f16_bits(8.940696716308594e-08f),
                      0x0002));
  EXPECT_TRUE(encodes("1e-4 is normal", float_to_f16_bits(1e-4f), 0x068e));
  EXPECT_TRUE(encodes("6e-5 is subnormal", float_to_f16_bits(6e-5f), 0x03ef));
  EXPECT_TRUE(encodes("-0 keeps its sign", float_to_f16_bits(-0.0f), 0x8000));
  EXPECT_TRUE(encodes("quiet NaN", float_to_f16_bits(std::numeric_limits<float>::quiet_NaN()),
                      0x7e00));
  EXPECT_TRUE(encodes("a signaling NaN becomes quiet", float_to_f16_bits(float_of(0x7f800001u)),
                      0x7e00));
  EXPECT_TRUE(encodes("a negative NaN stays negative", float_to_f16_bits(float_of(0xffc00000u)),
                      0xfe00));
}

TEST(Conversions, TheBf16Landmarks) {
  EXPECT_TRUE(number("largest bf16 (0x7f7f)", bf16_bits_to_float(0x7f7f),
                         3.3895313892515355e38, 0));
  EXPECT_TRUE(number("smallest subnormal bf16 (0x0001)", bf16_bits_to_float(0x0001), 9.183549615799121e-41, 0));
  EXPECT_TRUE(encodes("1 + 2⁻⁸ is a tie: to even, 1", float_to_bf16_bits(1.00390625f), 0x3f80));
  EXPECT_TRUE(encodes("1 + 3·2⁻⁸ is a tie: to even, 1 + 2⁻⁶", float_to_bf16_bits(1.01171875f),
                      0x3f82));
  EXPECT_TRUE(encodes("just above a tie rounds up", float_to_bf16_bits(float_of(0x3f808001u)),
                      0x3f81));
  EXPECT_TRUE(encodes("the largest f32 rounds up to inf",
                      float_to_bf16_bits(std::numeric_limits<float>::max()), 0x7f80));
  EXPECT_TRUE(encodes("pi", float_to_bf16_bits(3.14159265f), 0x4049));
  EXPECT_TRUE(encodes("-inf", float_to_bf16_bits(-std::numeric_limits<float>::infinity()), 0xff80));
  EXPECT_TRUE(encodes("a signaling NaN becomes quiet", float_to_bf16_bits(float_of(0x7f800001u)),
                      0x7fc0));
  EXPECT_TRUE(encodes("a negative NaN stays negative", float_to_bf16_bits(float_of(0xffc00000u)),
                      0xffc0));
}

// ---- the accumulation experiment ---------------------------------------------------------

TEST(Accumulation, AHundredThousandHundredthsStopGrowingInHalfPrecision) {
  // 0.01 is below half an f16 step from 32 on (steps of 2⁻⁵) and half a bf16 step from 4 on
  // (steps of 2⁻⁵ too: bf16 has 7 mantissa bits).
  const std::vector<AccumulationRow> rows = accumulation_experiment(100000, 0.01f);
  ASSERT_EQ(rows.size(), 4u);
  std::printf("%s", accumulation_table(rows).c_str());
  const RunningSum& f16 = rows[0].result;
  const RunningSum& bf16 = rows[1].result;
  EXPECT_TRUE(number("f16 sum", f16.sum, 32, 0));
  EXPECT_TRUE(number("f16 sum when it stopped", f16.stagnation_sum, 32, 0));
  observe::count("f16 stagnation index", f16.stagnation_index);
  EXPECT_GT(f16.stagnation_index, 1000) << "it stops only when one step is above 0.02";
  EXPECT_LT(f16.stagnation_index, 3200) << "steps of 2⁻⁶ below 32 round 0.01 up to 0.0156";
  EXPECT_TRUE(number("bf16 sum", bf16.sum, 4, 0));
  observe::count("bf16 stagnation index", bf16.stagnation_index);
  const AccumulationRow& mixed = rows[2];
  EXPECT_EQ(mixed.result.stagnation_index, -1) << "an f32 sum of 100000 hundredths keeps growing";
  EXPECT_TRUE(number("f32 sum of f16 hundredths", mixed.result.sum,
                         100000.0 * f16_bits_to_float(float_to_f16_bits(0.01f)), 1.0))
      << "10⁵ f32 adds, each rounded at a step of 2⁻¹⁷ to 2⁻¹⁴ near 1000: the sum drifts by "
         "less than 1";
  EXPECT_LT(mixed.rel_error, 2e-3) << "f16 inputs, f32 sum: within 0.2% of the exact 1000";
  EXPECT_GT(rows[0].rel_error, 0.9) << "the f16 sum is 32 against 1000";
}

TEST(Accumulation, AnF64SumIsExactOnIntegersAndRejectsIntegerDtypes) {
  const RunningSum r = running_sum({1, 2, 3, 4.5f}, DType::f32, DType::f64);
  EXPECT_TRUE(number("f64 sum of 1, 2, 3, 4.5", r.sum, 10.5, 0));
  observe::count("f64 stagnation index", r.stagnation_index);
  EXPECT_EQ(r.stagnation_index, -1);
  const RunningSum z = running_sum({2048, 1, 1, 1}, DType::f16, DType::f16);
  EXPECT_TRUE(number("f16: 2048 + 1 + 1 + 1", z.sum, 2048, 0))
      << "from 2048 f16 steps are 2: adding 1 is a tie, to even";
  observe::count("f16 stagnation index from 2048", z.stagnation_index);
  EXPECT_EQ(z.stagnation_index, 1);
  EXPECT_TRUE(labs::throws<DTypeError>([&] { running_sum({1}, DType::f16, DType::i32); }, "i32",
                                       "an i32 accumulator is rejected"));
}

// ---- bytes per parameter -------------------------------------------------------------------

TEST(Memory, SixteenBytesPerParameterEitherWay) {
  const TrainingBytesPerParameter f32 = training_bytes_per_parameter(DType::f32);
  const TrainingBytesPerParameter bf16 = training_bytes_per_parameter(DType::bf16);
  observe::values("f32: weights, gradients, master, m, v",
                  {f32.weights, f32.gradients, f32.master, f32.adam_m, f32.adam_v});
  observe::values("bf16: weights, gradients, master, m, v",
                  {bf16.weights, bf16.gradients, bf16.master, bf16.adam_m, bf16.adam_v});
  EXPECT_EQ(f32.total(), 16);
  EXPECT_EQ(bf16.weights, 2);
  EXPECT_EQ(bf16.master, 4) << "f32 master weights";
  EXPECT_EQ(bf16.total(), 16) << "2 + 2 + 4 + 4 + 4";
  const double gpt3_gb = 175e9 * bf16.total() / 1e9;
  observe::value("GPT-3 175B training state in GB", gpt3_gb, 0, 1e-12);
  EXPECT_EQ(gpt3_gb, 2800);
}

// ---- the loss scaler ------------------------------------------------------------------------

TEST(LossScaler, BacksOffOnOverflowAndGrowsAfterCleanSteps) {
  DynamicLossScaler defaults;
  EXPECT_EQ(defaults.scale(), 65536) << "starts at 2¹⁶";
  EXPECT_FALSE(defaults.update(false)) << "an overflowing step is skipped";
  EXPECT_EQ(defaults.scale(), 32768);
  for (int i = 0; i < 1999; ++i) defaults.update(true);
  EXPECT_EQ(defaults.scale(), 32768) << "1999 clean steps: not yet";
  EXPECT_TRUE(defaults.update(true));
  observe::value("scale after an overflow and 2000 clean steps", defaults.scale());
  EXPECT_EQ(defaults.scale(), 65536) << "the 2000th clean step doubles it";

  LossScalerOptions o;
  o.initial_scale = 8, o.growth_interval = 3, o.min_scale = 2, o.max_scale = 16;
  DynamicLossScaler s(o);
  const std::vector<bool> finite = {true, true, true, true, false, true, true, false, false,
                                    false, true, true, true, true, true, true, true, true, true};
  std::vector<double> scales;
  std::vector<int64_t> taken;
  for (bool f : finite) {
    taken.push_back(s.update(f));
    scales.push_back(s.scale());
  }
  observe::values("scale after each step", scales);
  observe::indices("steps taken", taken);
  observe::count("skipped steps", s.skipped_steps());
  const std::vector<double> want = {8, 8, 16, 16, 8, 8, 8, 4, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 16};
  EXPECT_EQ(scales, want) << "grows every 3 clean steps in a row, halves on overflow, stays in [2, 16]";
  EXPECT_EQ(s.skipped_steps(), 4);
  EXPECT_EQ(s.clean_steps(), 0);
}

TEST(LossScaler, AllFiniteSeesInfAndNanInEveryFloatingDtype) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<int64_t> got;
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::f64}) {
    const Tensor ok = Tensor::from_values({3}, {1, -2, 1e-3}, t);
    got.push_back(all_finite({ok, ok}));
    got.push_back(all_finite({ok, Tensor::from_values({2, 2}, {1, 2, inf, 4}, t)}));
    got.push_back(all_finite({Tensor::from_values({2}, {nan, 0}, t), ok}));
  }
  got.push_back(all_finite({Tensor::from_values({1}, {1e5}, DType::f32)}));
  got.push_back(all_finite({Tensor::from_values({1}, {1e5}, DType::f16)}));  // 1e5 > 65504
  got.push_back(all_finite({}));
  observe::indices("all_finite of each case", got);
  const std::vector<int64_t> want = {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1};
  EXPECT_EQ(got, want) << "(finite, an inf, a NaN) per dtype; then 1e5 in f32 and in f16; none";
}

}  // namespace
}  // namespace gw
