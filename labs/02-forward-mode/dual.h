// Lab 02: your copy of this file. Replace each GW_TODO("lab 02: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
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
  GW_TODO("lab 02: tangent of a + b", a, b);
}
/// (a − b)˙ = ȧ − ḃ.
inline Dual operator-(Dual a, Dual b) {
  GW_TODO("lab 02: tangent of a − b", a, b);
}
/// (−a)˙ = −ȧ.
inline Dual operator-(Dual a) {
  GW_TODO("lab 02: tangent of −a", a);
}
/// Product rule: (a·b)˙ = ȧ·b + a·ḃ.
inline Dual operator*(Dual a, Dual b) {
  GW_TODO("lab 02: product rule (a·b)˙ = ȧ·b + a·ḃ", a, b);
}
/// Quotient rule: (a/b)˙ = (ȧ·b − a·ḃ) / b².
inline Dual operator/(Dual a, Dual b) {
  GW_TODO("lab 02: quotient rule (a/b)˙ = (ȧ·b − a·ḃ) / b²", a, b);
}

/// e^a.
inline Dual exp(Dual a) {
  GW_TODO("lab 02: tangent of exp: (e^a)˙ = e^a·ȧ", a);
}
/// Natural logarithm.
inline Dual log(Dual a) {
  GW_TODO("lab 02: tangent of log: (ln a)˙ = ȧ / a", a);
}
/// Sine.
inline Dual sin(Dual a) {
  GW_TODO("lab 02: tangent of sin: (sin a)˙ = cos(a)·ȧ", a);
}
/// Cosine.
inline Dual cos(Dual a) {
  GW_TODO("lab 02: tangent of cos: (cos a)˙ = −sin(a)·ȧ", a);
}
/// Square root.
inline Dual sqrt(Dual a) {
  GW_TODO("lab 02: tangent of sqrt: (√a)˙ = ȧ / (2√a)", a);
}
/// a^c for a constant exponent c.
inline Dual pow(Dual a, double c) {
  GW_TODO("lab 02: tangent of pow by a constant: (a^c)˙ = c·a^(c−1)·ȧ", a, c);
}
/// Hyperbolic tangent.
inline Dual tanh(Dual a) {
  GW_TODO("lab 02: tangent of tanh: (tanh a)˙ = (1 − tanh²a)·ȧ", a);
}

}  // namespace gw
