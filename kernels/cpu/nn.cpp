// nn.cpp — CPU kernels of the fused neural-network ops: embedding and its scatter-add,
// softmax, log-softmax, softmax-cross-entropy, RMSNorm, RoPE and SwiGLU (attention.cpp holds
// attention, optimizer.cpp AdamW), each forward next to its backward, under a comment stating
// the math (as llm.c does).
//
// Rows are independent, so every kernel runs OpenMP over rows (or heads); reductions along a
// row accumulate in double so f32 results do not depend on the row length's rounding, in
// four interleaved partial sums (a fixed order, so results do not depend on threads) that the
// compiler keeps in one vector register. Exponentials of f32 data use vec_expf: std::exp on
// doubles made the loss's backward the slowest op per element of a training step.
// Softmax and logsumexp subtract the row maximum first, so large logits never overflow.
// Input errors (ids or targets out of range) are checked before any parallel loop: an
// exception must not escape an OpenMP region.
#include <algorithm>
#include <cmath>
#include <vector>

#include <omp.h>

#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

// Worth threading: below this many elements the fork costs more than the work.
constexpr int64_t kParallelMin = 16384;

int64_t last(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }

/// Σ_j a_j·b_j in double, in four interleaved partial sums.
double dot(const double* a, const double* b, int64_t n) {
  double part[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) part[k] += a[j + k] * b[j + k];
  for (; j < n; ++j) part[0] += a[j] * b[j];
  return (part[0] + part[1]) + (part[2] + part[3]);
}

/// Σ_j a_j·b_j of f32 rows: 16 interleaved f32 partial sums (two AVX registers of multiplies
/// and adds, unfused since the build keeps -ffp-contract=off), each summing h/16 products (an
/// h = 768 row's error is typically near 2⁻²⁴·√48 relative), then added in double. Widening
/// every product to double, as the f64 loop does, took 2.5× as long: 39 µs against 16 per pass
/// over cpu-tiny's (768, 128) activations, and RMSNorm makes four passes.
double dot(const float* a, const float* b, int64_t n) {
  float part[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; ++k) part[k] += a[j + k] * b[j + k];
  double total = 0;
  for (; j < n; ++j) total += static_cast<double>(a[j]) * b[j];
  for (float p : part) total += p;
  return total;
}


// ---- embedding: out[i, :] = table[ids[i], :]; backward scatter-adds rows into (v, h) -------
void check_ids(const Tensor& ids, int64_t vocab, const char* op) {
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    GW_CHECK_AS(ShapeError, id[i] >= 0 && id[i] < vocab, op, ": id ", id[i], " at position ",
                i, " is outside the vocabulary [0, ", vocab, ")");
}

void embedding_kernel(const KernelArgs& args) {
  const Tensor& table = args.inputs[0];  // (v, h)
  const Tensor& ids = args.inputs[1];    // (...)
  const int64_t v = table.size(0), h = table.size(1), rows = ids.numel();
  check_ids(ids, v, "embedding");
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(table.dtype(), "embedding", [&](auto zero) {
    using T = decltype(zero);
    const T* src = table.data<T>();
    const int32_t* id = ids.data<int32_t>();
    T* out = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * h > kParallelMin)
    for (int64_t i = 0; i < rows; ++i)
      std::copy(src + id[i] * h, src + (id[i] + 1) * h, out + i * h);
  });
}

void embedding_backward_kernel(const KernelArgs& args) {
  const Tensor& ids = args.inputs[0];   // (...)
  const Tensor& grad = args.inputs[1];  // (..., h)
  const int64_t v = args.output.size(0), h = args.output.size(1), rows = ids.numel();
  check_ids(ids, v, "embedding_backward");
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(grad.dtype(), "embedding_backward", [&](auto zero) {
    using T = decltype(zero);
    const T* g = grad.data<T>();
    const int32_t* id = ids.data<int32_t>();
    T* out = args.output.data<T>();
    std::fill(out, out + v * h, T(0));
    // Each thread owns a band of columns and walks every row in order: no two threads write
    // the same element, and the sum order (hence the result) does not depend on threads.
#pragma omp parallel if (rows * h > kParallelMin)
    {
      const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t c0 = h * t / nt, c1 = h * (t + 1) / nt;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t c = c0; c < c1; ++c) out[id[i] * h + c] += g[i * h + c];
    }
  });
}

