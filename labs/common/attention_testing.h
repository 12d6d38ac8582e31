// attention_testing.h — what lab 08's public and hidden tests share: the attention ops (flash
// and naive) run on concrete tensors, an oracle that uses neither, the allocator's peak around
// a run, and the observations that the grader compares (labs/common/observe.h).
//
// The oracle is attention composed of the framework's primitive ops (matmul, max, exp, sum,
// div) in f64: softmax(c·q kᵀ + mask) v and its gradients by the lecture's formulas. No
// attention kernel takes part, neither yours (lab 08 writes the naive kernel too) nor the
// reference's. For the large runs whose (s, s) matrices the oracle should not hold, a few rows
// are checked against plain loops (RowOracle).
//
// A case is written head-major, (b, n, s, d), the naive op's layout and the oracle's. The
// flash op reads sequence-major q, k, v, (b, s, n, d): the helpers below swap axes 1 and 2 on
// the way in, and back on the way out, so every comparison is head-major.
//
// Graded, each check sends what your code computed: a sample of the output and of the
// gradients (every element of small ones), the log-sum-exp, the memory figures. Every value
// is observed within the tolerance two answers that both pass the check may differ by.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "observe.h"

namespace gw::labs {

/// One attention problem: q, k, v (b, n, s, d), the output's adjoint ō, causal or not.
struct AttentionCase {
  Tensor q, k, v, go;
  bool causal = false;
  std::string str() const {
    const Shape& s = q.shape();
    return "(b, n, s, d) = (" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " +
           std::to_string(s[2]) + ", " + std::to_string(s[3]) + ")" +
           (causal ? " causal" : " not causal") + " " + dtype_name(q.dtype());
  }
};

/// Values uniform in [lo, hi) from std::mt19937_64(seed).
inline Tensor uniform_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo = -1.0,
                             double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

/// q and k in [−2, 2) (peaked softmax rows), v and ō in [−1, 1).
inline AttentionCase random_case(const Shape& shape, bool causal, DType dtype, uint64_t seed) {
  return {uniform_tensor(shape, dtype, seed, -2, 2), uniform_tensor(shape, dtype, seed + 1, -2, 2),
          uniform_tensor(shape, dtype, seed + 2), uniform_tensor(shape, dtype, seed + 3), causal};
}

// ---- the ops under test --------------------------------------------------------------------

/// x with the two axes before its last one swapped: (b, n, s, d) <-> (b, s, n, d), and
/// (3, b, s, n, d) -> (3, b, n, s, d).
inline Tensor swap_heads_and_sequence(const Tensor& x) {
  const int64_t r = static_cast<int64_t>(x.shape().size());
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < r; ++i) perm.push_back(i);
  std::swap(perm[static_cast<size_t>(r - 3)], perm[static_cast<size_t>(r - 2)]);
  Graph g;
  return eval(permute(g.constant(x), perm));
}

/// q, k, v of a case as the flash op takes them, (b, s, n, d).
struct SeqMajor {
  Tensor q, k, v;
  explicit SeqMajor(const AttentionCase& c)
      : q(swap_heads_and_sequence(c.q)), k(swap_heads_and_sequence(c.k)),
        v(swap_heads_and_sequence(c.v)) {}
};

/// The flash op's packed output, head-major: (b, n, s, d + 1).
inline Tensor flash_packed(const AttentionCase& c) {
  const SeqMajor in(c);
  Graph g;
  return swap_heads_and_sequence(
      eval(flash_attention_packed(g.constant(in.q), g.constant(in.k), g.constant(in.v), c.causal)));
}

/// The first d columns (the output) or the last one (the LSE) of a packed output, in f64.
inline Tensor unpack(const Tensor& packed, bool lse) {
  const Shape& s = packed.shape();
  const int64_t d = s[3] - 1;
  const std::vector<double> y = packed.to_doubles();
  std::vector<double> out;
  for (size_t r = 0; r < y.size() / static_cast<size_t>(d + 1); ++r) {
    const auto row = y.begin() + static_cast<int64_t>(r) * (d + 1);
    if (lse)
      out.push_back(row[d]);
    else
      out.insert(out.end(), row, row + d);
  }
  return Tensor::from_values(lse ? Shape{s[0], s[1], s[2]} : Shape{s[0], s[1], s[2], d}, out,
                             DType::f64);
}

