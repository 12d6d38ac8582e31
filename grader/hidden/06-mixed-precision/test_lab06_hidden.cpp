// test_lab06_hidden.cpp — hidden tests of lab 06: f32 -> f16 and f32 -> bf16 on every rounding
// case of every binade (and on random patterns) against the F16C instruction where the CPU
// has it and against an oracle in double arithmetic otherwise; the
// decoders on every 16-bit pattern; running sums of random values against an oracle; the
// loss scaler with random overflow patterns and settings against a model of its rules;
// all_finite with planted infs and NaNs; the bytes table. Inputs: GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gw/error.h"
#include "gw/mixed_precision.h"
#include "hidden.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

// ---- oracles -------------------------------------------------------------------------------

// Round-to-nearest-even of a finite double to a grid of `quantum` (a power of two): exact.
double round_to_grid(double x, double quantum) { return std::nearbyint(x / quantum) * quantum; }

// f32 -> f16 in double arithmetic, independent of bit tricks.
uint16_t oracle_f16(float x) {
  const uint32_t u = bits_of(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  if (std::isnan(x)) return static_cast<uint16_t>(sign | 0x7e00u | ((u >> 13) & 0x1ffu));
  const double a = std::fabs(static_cast<double>(x));
  if (std::isinf(a)) return static_cast<uint16_t>(sign | 0x7c00u);
  int e = 0;
  std::frexp(a, &e);  // a = f · 2^e, f in [0.5, 1): the leading bit is 2^(e−1)
  const double quantum = std::ldexp(1.0, std::max(e - 1, -14) - 10);
  const double r = round_to_grid(a, quantum);
  if (r > 65504.0) return static_cast<uint16_t>(sign | 0x7c00u);
  if (r < std::ldexp(1.0, -14)) return static_cast<uint16_t>(sign | static_cast<uint16_t>(r / std::ldexp(1.0, -24)));
  int re = 0;
  std::frexp(r, &re);
  const int exponent = re - 1;  // r in [2^exponent, 2^(exponent+1))
  const double mantissa = r / std::ldexp(1.0, exponent - 10) - 1024;
  return static_cast<uint16_t>(sign | ((exponent + 15) << 10) | static_cast<uint16_t>(mantissa));
}

// f32 -> bf16 in double arithmetic: the nearer of the two bf16 neighbours, ties to even.
uint16_t oracle_bf16(float x) {
  const uint32_t u = bits_of(x);
  if (std::isnan(x)) return static_cast<uint16_t>((u >> 16) | 0x40u);
  const uint32_t lo = u >> 16;  // toward zero
  if ((u & 0xffffu) == 0) return static_cast<uint16_t>(lo);
  const double a = std::fabs(static_cast<double>(float_of(lo << 16)));
  const uint32_t up = (lo & 0x7fffu) + 1;  // the next pattern away from zero (may be inf)
  const double b = up >= 0x7f80u ? std::ldexp(1.0, 128) : std::fabs(static_cast<double>(float_of((up | (lo & 0x8000u)) << 16)));
  const double ax = std::fabs(static_cast<double>(x));
  const bool away = ax - a > b - ax || (ax - a == b - ax && (lo & 1u));
  return static_cast<uint16_t>(away ? ((lo & 0x8000u) | up) : lo);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hardware_f16(float x) {
  return static_cast<uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}
bool have_f16c() { return __builtin_cpu_supports("f16c"); }
#else
uint16_t hardware_f16(float x) { return oracle_f16(x); }
bool have_f16c() { return false; }
#endif

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// ---- every rounding case ---------------------------------------------------------------------

// The f32 patterns that decide a rounding: every sign, every exponent and every value of the
// mantissa bits a conversion keeps, each with the dropped bits at 0, 1, just below half,
// half (a tie), just above half, all ones, and two random values. `kept(e)` is the number
// of mantissa bits the target format keeps for an f32 exponent field e. About 4·10⁶
// patterns for f16 and 5·10⁵ for bf16: every tie and every carry of every binade, in well
// under a second. (The reference is checked on all 2³² patterns by a slow unit test.)
template <typename Kept, typename Check>
int64_t rounding_cases(uint64_t seed, Kept kept, Check check) {
  std::mt19937_64 rng(seed);
  int64_t wrong = 0;
  for (uint32_t sign = 0; sign < 2; ++sign)
    for (uint32_t e = 0; e < 256; ++e) {
      const int k = kept(e), dropped = 23 - k;
      const uint32_t half = dropped > 0 ? 1u << (dropped - 1) : 0, all = (1u << dropped) - 1;
      for (uint32_t top = 0; top < (1u << k); ++top) {
        const uint32_t lows[] = {0, 1 & all, half ? half - 1 : 0, half, (half + 1) & all, all,
                                 static_cast<uint32_t>(rng()) & all,
                                 static_cast<uint32_t>(rng()) & all};
        for (uint32_t low : lows)
          wrong += !check((sign << 31) | (e << 23) | (top << dropped) | low);
      }
    }
  return wrong;
}

// Mantissa bits f16 keeps for an f32 exponent field: 10 for normal results, fewer for
// subnormal ones (steps of 2⁻²⁴), none below 2⁻²⁵.
int f16_kept(uint32_t e) {
  if (e >= 113) return 10;
  if (e < 103) return 0;
  return static_cast<int>(e) - 103;
}

TEST(HiddenConversions, F16RoundsEveryCaseAsTheHardwareDoes) {
  SCOPED_TRACE(hidden::seed_note());
  const bool hw = have_f16c();
  uint32_t first = 0;
  bool seen = false;
  const int64_t wrong = rounding_cases(hidden::seed(11), f16_kept, [&](uint32_t p) {
    const float x = float_of(p);
    const bool ok = float_to_f16_bits(x) == (hw ? hardware_f16(x) : oracle_f16(x));
    if (!ok && !seen) seen = true, first = p;
    return ok;
  });
  observe::count("f32 rounding cases whose f16 differs", wrong);
  EXPECT_EQ(wrong, 0) << "first: f32 " << hex(first) << " (" << float_of(first) << ") gave "
                      << float_to_f16_bits(float_of(first)) << ", "
                      << (hw ? "vcvtps2ph" : "the oracle") << " gives "
                      << (hw ? hardware_f16(float_of(first)) : oracle_f16(float_of(first)));
}

TEST(HiddenConversions, Bf16RoundsEveryCaseToNearestEven) {
  SCOPED_TRACE(hidden::seed_note());
  uint32_t first = 0;
  bool seen = false;
  const int64_t wrong = rounding_cases(hidden::seed(12), [](uint32_t) { return 7; },
                                       [&](uint32_t p) {
                                         const float x = float_of(p);
                                         const bool ok = float_to_bf16_bits(x) == oracle_bf16(x);
                                         if (!ok && !seen) seen = true, first = p;
                                         return ok;
                                       });
  observe::count("f32 rounding cases whose bf16 differs", wrong);
  EXPECT_EQ(wrong, 0) << "first: f32 " << hex(first) << " (" << float_of(first) << ") gave "
                      << float_to_bf16_bits(float_of(first)) << ", expected "
                      << oracle_bf16(float_of(first));
}

TEST(HiddenConversions, TheOraclesAgreeWithTheHardwareOnASample) {
  // Random patterns; where F16C exists it also keeps this file's own oracle honest.
  std::mt19937_64 rng(hidden::seed(1));
  int64_t student_wrong = 0;
  for (int k = 0; k < 1 << 20; ++k) {
    const float x = float_of(static_cast<uint32_t>(rng()));
    if (have_f16c()) {
      ASSERT_EQ(oracle_f16(x), hardware_f16(x)) << hex(bits_of(x));
    }
    student_wrong += float_to_f16_bits(x) != oracle_f16(x);
  }
  observe::count("sampled f32 patterns whose f16 differs from the oracle", student_wrong);
  EXPECT_EQ(student_wrong, 0);
}

TEST(HiddenConversions, TheDecodersOnEveryPattern) {
  int64_t f16_wrong = 0, bf16_wrong = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    const double sign = (h & 0x8000u) ? -1.0 : 1.0;
    const double want = e == 0x1f ? (m ? std::numeric_limits<double>::quiet_NaN()
                                       : sign * std::numeric_limits<double>::infinity())
                        : e == 0  ? sign * std::ldexp(static_cast<double>(m), -24)
                                  : sign * std::ldexp(1024.0 + m, static_cast<int>(e) - 25);
    const double got = f16_bits_to_float(static_cast<uint16_t>(h));
    const bool same = std::isnan(want) ? std::isnan(got) && std::signbit(got) == (sign < 0)
                                       : got == want && std::signbit(got) == std::signbit(want);
    f16_wrong += !same;
    const float b = bf16_bits_to_float(static_cast<uint16_t>(h));
    bf16_wrong += bits_of(b) != (h << 16);
  }
  observe::count("f16 patterns decoded wrong", f16_wrong);
  observe::count("bf16 patterns decoded wrong", bf16_wrong);
  EXPECT_EQ(f16_wrong, 0);
  EXPECT_EQ(bf16_wrong, 0);
}

// ---- running sums --------------------------------------------------------------------------

double oracle_round(double x, DType t) {
  switch (t) {
    case DType::f16: {
      const uint16_t h = oracle_f16(static_cast<float>(x));
      const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
      const double s = (h & 0x8000u) ? -1.0 : 1.0;
      if (e == 0x1f) return s * std::numeric_limits<double>::infinity();
      return e == 0 ? s * std::ldexp(static_cast<double>(m), -24)
                    : s * std::ldexp(1024.0 + m, static_cast<int>(e) - 25);
    }
    case DType::bf16: return static_cast<double>(float_of(static_cast<uint32_t>(oracle_bf16(static_cast<float>(x))) << 16));
    case DType::f32: return static_cast<float>(x);
    default: return x;
  }
}

RunningSum oracle_sum(const std::vector<float>& v, DType in, DType acc) {
  RunningSum r;
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = oracle_round(v[i], in);
    const double next = acc == DType::f64 ? s + x : oracle_round(static_cast<float>(s) + static_cast<float>(x), acc);
    if (x != 0 && next == s && r.stagnation_index < 0) {
      r.stagnation_index = static_cast<int64_t>(i);
      r.stagnation_sum = s;
    }
    s = next;
  }
  r.sum = s;
  return r;
}