// ---- softmax family over the last axis ----------------------------------------------------
// y = exp(x − max) / Σ exp(x − max)
// log_softmax: y = x − max − log Σ exp(x − max)
// softmax backward:     x̄ = y ∘ (ȳ − Σ ȳ∘y)
// log_softmax backward: x̄ = ȳ − exp(y) · Σ ȳ
template <typename T>
double row_max(const T* x, int64_t n) {
  double m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(x[j]));
  return m;
}
template <typename T>
double row_logsumexp(const T* x, int64_t n) {
  const double m = row_max(x, n);
  if (std::isinf(m)) return m;  // all −inf (fully masked) or an inf: nothing to normalize
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += vec_exp(static_cast<T>(x[j] - static_cast<T>(m)));
  return m + std::log(s);
}

template <bool Log>
void softmax_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t n = last(x), rows = n ? x.numel() / n : 0;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(x.dtype(), Log ? "log_softmax" : "softmax", [&](auto zero) {
    using T = decltype(zero);
    const T* xs = x.data<T>();
    T* ys = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * n > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = xs + r * n;
      T* yr = ys + r * n;
      const double lse = row_logsumexp(xr, n);
      for (int64_t j = 0; j < n; ++j) {
        const double z = static_cast<double>(xr[j]) - lse;
        yr[j] = static_cast<T>(Log ? z : std::exp(z));
      }
    }
  });
}

template <bool Log>
void softmax_backward_kernel(const KernelArgs& args) {
  const Tensor& y = args.inputs[0];
  const Tensor& gy = args.inputs[1];
  const int64_t n = last(y), rows = n ? y.numel() / n : 0;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(y.dtype(), Log ? "log_softmax_backward" : "softmax_backward", [&](auto zero) {
    using T = decltype(zero);
    const T* ys = y.data<T>();
    const T* gs = gy.data<T>();
    T* out = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * n > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* yr = ys + r * n;
      const T* gr = gs + r * n;
      T* o = out + r * n;
      double dot = 0;
      for (int64_t j = 0; j < n; ++j) dot += Log ? gr[j] : static_cast<double>(gr[j]) * yr[j];
      for (int64_t j = 0; j < n; ++j)
        o[j] = Log ? static_cast<T>(gr[j] - std::exp(static_cast<double>(yr[j])) * dot)
                   : static_cast<T>(yr[j] * (gr[j] - dot));
    }
  });
}

// ---- softmax cross-entropy: loss_i = logsumexp(x_i) − x_i[t_i] -------------------------------
// backward: x̄_i = (softmax(x_i) − onehot(t_i)) · ḡ_i
void check_targets(const KernelArgs& args, const char* op) {
  check_ids(args.inputs[1], args.inputs[0].size(1), op);
}

void cross_entropy_kernel(const KernelArgs& args) {
  check_targets(args, "softmax_cross_entropy");
  const Tensor& logits = args.inputs[0];  // (n, v)
  const int64_t rows = logits.size(0), v = logits.size(1);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(logits.dtype(), "softmax_cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    const T* x = logits.data<T>();
    const int32_t* t = args.inputs[1].data<int32_t>();
    T* loss = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * v > kParallelMin)
    for (int64_t r = 0; r < rows; ++r)
      loss[r] = static_cast<T>(row_logsumexp(x + r * v, v) - x[r * v + t[r]]);
  });
}