/// q̄, k̄, v̄ (3, b, n, s, d) from the flash backward op given ō (the LSE's adjoint 0), f64.
inline Tensor flash_gradients(const AttentionCase& c) {
  const SeqMajor in(c);
  const Shape& s = in.q.shape();
  const std::vector<double> go = swap_heads_and_sequence(c.go).to_doubles();
  std::vector<double> packed_go;
  for (size_t r = 0; r < go.size() / static_cast<size_t>(s[3]); ++r) {
    packed_go.insert(packed_go.end(), go.begin() + static_cast<int64_t>(r) * s[3],
                     go.begin() + static_cast<int64_t>(r + 1) * s[3]);
    packed_go.push_back(0.0);
  }
  Graph g;
  Node* q = g.constant(in.q);
  Node* k = g.constant(in.k);
  Node* v = g.constant(in.v);
  Node* y = flash_attention_packed(q, k, v, c.causal);
  Node* gy = g.constant(Tensor::from_values(y->shape, packed_go, c.q.dtype()));
  return swap_heads_and_sequence(eval(flash_attention_backward(q, k, v, y, gy, c.causal)))
      .astype(DType::f64);
}

/// The naive op's output, in f64.
inline Tensor naive_output(const AttentionCase& c) {
  Graph g;
  return eval(attention(g.constant(c.q), g.constant(c.k), g.constant(c.v), c.causal))
      .astype(DType::f64);
}

/// q̄, k̄, v̄ (3, b, n, s, d) from the naive backward op given ō, in f64.
inline Tensor naive_gradients(const AttentionCase& c) {
  Graph g;
  return eval(attention_backward(g.constant(c.q), g.constant(c.k), g.constant(c.v),
                                 g.constant(c.go), c.causal))
      .astype(DType::f64);
}

// ---- the oracle ----------------------------------------------------------------------------

/// Attention's output (b, n, s, d), log-sum-exp (b, n, s) and gradients (3, b, n, s, d), f64.
struct Expected {
  Tensor out, lse, grads;
};

/// The oracle of one case, composed of primitive ops in f64 (it holds (s, s) matrices: keep s
/// to a few thousand). Per head, c = 1/√d:
///   S = c·q kᵀ (+ −∞ above the diagonal when causal), m = rowmax S, E = exp(S − m),
///   l = rowsum E, P = E / l, o = P v, LSE = m + log l;
///   v̄ = Pᵀ ō, dP = ō vᵀ, D = rowsum(P ∘ dP), dS = P ∘ (dP − D), q̄ = c·dS k, k̄ = c·dSᵀ q.
inline Expected oracle(const AttentionCase& c) {
  const Shape& shape = c.q.shape();
  const int64_t s = shape[2];
  const double scale = 1 / std::sqrt(static_cast<double>(shape[3]));
  const Shape scores{shape[0], shape[1], s, s};
  Graph g;
  Node* q = g.constant(c.q.astype(DType::f64));
  Node* k = g.constant(c.k.astype(DType::f64));
  Node* v = g.constant(c.v.astype(DType::f64));
  Node* go = g.constant(c.go.astype(DType::f64));
  Node* sc = mul(matmul(q, k, false, true), scale);
  if (c.causal) {
    std::vector<double> mask(static_cast<size_t>(s * s), 0.0);
    for (int64_t i = 0; i < s; ++i)
      for (int64_t j = i + 1; j < s; ++j)
        mask[static_cast<size_t>(i * s + j)] = -std::numeric_limits<double>::infinity();
    sc = add(sc, broadcast_to(g.constant(Tensor::from_values({s, s}, mask, DType::f64)), scores));
  }
  Node* m = max(sc, {-1}, true);
  Node* e = exp(sub(sc, broadcast_to(m, scores)));
  Node* l = sum(e, {-1}, true);
  Node* p = div(e, broadcast_to(l, scores));
  Node* out = matmul(p, v);
  Node* lse = reshape(add(m, log(l)), {shape[0], shape[1], s});
  Node* gv = matmul(p, go, true, false);
  Node* dp = matmul(go, v, false, true);
  Node* dd = sum(mul(p, dp), {-1}, true);
  Node* ds = mul(p, sub(dp, broadcast_to(dd, scores)));
  Node* gq = mul(matmul(ds, k), scale);
  Node* gk = mul(matmul(ds, q, true, false), scale);
  Shape one{1};
  one.insert(one.end(), shape.begin(), shape.end());
  Node* grads = concat({reshape(gq, one), reshape(gk, one), reshape(gv, one)}, 0);
  const std::vector<Tensor> r = eval(std::vector<Node*>{out, lse, grads});
  return {r[0], r[1], r[2]};
}

