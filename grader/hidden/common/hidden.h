// hidden.h — what the hidden tests share: the seed the grader picks for their random inputs.
//
// The grader sets GW_HIDDEN_SEED to a number the student cannot predict, so a submission
// cannot be tuned to the hidden inputs; without it the tests use a fixed seed and are
// reproducible. Every hidden test prints its seed on failure (SCOPED_TRACE in each test).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gw/shape.h"

namespace gw::hidden {

/// The seed from GW_HIDDEN_SEED, or 20261122 when unset or not a number; `salt` makes the
/// streams of different tests independent.
inline uint64_t seed(uint64_t salt = 0) {
  uint64_t base = 20261122;
  if (const char* env = std::getenv("GW_HIDDEN_SEED")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') base = v;
  }
  // splitmix64 of base + salt: nearby seeds give unrelated streams
  uint64_t z = base + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// "GW_HIDDEN_SEED=<value>" for failure messages.
inline std::string seed_note() {
  const char* env = std::getenv("GW_HIDDEN_SEED");
  return std::string("GW_HIDDEN_SEED=") + (env ? env : "unset (default 20261122)");
}

/// An integer uniform in [lo, hi], drawn from the stream of `salt`.
inline int64_t draw_int(uint64_t salt, int64_t lo, int64_t hi) {
  std::mt19937_64 rng(seed(salt));
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

/// A real uniform in [lo, hi), drawn from the stream of `salt`.
inline double draw_real(uint64_t salt, double lo, double hi) {
  std::mt19937_64 rng(seed(salt));
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

/// A shape with one dimension per {lo, hi} range, each uniform in it, from `salt`.
inline Shape draw_shape(uint64_t salt, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  std::mt19937_64 rng(seed(salt));
  Shape s;
  for (const auto& [lo, hi] : ranges)
    s.push_back(std::uniform_int_distribution<int64_t>(lo, hi)(rng));
  return s;
}

}  // namespace gw::hidden