void cross_entropy_backward_kernel(const KernelArgs& args) {
  check_targets(args, "softmax_cross_entropy_backward");
  const Tensor& logits = args.inputs[0];  // (n, v)
  const int64_t rows = logits.size(0), v = logits.size(1);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(logits.dtype(), "softmax_cross_entropy_backward", [&](auto zero) {
    using T = decltype(zero);
    const T* x = logits.data<T>();
    const int32_t* t = args.inputs[1].data<int32_t>();
    const T* g = args.inputs[2].data<T>();
    T* out = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * v > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * v;
      T* o = out + r * v;
      const double lse = row_logsumexp(xr, v), gr = g[r];
      const T shift = static_cast<T>(lse), scale = static_cast<T>(gr);
      for (int64_t j = 0; j < v; ++j) o[j] = vec_exp(xr[j] - shift) * scale;
      o[t[r]] -= scale;
    }
  });
}

// ---- RMSNorm over the last axis h: r = (mean(x²) + eps)^(−1/2), y = x·r·w -------------------
// x̄_k = r·w_k·ȳ_k − (r³/h)·x_k·Σ_j ȳ_j w_j x_j;   w̄_j = Σ_rows ȳ_j x_j r
template <typename T>
double row_rstd(const T* x, int64_t h, double eps) {
  return 1.0 / std::sqrt(dot(x, x, h) / static_cast<double>(h) + eps);
}

void rms_norm_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  const double eps = args.node.attrs.eps;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(x.dtype(), "rms_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* xs = x.data<T>();
    const T* w = args.inputs[1].data<T>();
    T* y = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * h > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = xs + r * h;
      const T rstd = static_cast<T>(row_rstd(xr, h, eps));
      for (int64_t j = 0; j < h; ++j) y[r * h + j] = xr[j] * rstd * w[j];
    }
  });
}

void rms_norm_backward_input_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  const double eps = args.node.attrs.eps;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(x.dtype(), "rms_norm_backward_input", [&](auto zero) {
    using T = decltype(zero);
    const T* xs = x.data<T>();
    const T* w = args.inputs[1].data<T>();
    const T* gy = args.inputs[2].data<T>();
    T* out = args.output.data<T>();
#pragma omp parallel for schedule(static) if (rows * h > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = xs + r * h;
      const T* gr = gy + r * h;
      const double rstd = row_rstd(xr, h, eps);
      T* gw_row = out + r * h;  // ȳ∘w first, then overwritten by x̄
      for (int64_t j = 0; j < h; ++j) gw_row[j] = gr[j] * w[j];
      const double c = rstd * rstd * rstd * dot(gw_row, xr, h) / static_cast<double>(h);
      const T rs = static_cast<T>(rstd), cs = static_cast<T>(c);
      for (int64_t j = 0; j < h; ++j) gw_row[j] = rs * gw_row[j] - cs * xr[j];
    }
  });
}

void rms_norm_backward_weight_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  const double eps = args.node.attrs.eps;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(x.dtype(), "rms_norm_backward_weight", [&](auto zero) {
    using T = decltype(zero);
    const T* xs = x.data<T>();
    const T* gy = args.inputs[1].data<T>();
    std::vector<double> total(static_cast<size_t>(h), 0.0);
    // Each thread sums its rows into a private (h) vector; the vectors are added in thread
    // order at the end, so rows are read contiguously and no atomics are needed.
#pragma omp parallel if (rows * h > kParallelMin)
    {
      std::vector<double> part(static_cast<size_t>(h), 0.0);
#pragma omp for schedule(static) nowait
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = xs + r * h;
        const T rstd = static_cast<T>(row_rstd(xr, h, eps));
        const T* gr = gy + r * h;
        for (int64_t j = 0; j < h; ++j) part[j] += static_cast<double>(gr[j] * xr[j] * rstd);
      }
#pragma omp for ordered schedule(static, 1)
      for (int t = 0; t < omp_get_num_threads(); ++t) {
#pragma omp ordered
        for (int64_t j = 0; j < h; ++j) total[j] += part[j];
      }
    }
    T* out = args.output.data<T>();
    for (int64_t j = 0; j < h; ++j) out[j] = static_cast<T>(total[j]);
  });
}

// ---- RoPE on x (b, n, s, d) or (b, s, n, d): pair (2i, 2i+1) at position p turns by
// p·theta^(−2i/d). inverse turns by the opposite angle, which is RoPE's VJP (a rotation's
// inverse is its transpose).

