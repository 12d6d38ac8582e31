// attention.cpp — naive CPU attention, forward and backward: the baseline of lab 08 (the
// student writes it first; the rest of the project keeps it as flash attention's oracle).
//
// q, k, v, o (b, n, s, d). Per head, with c = scale (1/sqrt(d) by default):
//   S = c·q kᵀ (s, s), masked above the diagonal when causal;  P = softmax_rows(S);  o = P v
// Backward, given ō, recomputing P (the forward saves nothing):
//   v̄ = Pᵀ ō;  dP = ō vᵀ;  D_i = Σ_j P_ij dP_ij;  dS = P ∘ (dP − D);  q̄ = c·dS k;  k̄ = c·dSᵀ q
// The (s, s) matrices of every head live in the workspace that OpDef::workspace declares
// (b·n·s² elements forward, twice that backward), so the executor's memory plan counts the
// T² memory that flash attention (lab 08) removes. The five products per head are BLAS calls.
#include <algorithm>
#include <cmath>
#include <exception>

#include "common/op_shapes.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "cpu/widen.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

using Dims = kernels::AttentionShape;

// x ≤ 0 here. vec_expf clamps x below −87.3, so e^x is never below ~1.2e−38 (not 0, even for
// x = −∞): next to the row's largest term, e^0 = 1, that is nothing, but masked keys are
// written as 0 explicitly.
inline float exp_of(float x) { return vec_expf(x); }
inline double exp_of(double x) { return std::exp(x); }

// P (s, s) of one head: row i holds softmax(c·q_i·k_j) over the keys j it may see, 0 after.
// The scores are one GEMM (BLAS computes the masked upper triangle too: 2x the FLOPs of the
// causal half, still several times faster than dot products), the softmax a pass per row.
template <typename T>
void probabilities(const T* q, const T* k, const Dims& g, T* p) {
  // BEGIN LAB 08: P (s × s, row-major) of one head: the scores c·q kᵀ (c = g.scale, q and k (s, d) row-major; blas_gemm of cpu_kernels.h does the product), then per row i a softmax over the keys row i may see (j ≤ i when g.causal, every key otherwise), stable (subtract the row's max before exp), with P_ij = 0 for the masked keys
  blas_gemm(false, true, g.s, g.s, g.d, static_cast<T>(g.scale), q, k, T(0), p);  // c·q kᵀ
  for (int64_t i = 0; i < g.s; ++i) {
    T* row = p + i * g.s;
    const int64_t seen = g.causal ? i + 1 : g.s;
    T mx = -INFINITY;
    for (int64_t j = 0; j < seen; ++j) mx = std::max(mx, row[j]);
    T sum = 0;
    for (int64_t j = 0; j < seen; ++j) {
      row[j] = exp_of(row[j] - mx);
      sum += row[j];
    }
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < seen; ++j) row[j] *= inv;
    std::fill(row + seen, row + g.s, T(0));
  }
  // END LAB 08
}

// One head's output o (s, d) = P v, with P (s, s) in p.
template <typename T>
void forward_head(const T* q, const T* k, const T* v, const Dims& g, T* p, T* o) {
  // BEGIN LAB 08: naive attention of one head: P = probabilities(q, k, g, p), then o = P v (blas_gemm)
  probabilities(q, k, g, p);
  blas_gemm(false, false, g.s, g.d, g.s, T(1), p, v, T(0), o);  // o = P v
  // END LAB 08
}