/// Output rows of one case by plain loops in f64 (q, k, v converted once): the oracle of the
/// large runs, whose (s, s) matrices the composed oracle should not hold.
class RowOracle {
 public:
  explicit RowOracle(const AttentionCase& c)
      : c_(c), q_(c.q.to_doubles()), k_(c.k.to_doubles()), v_(c.v.to_doubles()) {}
  const AttentionCase& which() const { return c_; }
  /// Output row i of head h (its d elements), then its LSE.
  std::vector<double> row(int64_t h, int64_t i) const {
    const Shape& shape = c_.q.shape();
    const int64_t t = shape[2], d = shape[3];
    const double scale = 1 / std::sqrt(static_cast<double>(d));
    const int64_t seen = c_.causal ? i + 1 : t;
    const double* q = q_.data() + (h * t + i) * d;
    const double* k = k_.data() + h * t * d;
    const double* v = v_.data() + h * t * d;
    std::vector<double> w(static_cast<size_t>(seen));
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < seen; ++j) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e) dot += q[e] * k[j * d + e];
      w[static_cast<size_t>(j)] = scale * dot;
      mx = std::max(mx, scale * dot);
    }
    double l = 0;
    std::vector<double> out(static_cast<size_t>(d + 1), 0.0);
    for (int64_t j = 0; j < seen; ++j) {
      const double p = std::exp(w[static_cast<size_t>(j)] - mx);
      l += p;
      for (int64_t e = 0; e < d; ++e) out[static_cast<size_t>(e)] += p * v[j * d + e];
    }
    for (int64_t e = 0; e < d; ++e) out[static_cast<size_t>(e)] /= l;
    out[static_cast<size_t>(d)] = mx + std::log(l);
    return out;
  }

 private:
  const AttentionCase& c_;
  std::vector<double> q_, k_, v_;
};

// ---- checks that observe -------------------------------------------------------------------

/// The most elements of one tensor a check sends to the grader: every element up to this,
/// else this many drawn at random (the same positions in both runs).
constexpr size_t kObservedElements = 256;

/// The tolerance of an observation of a value checked by agree(tol): two answers within
/// tol·(1 + |b|) of the same b differ by at most 2·tol·(1 + |r|)/(1 − tol) from each other.
inline double observed_tolerance(double tol) { return 2 * tol / (1 - tol); }

/// Sends `what`'s shape and a sample of its elements (see kObservedElements).
inline void observe_sample(const std::string& what, const Tensor& t, double tol) {
  if (!observe::active()) return;
  observe::text(what + " shape", shape_str(t.shape()));
  const std::vector<double> all = t.to_doubles();
  std::vector<double> picked;
  if (all.size() <= kObservedElements) {
    picked = all;
  } else {
    std::mt19937_64 rng(all.size());
    std::vector<size_t> at;
    for (size_t n = 0; n < kObservedElements; ++n)
      at.push_back(std::uniform_int_distribution<size_t>(0, all.size() - 1)(rng));
    std::sort(at.begin(), at.end());
    for (size_t i : at) picked.push_back(all[i]);
  }
  const double o = observed_tolerance(tol);
  observe::values(what + " (" + std::to_string(picked.size()) + " of " +
                      std::to_string(all.size()) + " elements)",
                  picked, o, o);
}

/// |a − b| ≤ tol·(1 + |b|) everywhere; the message names the first bad element. Graded, a
/// sample of a is observed first.
inline ::testing::AssertionResult agree(const std::string& what, const Tensor& a, const Tensor& b,
                                        double tol) {
  observe_sample(what, a, tol);
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(a.shape())
                                         << ", expected " << shape_str(b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= tol * (1 + std::fabs(y[i]))))
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << x[i]
                                           << ", attention gives " << y[i] << " (within "
                                           << tol << "·(1 + |that|))";
  return ::testing::AssertionSuccess();
}

/// Flash attention's forward (output and LSE) and backward of one case against the oracle.
inline ::testing::AssertionResult flash_matches_naive(const AttentionCase& c, double tol) {
  const Expected want = oracle(c);
  const Tensor packed = flash_packed(c);
  ::testing::AssertionResult r = agree(c.str() + " output", unpack(packed, false), want.out, tol);
  if (r) r = agree(c.str() + " LSE", unpack(packed, true), want.lse, tol);
  if (r) r = agree(c.str() + " gradients (q̄, k̄, v̄ packed)", flash_gradients(c), want.grads, tol);
  return r;
}

/// The same with q, k, v fused as the trainer passes them: one (b, s, 3, n, d) tensor whose
/// rows of one head lie 3·n·d apart; the gradient comes back fused too.
inline ::testing::AssertionResult fused_flash_matches_naive(const AttentionCase& c, double tol) {
  const Expected want = oracle(c);
  const SeqMajor in(c);
  const Shape& s = in.q.shape();  // (b, s, n, d)
  Graph g;
  auto part = [&](const Tensor& x) { return reshape(g.constant(x), {s[0], s[1], 1, s[2], s[3]}); };
  Node* qkv = concat({part(in.q), part(in.k), part(in.v)}, 2);
  Node* y = flash_attention_packed(qkv, c.causal);
  // ō packed with a zero LSE adjoint, as flash_gradients does.
  Node* go = g.constant(swap_heads_and_sequence(c.go));
  Node* gy = concat({go, g.constant(Tensor::zeros({s[0], s[1], s[2], 1}, c.q.dtype()))}, 3);
  const std::vector<Tensor> out =
      eval({y, permute(flash_attention_backward(qkv, y, gy, c.causal), {2, 0, 3, 1, 4})});
  const Tensor packed = swap_heads_and_sequence(out[0]);
  const std::string what = c.str() + " fused qkv";
  ::testing::AssertionResult r = agree(what + " output", unpack(packed, false), want.out, tol);
  if (r) r = agree(what + " LSE", unpack(packed, true), want.lse, tol);
  if (r)
    r = agree(what + " gradients (q̄, k̄, v̄ packed)", out[1].astype(DType::f64), want.grads, tol);
  return r;
}

