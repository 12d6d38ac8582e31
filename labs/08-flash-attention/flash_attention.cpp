// Lab 08: your copy of this file. Replace each GW_TODO("lab 08: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// flash_attention.cpp — lab 08: flash attention on the CPU, forward and backward.
//
// q, k, v (b, s, n, d), per head S = c·q kᵀ (c = scale, 1/√d by default), masked above the
// diagonal when causal, P = softmax_rows(S), o = P v. The naive kernels (attention.cpp) hold
// every (s, s) matrix; these hold only tiles of kRows queries × kCols keys, so their extra
// memory does not grow with s². Sequence-major q, k, v are the layout x·W_q produces: one
// head's s rows of d elements lie n·d apart (Flash::ld; 3·n·d when q, k, v come fused as one
// (b, s, 3, n, d), the output of x·[W_q | W_k | W_v]), and the products read them in place
// through BLAS's leading dimension.
//
// Forward, per (head, query tile): walk the key tiles keeping for each row the running max m
// and the running sum l of exp(S − m); when a tile raises m, rescale l and the unnormalized
// output by exp(m_old − m_new). At the end o = acc / l and LSE = m + log l, written as the
// row's last element of the packed output (b, s, n, d + 1).
// Backward, per head, given the packed output y and its adjoint ȳ = [ō, L̄SE]:
//   D_i = ō_i·o_i − L̄SE_i;  per (key tile j, query tile i): P = exp(S − LSE) (recomputed),
//   v̄_j += Pᵀ ō_i;  dP = ō_i v_jᵀ;  dS = P ∘ (dP − D);  q̄_i += c·dS k_j;  k̄_j += c·dSᵀ q_i.
// A causal pass skips the tiles wholly above the diagonal in both directions.
//
// The products are single-threaded BLAS calls on tiles (blas_gemm, cpu_kernels.h); threads
// take query tiles (forward) or heads (backward, which owns k̄ and v̄ of its head). Each
// thread's scratch comes from the counting allocator, so MemoryProbe sees it. f16 and bf16
// q, k, v run the f32 path on widened copies (run_widened): the packed output is f32, the
// gradients are accumulated in f32 and rounded once to q's dtype (the oracle of the CUDA bf16
// kernels).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "common/op_shapes.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "cpu/widen.h"
#include "gw/allocator.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

constexpr int64_t kRows = 64;  // queries per tile
constexpr int64_t kCols = 64;  // keys per tile: S and P tiles of 16 KiB (f32) stay in L1/L2

// vec_expf clamps x below −87.3: e^x is never below ~1.2e−38, not 0 even for x = −∞, so masked
// keys are written as 0 explicitly.
inline float exp_of(float x) { return vec_expf(x); }
inline double exp_of(double x) { return std::exp(x); }
// A causal backward starts each key tile's walk at the query tile holding its diagonal.
static_assert(kRows == kCols, "causal tile skipping assumes square tiles");

/// The sizes every tile function reads. One head's q, k, v (and q̄, k̄, v̄) are s rows of d
/// elements, row i at ld·i; its packed output y and adjoint ȳ are s rows of d + 1 (the output,
/// then the LSE), row i at ldy·i.
template <typename T>
struct Flash {
  int64_t s = 0, d = 0;
  int64_t ld = 0, ldy = 0;  // n·d (3·n·d for a fused qkv) and n·(d + 1) for (b, s, n, d)
  T scale = 1;
  bool causal = false;
};

/// Keys of query row i that the tile [j0, j0 + cols) holds and the row may see.
inline int64_t keys_seen(bool causal, int64_t i, int64_t j0, int64_t cols) {
  return causal ? std::clamp<int64_t>(i - j0 + 1, 0, cols) : cols;
}

// Query rows [i0, i1) of one head. y: the head's packed output (rows ldy apart). scratch:
// kRows·kCols + kRows·d + 2·kRows elements.
template <typename T>
void forward_tile(const Flash<T>& f, const T* q, const T* k, const T* v, T* y, int64_t i0,
                  int64_t i1, T* scratch) {
  GW_TODO("lab 08: the tiled forward of query rows [i0, i1): for each key tile (up to row i1 − 1 when causal: later tiles are wholly masked), S = c·Q_i K_jᵀ; per row a running max m and sum l of exp(S − m), masked keys (j > i when causal) left out, the output accumulator and l rescaled by exp(m_old − m_new) when m grows; acc += P V_j; then y row i = [acc/l, m + log l] (d + 1 elements at y + i·ldy). Row i of q, k, v is at i·ld (blas_gemm's leading-dimension overload reads such rows in place). Never allocate anything of size s·s", f, q, k, v, y, i0, i1, scratch);
}

// One head's gradients. y, gy: its packed output and adjoint (rows ldy apart); gq, gk, gv
// (rows ld apart, as q). scratch: s·d + 2·s + 2·kRows·kCols elements.
template <typename T>
void backward_head(const Flash<T>& f, const T* q, const T* k, const T* v, const T* y,
                   const T* gy, T* gq, T* gk, T* gv, T* scratch) {
  GW_TODO("lab 08: the tiled backward of one head: D_i = ō_i·o_i − L̄SE_i (ō_i, o_i the first d elements of row i of gy and y, at i·ldy, L̄SE_i and LSE_i their last); zero q̄, k̄, v̄ (rows at i·ld, as q); per key tile j and each query tile i that can see it (causal: i1 > j0): P = exp(c·Q_i K_jᵀ − LSE) with masked keys 0, v̄_j += Pᵀ ō_i, dP = ō_i V_jᵀ, dS = P ∘ (dP − D), q̄_i += c·dS K_j, k̄_j += c·dSᵀ Q_i. Never allocate anything of size s·s", f, q, k, v, y, gy, gq, gk, gv, scratch);
}

