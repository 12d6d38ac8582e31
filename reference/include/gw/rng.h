// rng.h — a counter-based random number generator (Philox4x32-10) and helpers on top of it.
//
// Why counter-based: a random number is a pure function of (counter, key), with no state to
// save or advance. So batch k of the trainer depends only on (seed, k): it is reproducible
// after a resume, on any number of threads, and inside a CUDA kernel (every function here is
// GW_HOST_DEVICE). Algorithm: Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy
// as 1, 2, 3" (SC 2011); tested against Random123's published known-answer vectors.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define GW_HOST_DEVICE __host__ __device__
#else
#define GW_HOST_DEVICE
#endif

namespace gw {

/// Four 32-bit words: a Philox counter or its output block.
struct Philox4x32Block {
  uint32_t v[4];  ///< words, v[0] first as in Random123
};

/// Two 32-bit words: a Philox key.
struct Philox4x32Key {
  uint32_t v[2];  ///< words, v[0] first as in Random123
};

namespace detail {
/// High and low halves of the 64-bit product a*b.
GW_HOST_DEVICE inline void mulhilo32(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}
}  // namespace detail

/// Philox4x32 with `rounds` rounds (10 is the standard, "Philox4x32-10"): a bijection of the
/// 128-bit counter for each 64-bit key. Pure function; no state.
GW_HOST_DEVICE inline Philox4x32Block philox4x32(Philox4x32Block ctr, Philox4x32Key key,
                                                 int rounds = 10) {
  // Multipliers and Weyl key increments from the paper (Random123's PHILOX_M4x32_*,
  // PHILOX_W32_*).
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {  // the key schedule bumps the key before every round but the first
      key.v[0] += W0;
      key.v[1] += W1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(M0, ctr.v[0], &hi0, &lo0);
    detail::mulhilo32(M1, ctr.v[2], &hi1, &lo1);
    Philox4x32Block next;
    next.v[0] = hi1 ^ ctr.v[1] ^ key.v[0];
    next.v[1] = lo1;
    next.v[2] = hi0 ^ ctr.v[3] ^ key.v[1];
    next.v[3] = lo0;
    ctr = next;
  }
  return ctr;
}

/// Four random 32-bit words for position `index` of stream `stream` under `seed`.
/// Layout: key = seed (two words), counter = (index low, index high, stream low, stream high).
GW_HOST_DEVICE inline Philox4x32Block philox_words(uint64_t seed, uint64_t stream,
                                                   uint64_t index) {
  Philox4x32Block c = {{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}};
  Philox4x32Key k = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
  return philox4x32(c, k);
}

/// 32-bit word to a float in [0, 1): the top 24 bits times 2^-24, so every value is exact
/// in f32 and 1.0 is never returned.
GW_HOST_DEVICE inline float u32_to_unit_float(uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

/// Uniform float in [0, 1) for the (seed, stream, index) triple (uses word 0 of the block).
GW_HOST_DEVICE inline float uniform_float(uint64_t seed, uint64_t stream, uint64_t index) {
  return u32_to_unit_float(philox_words(seed, stream, index).v[0]);
}

/// Uniform integer in [0, n) from a Philox block (words 0 and 1); n must be >= 1.
///
/// Method: Lemire's multiply-shift, (w * n) >> 64 with w the 64-bit word (v[1] << 32 | v[0]).
/// With no rejection step the bias is at most n / 2^64 per value: below 1e-9 for any n under
/// 2^34, far below anything a training run can see; unlike rejection it costs a fixed amount
/// of work, which suits GPUs and keeps every draw a single Philox call.
GW_HOST_DEVICE inline uint64_t uniform_below(Philox4x32Block b, uint64_t n) {
  uint64_t w = (static_cast<uint64_t>(b.v[1]) << 32) | b.v[0];
  // 64x64 -> high 64 bits, written portably (no __int128 on every compiler or in CUDA).
  uint64_t wl = w & 0xffffffffu, wh = w >> 32, nl = n & 0xffffffffu, nh = n >> 32;
  uint64_t ll = wl * nl, lh = wl * nh, hl = wh * nl, hh = wh * nh;
  uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/// Uniform integer in [0, n) for the (seed, stream, index) triple; see uniform_below.
GW_HOST_DEVICE inline uint64_t uniform_int(uint64_t seed, uint64_t stream, uint64_t index,
                                           uint64_t n) {
  return uniform_below(philox_words(seed, stream, index), n);
}

/// Standard normal for the (seed, stream, index) triple, by Box-Muller on words 2 and 3.
/// u1 is taken in (0, 1] so log(u1) is finite.
GW_HOST_DEVICE inline float normal_float(uint64_t seed, uint64_t stream, uint64_t index) {
  Philox4x32Block b = philox_words(seed, stream, index);
  float u1 = 1.0f - u32_to_unit_float(b.v[2]);  // (0, 1]
  float u2 = u32_to_unit_float(b.v[3]);
  const float two_pi = 6.28318530717958647692f;
  return sqrtf(-2.0f * logf(u1)) * cosf(two_pi * u2);
}

}  // namespace gw
