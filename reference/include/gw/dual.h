// dual.h — dual numbers: forward-mode autodiff of scalar straight-line programs (lab 02).
//
// A Dual carries a value v and its tangent v̇ = ∂v/∂x for one chosen input x. Every operation
// applies the chain rule to the tangent: (u·w)˙ = u̇·w + u·ẇ, (exp u)˙ = exp(u)·u̇, ... So a
// program written with Duals computes f and one directional derivative in a single pass,
// which is forward mode: for f: Rⁿ → R a full gradient needs n passes.
#pragma once

#include <cmath>
#include <string>

#include "gw/error.h"

namespace gw {

/// A value and its tangent: Dual{v, t}. Seed the input you differentiate by with tangent 1,
/// the others with 0; a constant c is Dual{c} (tangent 0).
struct Dual {
  double value = 0.0, tangent = 0.0;  ///< v, and v̇ = ∂v/∂x
};

/// Sum rule: (a + b)˙ = ȧ + ḃ.
inline Dual operator+(Dual a, Dual b) {
  // BEGIN LAB 02: tangent of a + b
  return {a.value + b.value, a.tangent + b.tangent};
  // END LAB 02
}
/// (a − b)˙ = ȧ − ḃ.
inline Dual operator-(Dual a, Dual b) {
  // BEGIN LAB 02: tangent of a − b
  return {a.value - b.value, a.tangent - b.tangent};
  // END LAB 02
}
/// (−a)˙ = −ȧ.
inline Dual operator-(Dual a) {
  // BEGIN LAB 02: tangent of −a
  return {-a.value, -a.tangent};
  // END LAB 02
}
/// Product rule: (a·b)˙ = ȧ·b + a·ḃ.
inline Dual operator*(Dual a, Dual b) {
  // BEGIN LAB 02: product rule (a·b)˙ = ȧ·b + a·ḃ
  return {a.value * b.value, a.tangent * b.value + a.value * b.tangent};
  // END LAB 02
}
/// Quotient rule: (a/b)˙ = (ȧ·b − a·ḃ) / b².
inline Dual operator/(Dual a, Dual b) {
  // BEGIN LAB 02: quotient rule (a/b)˙ = (ȧ·b − a·ḃ) / b²
  return {a.value / b.value, (a.tangent * b.value - a.value * b.tangent) / (b.value * b.value)};
  // END LAB 02
}

/// e^a.
inline Dual exp(Dual a) {
  // BEGIN LAB 02: tangent of exp: (e^a)˙ = e^a·ȧ
  const double e = std::exp(a.value);
  return {e, e * a.tangent};
  // END LAB 02
}
/// Natural logarithm.
inline Dual log(Dual a) {
  // BEGIN LAB 02: tangent of log: (ln a)˙ = ȧ / a
  return {std::log(a.value), a.tangent / a.value};
  // END LAB 02
}
/// Sine.
inline Dual sin(Dual a) {
  // BEGIN LAB 02: tangent of sin: (sin a)˙ = cos(a)·ȧ
  return {std::sin(a.value), std::cos(a.value) * a.tangent};
  // END LAB 02
}
/// Cosine.
inline Dual cos(Dual a) {
  // BEGIN LAB 02: tangent of cos: (cos a)˙ = −sin(a)·ȧ
  return {std::cos(a.value), -std::sin(a.value) * a.tangent};
  // END LAB 02
}
/// Square root.
inline Dual sqrt(Dual a) {
  // BEGIN LAB 02: tangent of sqrt: (√a)˙ = ȧ / (2√a)
  const double r = std::sqrt(a.value);
  return {r, a.tangent / (2.0 * r)};
  // END LAB 02
}
/// a^c for a constant exponent c.
inline Dual pow(Dual a, double c) {
  // BEGIN LAB 02: tangent of pow by a constant: (a^c)˙ = c·a^(c−1)·ȧ
  return {std::pow(a.value, c), c * std::pow(a.value, c - 1.0) * a.tangent};
  // END LAB 02
}
/// Hyperbolic tangent.
inline Dual tanh(Dual a) {
  // BEGIN LAB 02: tangent of tanh: (tanh a)˙ = (1 − tanh²a)·ȧ
  const double t = std::tanh(a.value);
  return {t, (1.0 - t * t) * a.tangent};
  // END LAB 02
}

}  // namespace gw