/// cos and sin of every (position, pair) angle, computed in double and rounded once to T.
/// Each thread keeps the table of its last (s, d, theta): a training step calls RoPE with the
/// same sizes 16 times, and the s·d/2 pow, cos and sin calls cost more than the rotation.
template <typename T>
struct RopeTable {
  int64_t s = -1, d = -1;
  double theta = 0;
  std::vector<T> cosines, sines;  // (s, d/2)
};
template <typename T>
const RopeTable<T>& rope_table(int64_t s, int64_t d, double theta) {
  thread_local RopeTable<T> t;
  if (t.s == s && t.d == d && t.theta == theta) return t;
  const int64_t half = d / 2;
  t.cosines.resize(static_cast<size_t>(s * half));
  t.sines.resize(t.cosines.size());
  for (int64_t i = 0; i < half; ++i) {
    const double frequency = std::pow(theta, -2.0 * i / static_cast<double>(d));
    for (int64_t p = 0; p < s; ++p) {
      t.cosines[p * half + i] = static_cast<T>(std::cos(p * frequency));
      t.sines[p * half + i] = static_cast<T>(std::sin(p * frequency));
    }
  }
  t.s = s, t.d = d, t.theta = theta;
  return t;
}

void rope_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  // Rows of d elements; row r is at position (r / per_position) % s: one row per position
  // head-major, n rows (one per head) per position sequence-major, 3n when fused, whose last
  // n rows (v) are copied.
  const bool seq_major = args.node.attrs.axis == 1, fused = x.dim() == 5;
  const int64_t s = x.size(seq_major ? 1 : 2), d = x.size(-1), half = d / 2;
  const int64_t rows = x.numel() / d, n = seq_major ? x.size(-2) : 1;
  const int64_t per_position = fused ? 3 * n : n;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(x.dtype(), "rope", [&](auto zero) {
    using T = decltype(zero);
    const RopeTable<T>& table = rope_table<T>(s, d, args.node.attrs.theta);
    const T sign = args.node.attrs.inverse ? T(-1) : T(1);
    const T* xs = x.data<T>();
    T* y = args.output.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t p = r / per_position % s;
      const T* xr = xs + r * d;
      T* yr = y + r * d;
      if (fused && r % per_position >= 2 * n) {  // a row of v
        std::copy(xr, xr + d, yr);
        continue;
      }
      const T* c = table.cosines.data() + p * half;
      const T* sn = table.sines.data() + p * half;
      for (int64_t i = 0; i < half; ++i) {
        const T x0 = xr[2 * i], x1 = xr[2 * i + 1], si = sign * sn[i];
        yr[2 * i] = x0 * c[i] - x1 * si;
        yr[2 * i + 1] = x0 * si + x1 * c[i];
      }
    }
  });
}

// ---- SwiGLU: y = silu(a) ∘ u, silu(a) = a·σ(a) ------------------------------------------------
// ā = ȳ ∘ u ∘ σ(a)(1 + a(1 − σ(a)));  ū = ȳ ∘ a·σ(a). Every floating dtype (16-bit ones in f32).
// The three formulas, given sg = σ(a), shared by the two-input kernels and the packed ones (so
// both compute each element alike, to the bit).
template <typename C>
C swiglu_value(C a, C u, C sg) { return a * sg * u; }
template <typename C>
C swiglu_gate_adjoint(C a, C u, C g, C sg) { return g * u * sg * (1 + a * (1 - sg)); }
template <typename C>
C swiglu_up_adjoint(C a, C g, C sg) { return g * a * sg; }

template <typename F>
void swiglu_loop(const KernelArgs& args, const char* op, const F& fn) {
  dispatch_dtype<CpuStorage, Accepts::floating>(args.output.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    const T* a = args.inputs[0].data<T>();
    const T* b = args.inputs[1].data<T>();
    const T* g = args.inputs.size() > 2 ? args.inputs[2].data<T>() : b;
    T* out = args.output.data<T>();
    const int64_t n = args.output.numel();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
    for (int64_t i = 0; i < n; ++i) store(out, i, fn(load(a, i), load(b, i), load(g, i)));
  });
}