TEST(HiddenAccumulation, RandomValuesInEveryPrecision) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(2));
  const size_t n = static_cast<size_t>(hidden::draw_int(3, 100000, 400000));
  const double scale = std::pow(10.0, hidden::draw_real(4, -4, -1));
  std::uniform_real_distribution<double> u(0.2, 1.8);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(u(rng) * scale);
  for (auto [in, acc] : {std::pair{DType::f16, DType::f16}, std::pair{DType::bf16, DType::bf16},
                         std::pair{DType::f16, DType::f32}, std::pair{DType::bf16, DType::f32},
                         std::pair{DType::f32, DType::f32}, std::pair{DType::f32, DType::f64}}) {
    const std::string what = std::string(dtype_name(in)) + " inputs, " + dtype_name(acc) + " sum";
    const RunningSum got = running_sum(v, in, acc);
    const RunningSum want = oracle_sum(v, in, acc);
    observe::value(what + ": sum", got.sum, 0, 1e-12);
    observe::count(what + ": stagnation index", got.stagnation_index);
    EXPECT_EQ(got.sum, want.sum) << what;
    EXPECT_EQ(got.stagnation_index, want.stagnation_index) << what;
    EXPECT_EQ(got.stagnation_sum, want.stagnation_sum) << what;
  }
}