/// Your naive attention's forward and backward of one case against the oracle.
inline ::testing::AssertionResult naive_matches_oracle(const AttentionCase& c, double tol) {
  const Expected want = oracle(c);
  ::testing::AssertionResult r = agree(c.str() + " naive output", naive_output(c), want.out, tol);
  if (r)
    r = agree(c.str() + " naive gradients (q̄, k̄, v̄ packed)", naive_gradients(c), want.grads,
              tol);
  return r;
}

/// Rows (head, row) of a packed flash output against the row oracle: `count` rows drawn from
/// `seed`, among them the last row of the last head and the first row of a head (the rows
/// that see the most keys and, when causal, the fewest: at large T one key more or less moves
/// a late row by less than the tolerance). Reads only those rows of `packed`.
inline ::testing::AssertionResult sampled_rows_match(const RowOracle& oracle, const Tensor& packed,
                                                     int count, uint64_t seed, double tol) {
  const AttentionCase& c = oracle.which();
  const Shape& shape = c.q.shape();
  const int64_t heads = shape[0] * shape[1], t = shape[2], d = shape[3];
  if (packed.shape() != Shape{shape[0], shape[1], t, d + 1} || packed.dtype() != c.q.dtype())
    return ::testing::AssertionFailure() << c.str() << ": packed output of shape "
                                         << shape_str(packed.shape()) << " and dtype "
                                         << dtype_name(packed.dtype());
  std::mt19937_64 rng(seed);
  for (int n = 0; n < count; ++n) {
    const int64_t h =
        n == 0 ? heads - 1 : std::uniform_int_distribution<int64_t>(0, heads - 1)(rng);
    const int64_t i = n == 0   ? t - 1
                      : n == 1 ? 0
                               : std::uniform_int_distribution<int64_t>(0, t - 1)(rng);
    std::vector<double> got(static_cast<size_t>(d + 1));
    const int64_t first = (h * t + i) * (d + 1);
    for (int64_t e = 0; e <= d; ++e)
      got[static_cast<size_t>(e)] = packed.dtype() == DType::f32
                                        ? static_cast<double>(packed.data<float>()[first + e])
                                        : packed.data<double>()[first + e];
    ::testing::AssertionResult r =
        agree(c.str() + " head " + std::to_string(h) + " row " + std::to_string(i) +
                  " [output, LSE]",
              Tensor::from_values({d + 1}, got, DType::f64),
              Tensor::from_values({d + 1}, oracle.row(h, i), DType::f64), tol);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

/// One forward and one backward of flash attention: the most extra bytes in use while they
/// ran, and the packed output (head-major, (b, n, s, d + 1), swapped after the probe).
struct FlashRun {
  int64_t peak_extra_bytes = 0;
  Tensor packed;
};

inline FlashRun flash_peak_extra_bytes(const AttentionCase& c) {
  const SeqMajor in(c);
  Graph g;
  Node* q = g.constant(in.q);
  Node* k = g.constant(in.k);
  Node* v = g.constant(in.v);
  Node* y = flash_attention_packed(q, k, v, c.causal);
  Node* b = flash_attention_backward(q, k, v, y, y, c.causal);
  FlashRun run;
  {
    MemoryProbe probe;
    run.packed = eval(std::vector<Node*>{y, b})[0];
    run.peak_extra_bytes = probe.peak_extra_bytes();
  }
  run.packed = swap_heads_and_sequence(run.packed);
  return run;
}

/// Expects the extra memory of `run` below `limit` bytes (a T×T buffer's size, or a fraction
/// of it). Graded, the bytes are observed within `limit` of the reference's: any figure under
/// the limit matches.
inline ::testing::AssertionResult extra_memory_below(const std::string& what, const FlashRun& run,
                                                     double limit) {
  const double bytes = static_cast<double>(run.peak_extra_bytes);
  observe::value(what + ": extra bytes", bytes, limit);
  if (bytes < limit) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bytes << " extra bytes, not below "
                                       << limit << " (the size of a T×T buffer, or the share "
                                       << "of it allowed): is an (s, s) matrix allocated?";
}

}  // namespace gw::labs
