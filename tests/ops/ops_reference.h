// ops_reference.h — index helpers for the naive f64 references of the elementwise,
// reduction and shape op tests (test_elementwise.cpp, test_reduce.cpp, test_shape.cpp).
//
// The references walk multi-indices with plain loops over to_doubles(), independent of the
// kernels' merged-axis and blocked code paths, so a bug in those paths cannot hide.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gw/error.h"
#include "gw/shape.h"

namespace gw::testing {

/// Multi-index of row-major element `i` of `shape`.
inline std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = i % shape[k];
    i /= shape[k];
  }
  return idx;
}

/// Row-major position of `idx` in `shape`.
inline int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t at = 0;
  for (size_t k = 0; k < shape.size(); ++k) at = at * shape[k] + idx[k];
  return at;
}

/// Position in `from` (NumPy-broadcast to `to`) of the element at index `idx` of `to`.
inline int64_t broadcast_source(const std::vector<int64_t>& idx, const Shape& from,
                                const Shape& to) {
  const size_t lead = to.size() - from.size();
  std::vector<int64_t> src(from.size());
  for (size_t k = 0; k < from.size(); ++k) src[k] = from[k] == 1 ? 0 : idx[k + lead];
  return ravel(src, from);
}

/// Runs `f` and returns the message of the gw error type E it throws ("" if none).
template <typename E, typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace gw::testing
