// attention.cpp — naive CPU attention, forward and backward: the baseline of lab 08.
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

#include "common/op_shapes.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

using Dims = kernels::AttentionShape;

inline float exp_of(float x) { return vec_expf(x); }  // x ≤ 0 here: no clamping happens
inline double exp_of(double x) { return std::exp(x); }

// P (s, s) of one head: row i holds softmax(c·q_i·k_j) over the keys j it may see, 0 after.
// The scores are one GEMM (BLAS computes the masked upper triangle too: 2x the FLOPs of the
// causal half, still several times faster than dot products), the softmax a pass per row.
template <typename T>
void probabilities(const T* q, const T* k, const Dims& g, T* p) {
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
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < g.heads; ++h) {
    T* p = scores + h * g.s * g.s;
    probabilities(q + h * hs, k + h * hs, g, p);
    blas_gemm(false, false, g.s, g.d, g.s, T(1), p, v + h * hs, T(0), o + h * hs);  // o = P v
  }
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
  const T c = static_cast<T>(g.scale);
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < g.heads; ++h) {
    T* p = ws + h * g.s * g.s;               // P
    T* dp = ws + (g.heads + h) * g.s * g.s;  // dP, then c·dS in place
    const int64_t off = h * hs;
    probabilities(q + off, k + off, g, p);
    blas_gemm(false, true, g.s, g.s, g.d, T(1), go + off, v + off, T(0), dp);  // dP = ō vᵀ
    blas_gemm(true, false, g.s, g.d, g.s, T(1), p, go + off, T(0), gv + off);  // v̄ = Pᵀ ō
    for (int64_t i = 0; i < g.s; ++i) {
      T* pi = p + i * g.s;
      T* dpi = dp + i * g.s;
      T rowdot = 0;  // D_i = Σ_j P_ij dP_ij (masked P_ij are 0)
      for (int64_t j = 0; j < g.s; ++j) rowdot += pi[j] * dpi[j];
      for (int64_t j = 0; j < g.s; ++j) dpi[j] = pi[j] * (dpi[j] - rowdot) * c;  // c·dS
    }
    blas_gemm(false, false, g.s, g.d, g.s, T(1), dp, k + off, T(0), gq + off);  // q̄ = c·dS k
    blas_gemm(true, false, g.s, g.d, g.s, T(1), dp, q + off, T(0), gk + off);   // k̄ = c·dSᵀ q
  }
}

void attention_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention (cpu): the kernel needs its (b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(
      args.output.dtype(), "attention", [&](auto zero) { attention_typed<decltype(zero)>(args); });
}

void attention_backward_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention_backward (cpu): the kernel needs its (2·b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
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