TEST(HiddenAccumulation, NegativeValuesAndZerosDoNotCountAsStagnation) {
  const std::vector<float> v = {0, 1, -1, 0, 0.25f, 4096, 1, 0, 1};
  const RunningSum got = running_sum(v, DType::f16, DType::f16);
  observe::value("sum", got.sum);
  observe::count("stagnation index", got.stagnation_index);
  EXPECT_EQ(got.sum, 4096) << "0.25 + 4096 rounds to 4096 (f16 steps of 4 there), and each + 1 "
                              "rounds back to 4096";
  EXPECT_EQ(got.stagnation_index, 6) << "zeros never count; 0.25 -> 4096 moved; 4096 + 1 did not";
}

// ---- the loss scaler -------------------------------------------------------------------------

TEST(HiddenLossScaler, RandomOverflowPatternsAndSettings) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(5));
  for (int trial = 0; trial < 5; ++trial) {
    LossScalerOptions o;
    o.growth_interval = std::uniform_int_distribution<int64_t>(1, 6)(rng);
    o.growth_factor = std::uniform_int_distribution<int>(0, 1)(rng) ? 2 : 4;
    o.backoff_factor = std::uniform_int_distribution<int>(0, 1)(rng) ? 0.5 : 0.25;
    o.min_scale = std::ldexp(1.0, std::uniform_int_distribution<int>(-2, 3)(rng));
    o.max_scale = o.min_scale * std::ldexp(1.0, std::uniform_int_distribution<int>(2, 10)(rng));
    o.initial_scale = o.min_scale * 2;
    const double p_overflow = std::uniform_real_distribution<double>(0.05, 0.5)(rng);
    DynamicLossScaler s(o);
    double scale = o.initial_scale;
    int64_t clean = 0, skipped = 0;
    std::vector<double> scales;
    int64_t mismatches = 0;
    for (int step = 0; step < 200; ++step) {
      const bool finite = std::uniform_real_distribution<double>(0, 1)(rng) >= p_overflow;
      const bool taken = s.update(finite);
      if (!finite) {
        scale = std::max(scale * o.backoff_factor, o.min_scale), clean = 0, ++skipped;
      } else if (++clean >= o.growth_interval) {
        scale = std::min(scale * o.growth_factor, o.max_scale), clean = 0;
      }
      scales.push_back(s.scale());
      mismatches += taken != finite || s.scale() != scale || s.clean_steps() != clean ||
                    s.skipped_steps() != skipped;
    }
    observe::values("trial " + std::to_string(trial) + ": scales", scales);
    EXPECT_EQ(mismatches, 0) << "trial " << trial << ": interval " << o.growth_interval
                             << ", growth " << o.growth_factor << ", backoff " << o.backoff_factor
                             << ", bounds [" << o.min_scale << ", " << o.max_scale << "]";
  }
}