// One head's gradients gq, gk, gv (s, d) given ō (s, d), with p and dp two (s, s) scratch
// matrices.
template <typename T>
void backward_head(const T* q, const T* k, const T* v, const T* go, const Dims& g, T* p, T* dp,
                   T* gq, T* gk, T* gv) {
  // BEGIN LAB 08: the naive backward of one head, recomputing P = probabilities(q, k, g, p) (the forward saves nothing): v̄ = Pᵀ ō; dP = ō vᵀ (into dp); D_i = Σ_j P_ij dP_ij; dS = P ∘ (dP − D) (masked P_ij are 0); q̄ = c·dS k; k̄ = c·dSᵀ q (c = g.scale). Every q̄, k̄, v̄ element is written (not accumulated)
  const T c = static_cast<T>(g.scale);
  probabilities(q, k, g, p);
  blas_gemm(false, true, g.s, g.s, g.d, T(1), go, v, T(0), dp);  // dP = ō vᵀ
  blas_gemm(true, false, g.s, g.d, g.s, T(1), p, go, T(0), gv);  // v̄ = Pᵀ ō
  for (int64_t i = 0; i < g.s; ++i) {
    T* pi = p + i * g.s;
    T* dpi = dp + i * g.s;
    T rowdot = 0;  // D_i = Σ_j P_ij dP_ij (masked P_ij are 0)
    for (int64_t j = 0; j < g.s; ++j) rowdot += pi[j] * dpi[j];
    for (int64_t j = 0; j < g.s; ++j) dpi[j] = pi[j] * (dpi[j] - rowdot) * c;  // c·dS
  }
  blas_gemm(false, false, g.s, g.d, g.s, T(1), dp, k, T(0), gq);  // q̄ = c·dS k
  blas_gemm(true, false, g.s, g.d, g.s, T(1), dp, q, T(0), gk);   // k̄ = c·dSᵀ q
  // END LAB 08
}

/// Runs body(h) for h in [0, n) on the OpenMP threads. An exception may not leave a parallel
/// region (the program would terminate), so the first one is kept and rethrown after it.
template <typename F>
void parallel_heads(int64_t n, const F& body) {
  std::exception_ptr error;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < n; ++h) {
    try {
      body(h);
    } catch (...) {
#pragma omp critical(gw_attention_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// Heads run in parallel; each head's products are single-threaded BLAS calls (OpenBLAS runs
// on the calling thread inside an OpenMP region).
template <typename T>
void attention_typed(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  const T* q = args.inputs[0].data<T>();
  const T* k = args.inputs[1].data<T>();
  const T* v = args.inputs[2].data<T>();
  T* o = args.output.data<T>();
  T* scores = static_cast<T*>(args.workspace);
  const int64_t hs = g.s * g.d;  // elements of one head of q, k, v, o
  parallel_heads(g.heads, [&](int64_t h) {
    forward_head(q + h * hs, k + h * hs, v + h * hs, g, scores + h * g.s * g.s, o + h * hs);
  });
}

template <typename T>
void attention_backward_typed(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  const T* q = args.inputs[0].data<T>();
  const T* k = args.inputs[1].data<T>();
  const T* v = args.inputs[2].data<T>();
  const T* go = args.inputs[3].data<T>();
  const int64_t hs = g.s * g.d, all = g.heads * hs;
  T* gq = args.output.data<T>();  // output (3, b, n, s, d) = q̄, k̄, v̄
  T* gk = gq + all;
  T* gv = gk + all;
  T* ws = static_cast<T*>(args.workspace);
  parallel_heads(g.heads, [&](int64_t h) {
    const int64_t off = h * hs;
    backward_head(q + off, k + off, v + off, go + off, g, ws + h * g.s * g.s,
                  ws + (g.heads + h) * g.s * g.s, gq + off, gk + off, gv + off);
  });
}

void attention_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention (cpu): the kernel needs its (b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
  if (needs_widening(args)) return run_widened(args, attention_kernel);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(
      args.output.dtype(), "attention", [&](auto zero) { attention_typed<decltype(zero)>(args); });
}

void attention_backward_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention_backward (cpu): the kernel needs its (2·b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
  if (needs_widening(args)) return run_widened(args, attention_backward_kernel);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(
      args.output.dtype(), "attention_backward",
      [&](auto zero) { attention_backward_typed<decltype(zero)>(args); });
}

}  // namespace

void define_attention_kernels(OpRegistry& r) {
  r.define(Op::Attention).cpu(attention_kernel);
  r.define(Op::AttentionBackward).cpu(attention_backward_kernel);
}

}  // namespace gw::cpu
