// lab_testing.h — what the labs' public tests share: the lecture's example graphs, feeds,
// and closeness checks whose messages point a student at the bug.
//
// Kept apart from tests/common so that a student release (labs/ without the project's own
// tests) still builds the public tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gw/executor.h"
#include "gw/graph.h"
#include "gw/ops.h"
#include "gw/tensor.h"

namespace gw::labs {

/// The lecture's running example y = ln(x1) + x1·x2 − sin(x2), with its named values
/// v1 = x1, v2 = x2, v3 = ln v1, v4 = v1·v2, v5 = sin v2, v6 = v3 + v4, v7 = v6 − v5.
struct LectureGraph {
  Node* x1;  ///< v1, shape {}
  Node* x2;  ///< v2, shape {}
  Node* v3;  ///< ln(x1)
  Node* v4;  ///< x1·x2
  Node* v5;  ///< sin(x2)
  Node* v6;  ///< v3 + v4
  Node* y;   ///< v7 = v6 − v5
};

/// Builds the lecture's example in `g` with scalar inputs of `dtype`.
inline LectureGraph lecture_graph(Graph& g, DType dtype = DType::f64) {
  LectureGraph l{};
  l.x1 = g.input("x1", {}, dtype);
  l.x2 = g.input("x2", {}, dtype);
  l.v3 = log(l.x1);
  l.v4 = mul(l.x1, l.x2);
  l.v5 = sin(l.x2);
  l.v6 = add(l.v3, l.v4);
  l.y = sub(l.v6, l.v5);
  return l;
}

/// A scalar tensor.
inline Tensor scalar_tensor(double v, DType dtype = DType::f64) {
  return Tensor::from_values({}, {v}, dtype);
}

/// Uniform values in [lo, hi), reproducible from `seed`.
inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                      DType dtype = DType::f64) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

/// The tests' own central-difference derivative of the scalar `out` with respect to the fed
/// input `x` (ε = 1e-6, f64 feeds expected): an oracle that does not use any lab's code, so
/// a later lab's tests do not depend on your lab 01.
inline Tensor oracle_gradient(Node* out, Node* x, const Feeds& feeds, double eps = 1e-6) {
  Feeds moved(feeds);
  const Tensor base = feeds.at(x);
  std::vector<double> theta = base.to_doubles(), grad(theta.size());
  for (size_t i = 0; i < theta.size(); ++i) {
    std::vector<double> t = theta;
    t[i] = theta[i] + eps;
    moved[x] = Tensor::from_values(base.shape(), t, base.dtype());
    const double plus = eval(out, moved).to_doubles().at(0);
    t[i] = theta[i] - eps;
    moved[x] = Tensor::from_values(base.shape(), t, base.dtype());
    const double minus = eval(out, moved).to_doubles().at(0);
    grad[i] = (plus - minus) / (2 * eps);
  }
  return Tensor::from_values(base.shape(), grad, DType::f64);
}

/// The lecture's straight-line program (lab 02): z1 = w1/w2, z2 = sin(2π z1), z3 = exp(2 w2),
/// z4 = 3 z1 − z3, z5 = z2 + z4, f = z6 = z4·z5, on scalar f64 inputs w1, w2.
inline Node* straight_line_program(Node* w1, Node* w2) {
  const double two_pi = 2 * 3.14159265358979323846;
  Node* z1 = div(w1, w2);
  Node* z2 = sin(mul(z1, two_pi));
  Node* z3 = exp(mul(w2, 2.0));
  Node* z4 = sub(mul(z1, 3.0), z3);
  Node* z5 = add(z2, z4);
  return mul(z4, z5);
}

/// Expects |a − b| ≤ atol + rtol·|b| for every element; on failure names `what`, the first
/// element that is off, both values and the shapes.
inline ::testing::AssertionResult close(const std::string& what, const Tensor& a,
                                        const Tensor& b, double atol = 1e-6,
                                        double rtol = 1e-6) {
  if (!a.defined())
    return ::testing::AssertionFailure() << what << ": got an undefined tensor";
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(a.shape())
                                         << ", expected " << shape_str(b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i])))
      return ::testing::AssertionFailure()
             << what << ": element " << i << " is " << x[i] << ", expected " << y[i]
             << " (difference " << x[i] - y[i] << ", atol " << atol << ", rtol " << rtol << ")";
  }
  return ::testing::AssertionSuccess();
}

/// Expects |a − expected| ≤ tol for a one-element tensor, explaining `why` on failure.
inline ::testing::AssertionResult near(const std::string& what, const Tensor& a,
                                       double expected, double tol, const std::string& why = "") {
  if (!a.defined()) return ::testing::AssertionFailure() << what << ": got an undefined tensor";
  if (a.numel() != 1)
    return ::testing::AssertionFailure() << what << ": expected one element, got shape "
                                         << shape_str(a.shape());
  const double v = a.item();
  if (!(std::abs(v - expected) <= tol))
    return ::testing::AssertionFailure() << what << " is " << v << ", expected " << expected
                                         << " (within " << tol << ")"
                                         << (why.empty() ? "" : ": ") << why;
  return ::testing::AssertionSuccess();
}

/// The lecture's training step by hand, in plain loops (lab 04's reference):
/// L = mean((relu(x w1) w2 − y)²) over all b·n_out elements, then θ ← θ − η∇L.
struct HandMadeStep {
  int64_t b, n_in, h, n_out;
  std::vector<double> w1, w2;  // (n_in, h), (h, n_out)
  double step(const std::vector<double>& x, const std::vector<double>& y, double lr) {
    std::vector<double> z(b * h), a(b * h), p(b * n_out, 0.0);
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < h; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n_in; ++k) s += x[i * n_in + k] * w1[k * h + j];
        z[i * h + j] = s;
        a[i * h + j] = s > 0 ? s : 0;
      }
    double loss = 0;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t o = 0; o < n_out; ++o) {
        for (int64_t j = 0; j < h; ++j) p[i * n_out + o] += a[i * h + j] * w2[j * n_out + o];
        const double d = p[i * n_out + o] - y[i * n_out + o];
        loss += d * d;
      }
    const double count = static_cast<double>(b * n_out);
    std::vector<double> dp(b * n_out), g1(n_in * h, 0.0), g2(h * n_out, 0.0), dz(b * h, 0.0);
    for (int64_t i = 0; i < b * n_out; ++i) dp[i] = 2 * (p[i] - y[i]) / count;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < h; ++j)
        for (int64_t o = 0; o < n_out; ++o) {
          g2[j * n_out + o] += a[i * h + j] * dp[i * n_out + o];
          if (z[i * h + j] > 0) dz[i * h + j] += dp[i * n_out + o] * w2[j * n_out + o];
        }
    for (int64_t i = 0; i < b; ++i)
      for (int64_t k = 0; k < n_in; ++k)
        for (int64_t j = 0; j < h; ++j) g1[k * h + j] += x[i * n_in + k] * dz[i * h + j];
    for (size_t i = 0; i < w1.size(); ++i) w1[i] -= lr * g1[i];
    for (size_t i = 0; i < w2.size(); ++i) w2[i] -= lr * g2[i];
    return loss / count;
  }
};

}  // namespace gw::labs