void swiglu_kernel(const KernelArgs& args) {  // inputs a, u
  swiglu_loop(args, "swiglu",
              [](auto a, auto u, auto) { return swiglu_value(a, u, vec_sigmoid(a)); });
}
void swiglu_backward_gate_kernel(const KernelArgs& args) {  // inputs a, u, ȳ
  swiglu_loop(args, "swiglu_backward_gate",
              [](auto a, auto u, auto g) { return swiglu_gate_adjoint(a, u, g, vec_sigmoid(a)); });
}
void swiglu_backward_up_kernel(const KernelArgs& args) {  // inputs a, ȳ
  swiglu_loop(args, "swiglu_backward_up",
              [](auto a, auto g, auto) { return swiglu_up_adjoint(a, g, vec_sigmoid(a)); });
}

// Packed: row r of gate_up holds gate (i elements), then up (i). Backward writes ḡate and ūp
// into the same places of its (..., 2i) output.
template <bool Backward>
void swiglu_packed_kernel(const KernelArgs& args) {
  dispatch_dtype<CpuStorage, Accepts::floating>(args.output.dtype(), args.node.def().name,
                                                [&](auto zero) {
    using T = decltype(zero);
    const T* gu = args.inputs[0].data<T>();
    const T* gy = Backward ? args.inputs[1].data<T>() : nullptr;
    T* out = args.output.data<T>();
    const int64_t i = args.inputs[0].shape().back() / 2;
    const int64_t rows = i == 0 ? 0 : args.inputs[0].numel() / (2 * i);
#pragma omp parallel for schedule(static) if (rows * i > kElementwiseParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      const T* gate = gu + r * 2 * i;
      const T* up = gate + i;
      for (int64_t c = 0; c < i; ++c) {
        const auto a = load(gate, c), u = load(up, c);
        const auto sg = vec_sigmoid(a);
        if constexpr (Backward) {
          const auto g = load(gy, r * i + c);
          store(out, r * 2 * i + c, swiglu_gate_adjoint(a, u, g, sg));
          store(out, r * 2 * i + i + c, swiglu_up_adjoint(a, g, sg));
        } else {
          store(out, r * i + c, swiglu_value(a, u, sg));
        }
      }
    }
  });
}

}  // namespace

void define_nn_kernels(OpRegistry& r) {
  r.define(Op::Embedding).cpu(embedding_kernel);
  r.define(Op::EmbeddingBackward).cpu(embedding_backward_kernel);
  r.define(Op::Softmax).cpu(softmax_kernel<false>);
  r.define(Op::LogSoftmax).cpu(softmax_kernel<true>);
  r.define(Op::SoftmaxBackward).cpu(softmax_backward_kernel<false>);
  r.define(Op::LogSoftmaxBackward).cpu(softmax_backward_kernel<true>);
  r.define(Op::SoftmaxCrossEntropy).cpu(cross_entropy_kernel);
  r.define(Op::SoftmaxCrossEntropyBackward).cpu(cross_entropy_backward_kernel);
  r.define(Op::RMSNorm).cpu(rms_norm_kernel);
  r.define(Op::RMSNormBackwardInput).cpu(rms_norm_backward_input_kernel);
  r.define(Op::RMSNormBackwardWeight).cpu(rms_norm_backward_weight_kernel);
  r.define(Op::RoPE).cpu(rope_kernel);
  r.define(Op::SwiGLU).cpu(swiglu_kernel);
  r.define(Op::SwiGLUBackwardGate).cpu(swiglu_backward_gate_kernel);
  r.define(Op::SwiGLUBackwardUp).cpu(swiglu_backward_up_kernel);
  r.define(Op::SwiGLUPacked).cpu(swiglu_packed_kernel<false>);
  r.define(Op::SwiGLUPackedBackward).cpu(swiglu_packed_kernel<true>);
}

}  // namespace gw::cpu
