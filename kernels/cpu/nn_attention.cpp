// nn_attention.cpp — naive CPU attention, forward and backward: the baseline of lab 08.
//
// q, k, v, o (b, n, s, d). Per head, with c = scale (1/sqrt(d) by default):
//   S = c·q kᵀ (s, s), masked above the diagonal when causal;  P = softmax_rows(S);  o = P v
// Backward, given ō, recomputing P (the forward saves nothing):
//   v̄ = Pᵀ ō;  dP = ō vᵀ;  D_i = Σ_j P_ij dP_ij;  dS = P ∘ (dP − D);  q̄ = c·dS k;  k̄ = c·dSᵀ q
// The (s, s) matrices of every head live in the workspace that OpDef::workspace declares
// (b·n·s² elements forward, twice that backward), so the executor's memory plan counts the
// T² memory that flash attention (lab 08) removes. Heads run in parallel with OpenMP.
#include <algorithm>
#include <cmath>

#include "cpu/cpu_kernels.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

struct Dims {
  int64_t heads, s, d;
  double scale;
  bool causal;
};

Dims dims_of(const KernelArgs& args) {
  const Tensor& q = args.inputs[0];
  Dims g{q.size(0) * q.size(1), q.size(2), q.size(3), args.node.attrs.scalar,
         args.node.attrs.flag};
  if (g.scale == 0.0) g.scale = 1.0 / std::sqrt(static_cast<double>(g.d));
  return g;
}

template <typename T>
T dot(const T* a, const T* b, int64_t d) {
  T acc = 0;
  for (int64_t i = 0; i < d; ++i) acc += a[i] * b[i];
  return acc;
}

// P (s, s) of one head: row i holds softmax(c·q_i·k_j) over the keys j it may see, 0 after.
template <typename T>
void probabilities(const T* q, const T* k, const Dims& g, T* p) {
  for (int64_t i = 0; i < g.s; ++i) {
    T* row = p + i * g.s;
    const int64_t seen = g.causal ? i + 1 : g.s;
    T mx = -INFINITY;
    for (int64_t j = 0; j < seen; ++j) {
      row[j] = static_cast<T>(g.scale) * dot(q + i * g.d, k + j * g.d, g.d);
      mx = std::max(mx, row[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < seen; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += row[j];
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < seen; ++j) row[j] *= inv;
    std::fill(row + seen, row + g.s, T(0));
  }
}

template <typename T>
void attention_typed(const KernelArgs& args) {
  const Dims g = dims_of(args);
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
    T* oh = o + h * hs;
    std::fill(oh, oh + hs, T(0));
    for (int64_t i = 0; i < g.s; ++i)
      for (int64_t j = 0; j < (g.causal ? i + 1 : g.s); ++j) {
        const T pij = p[i * g.s + j];
        const T* vj = v + h * hs + j * g.d;
        for (int64_t c = 0; c < g.d; ++c) oh[i * g.d + c] += pij * vj[c];
      }
  }
}

template <typename T>
void attention_backward_typed(const KernelArgs& args) {
  const Dims g = dims_of(args);
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
    T* p = ws + h * g.s * g.s;                     // P, then dS in place
    T* dp = ws + (g.heads + h) * g.s * g.s;        // dP
    const int64_t off = h * hs;
    probabilities(q + off, k + off, g, p);
    std::fill(gq + off, gq + off + hs, T(0));
    std::fill(gk + off, gk + off + hs, T(0));
    std::fill(gv + off, gv + off + hs, T(0));
    for (int64_t i = 0; i < g.s; ++i) {
      const int64_t seen = g.causal ? i + 1 : g.s;
      const T* goi = go + off + i * g.d;
      T rowdot = 0;  // D_i = Σ_j P_ij dP_ij
      for (int64_t j = 0; j < seen; ++j) {
        const T pij = p[i * g.s + j];
        T* gvj = gv + off + j * g.d;
        for (int64_t e = 0; e < g.d; ++e) gvj[e] += pij * goi[e];  // v̄ = Pᵀ ō
        dp[i * g.s + j] = dot(goi, v + off + j * g.d, g.d);        // dP = ō vᵀ
        rowdot += pij * dp[i * g.s + j];
      }
      for (int64_t j = 0; j < seen; ++j) {
        const T ds = p[i * g.s + j] * (dp[i * g.s + j] - rowdot) * c;  // c·dS
        const T* kj = k + off + j * g.d;
        const T* qi = q + off + i * g.d;
        T* gqi = gq + off + i * g.d;
        T* gkj = gk + off + j * g.d;
        for (int64_t e = 0; e < g.d; ++e) {
          gqi[e] += ds * kj[e];  // q̄ = c·dS k
          gkj[e] += ds * qi[e];  // k̄ = c·dSᵀ q
        }
      }
    }
  }
}

void attention_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention (cpu): the kernel needs its (b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
  if (args.output.dtype() == DType::f64) return attention_typed<double>(args);
  GW_CHECK_AS(DTypeError, args.output.dtype() == DType::f32, "attention (cpu): dtype ",
              dtype_name(args.output.dtype()), " has no CPU kernel");
  attention_typed<float>(args);
}

void attention_backward_kernel(const KernelArgs& args) {
  GW_CHECK(args.workspace != nullptr || args.output.numel() == 0,
           "attention_backward (cpu): the kernel needs its (2·b·n·s·s) workspace");
  if (args.output.numel() == 0) return;
  if (args.output.dtype() == DType::f64) return attention_backward_typed<double>(args);
  GW_CHECK_AS(DTypeError, args.output.dtype() == DType::f32, "attention_backward (cpu): dtype ",
              dtype_name(args.output.dtype()), " has no CPU kernel");
  attention_backward_typed<float>(args);
}

}  // namespace

void register_attention_kernels(OpDef* table) {
  table[static_cast<size_t>(Op::Attention)].cpu = attention_kernel;
  table[static_cast<size_t>(Op::AttentionBackward)].cpu = attention_backward_kernel;
}

}  // namespace gw::cpu
