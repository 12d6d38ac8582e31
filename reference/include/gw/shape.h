// shape.h — tensor shapes and the broadcasting rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw {

/// Sizes of each axis, outermost first. A scalar has the empty shape {}.
using Shape = std::vector<int64_t>;

/// Product of the sizes (1 for a scalar).
int64_t numel(const Shape& s);
/// "(2, 3, 4)".
std::string shape_str(const Shape& s);
/// NumPy broadcasting of two shapes; throws gw::ShapeError naming `op` when they do not fit.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Normalizes a possibly negative axis into [0, rank); throws gw::ShapeError naming `op`.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* op);
/// Row-major strides (in elements) of a contiguous tensor of this shape.
std::vector<int64_t> contiguous_strides(const Shape& s);

}  // namespace gw