TEST(HiddenLossScaler, AllFiniteFindsOnePlantedValue) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(6));
  std::vector<int64_t> got, want;
  for (int trial = 0; trial < 12; ++trial) {
    const DType t = std::vector<DType>{DType::f32, DType::f16, DType::bf16, DType::f64}[trial % 4];
    std::vector<Tensor> ts;
    for (int k = 0; k < 3; ++k) ts.push_back(labs::uniform({static_cast<int64_t>(rng() % 50 + 1)}, rng(), -100, 100, t));
    const int plant = static_cast<int>(rng() % 3);  // 0: nothing, 1: inf, 2: NaN
    if (plant) {
      Tensor& victim = ts[rng() % 3];
      std::vector<double> v = victim.to_doubles();
      v[rng() % v.size()] = plant == 1 ? -std::numeric_limits<double>::infinity()
                                       : std::numeric_limits<double>::quiet_NaN();
      victim = Tensor::from_values(victim.shape(), v, t);
    }
    got.push_back(all_finite(ts));
    want.push_back(plant == 0);
  }
  observe::indices("all_finite per trial", got);
  EXPECT_EQ(got, want);
}

TEST(HiddenMemory, TheF16Table) {
  const TrainingBytesPerParameter b = training_bytes_per_parameter(DType::f16);
  observe::values("f16: weights, gradients, master, m, v",
                  {b.weights, b.gradients, b.master, b.adam_m, b.adam_v});
  EXPECT_EQ(b.total(), 16);
  EXPECT_EQ(b.master, 4);
  const double llama_7b = 6.74e9 * b.total() / 1e9;
  observe::value("Llama-2-7B training state in GB", llama_7b, 0, 1e-12);
  EXPECT_NEAR(llama_7b, 107.84, 1e-9);
}

}  // namespace
}  // namespace gw