/// Scratch from the counting allocator, one slice per thread.
template <typename T>
class Scratch {
 public:
  Scratch(int64_t per_thread, int threads)
      : per_(per_thread), bytes_(static_cast<size_t>(per_thread * threads) * sizeof(T)),
        data_(static_cast<T*>(allocate(bytes_, Device::cpu()))) {}
  ~Scratch() { release(data_, bytes_, Device::cpu()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* of_thread() const { return data_ + per_ * omp_get_thread_num(); }

 private:
  int64_t per_;
  size_t bytes_;
  T* data_;
};

/// Runs body(t) for t in [0, n) on the OpenMP threads. An exception may not leave a parallel
/// region (the program would terminate), so the first one is kept and rethrown after it.
template <typename F>
void parallel_tasks(int64_t n, const F& body) {
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < n; ++t) {
    try {
      body(t);
    } catch (...) {
#pragma omp critical(gw_flash_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

/// Where q, k and v start: three inputs, or one fused (b, s, 3, n, d) whose k and v begin
/// g.part and 2·g.part elements after q (every row then ld = 3·n·d apart).
template <typename T>
struct Qkv {
  const T *q, *k, *v;
};
template <typename T>
Qkv<T> qkv_inputs(const KernelArgs& args, const kernels::AttentionShape& g) {
  const T* q = args.inputs[0].data<T>();
  if (g.fused) return {q, q + g.part, q + 2 * g.part};
  return {q, args.inputs[1].data<T>(), args.inputs[2].data<T>()};
}

template <typename T>
Flash<T> flash_of(const kernels::AttentionShape& g) {
  return Flash<T>{g.s, g.d, g.ld, g.ld_packed, static_cast<T>(g.scale), g.causal};
}

template <typename T>
void forward_typed(const KernelArgs& args) {
  const kernels::AttentionShape g = kernels::attention_shape(args.node);
  const Flash<T> f = flash_of<T>(g);
  const Qkv<T> in = qkv_inputs<T>(args, g);
  const T *q = in.q, *k = in.k, *v = in.v;
  T* y = args.output.data<T>();
  const int64_t tiles = (g.s + kRows - 1) / kRows;
  Scratch<T> scratch(kRows * kCols + kRows * g.d + 2 * kRows, omp_get_max_threads());
  // Causal tiles differ in work (tile i sees i + 1 key tiles): dynamic scheduling.
  parallel_tasks(g.heads * tiles, [&](int64_t t) {
    const int64_t h = t / tiles, i0 = t % tiles * kRows, at = g.offset(h);
    forward_tile(f, q + at, k + at, v + at, y + g.packed_offset(h), i0,
                 std::min(i0 + kRows, g.s), scratch.of_thread());
  });
}

template <typename T>
void backward_typed(const KernelArgs& args) {
  const kernels::AttentionShape g = kernels::attention_shape(args.node);
  const Flash<T> f = flash_of<T>(g);
  const Qkv<T> in = qkv_inputs<T>(args, g);
  const T *q = in.q, *k = in.k, *v = in.v;
  const size_t after = g.fused ? 1 : 3;  // the packed output and its adjoint follow q, k, v
  const T* y = args.inputs[after].data<T>();
  const T* gy = args.inputs[after + 1].data<T>();
  // q̄, k̄, v̄: the parts of the output (3, b, s, n, d), or side by side in a fused
  // (b, s, 3, n, d) as qkv is: g.part elements apart either way.
  T* gq = args.output.data<T>();
  T* gk = gq + g.part;
  T* gv = gk + g.part;
  Scratch<T> scratch(g.s * g.d + 2 * g.s + 2 * kRows * kCols, omp_get_max_threads());
  parallel_tasks(g.heads, [&](int64_t h) {
    const int64_t at = g.offset(h), aty = g.packed_offset(h);
    backward_head(f, q + at, k + at, v + at, y + aty, gy + aty, gq + at, gk + at, gv + at,
                  scratch.of_thread());
  });
}

// 16-bit q, k, v run the f32 kernels through run_widened (widen.h), as the naive op does:
// exact f32 copies of q, k, v (the packed output and its adjoint are f32 already), the
// backward's gradients rounded once into q's dtype.
void flash_attention_kernel(const KernelArgs& args) {
  if (needs_widening(args)) return run_widened(args, flash_attention_kernel);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(
      args.output.dtype(), "flash_attention",
      [&](auto zero) { forward_typed<decltype(zero)>(args); });
}

void flash_attention_backward_kernel(const KernelArgs& args) {
  if (needs_widening(args)) return run_widened(args, flash_attention_backward_kernel);
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(
      args.output.dtype(), "flash_attention_backward",
      [&](auto zero) { backward_typed<decltype(zero)>(args); });
}

}  // namespace

void define_flash_attention_kernels(OpRegistry& r) {
  r.define(Op::FlashAttention).cpu(flash_attention_kernel);
  r.define(Op::FlashAttentionBackward).cpu(flash_attention_backward_kernel);
}

}  // namespace gw::cpu
