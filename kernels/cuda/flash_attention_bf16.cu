// flash_attention_bf16.cu — flash attention on tensor cores for bf16 q, k, v (b, s, n, d), d = 64
// or 128: FlashAttention-2's algorithm with WMMA bf16 16×16×16 fragments and f32 accumulators
// (sm_80+). flash_attention.cu dispatches here by dtype.
//
// Forward: one block per (query tile of kRows = 64 rows, head), four warps of 16 query rows
// each. The block walks key tiles of kCols = 64 (K and V staged in shared memory); per tile
// each warp computes S = Q·Kᵀ (its Q fragments stay in registers), runs the online softmax of
// its 16 rows in f32 (running max m and sum l, in log₂ units so exp is one exp2f), writes
// P in bf16 (a tensor-core operand) and rescales its f32 output rows by exp(m_old − m_new),
// then adds P·V. WMMA's accumulator layout is opaque, so the per-row rescale happens on the
// f32 output rows in shared memory: O is loaded into fragments, P·V added, O stored back.
// The packed output row is [O/l, LSE = (m + log₂ l)·ln 2], all f32: a 16-bit LSE would put
// an error of 2⁻⁸·|LSE| into every P the backward recomputes. Causal: key tiles past the
// diagonal are never loaded; the diagonal tile is masked per element.
//
// Backward: a prep kernel reads the packed output y and its adjoint ȳ = [ō, L̄SE] (f32) and
// writes ō in bf16 (an operand), LSE and D_i = ō_i·o_i − L̄SE_i (f32, from the rounded ō),
// in the rows' order, so ō has q's layout and LSE, D one value per row of it, (b, s, n): the row
// at q's element offset o is row o / d. Then one block per
// (key tile of 64, head), four warps of 16 keys; the block walks the query tiles that see
// its keys, and per tile each warp computes Sᵀ = K·Qᵀ and dPᵀ = V·ōᵀ, then
// Pᵀ = exp(c·Sᵀ − LSE) and dSᵀ = Pᵀ∘(dPᵀ − D) (f32, rounded to bf16 only as operands),
// v̄ += Pᵀ·ō and k̄ += dSᵀ·Q in f32 fragments held for the whole walk, and q̄ += dS·K over all
// four warps' dSᵀ, added with f32 atomics into an f32 buffer (the blocks of other key tiles
// add to the same rows). A last kernel scales q̄ by c and rounds it to bf16; k̄ (times c) and
// v̄ are rounded once when the walk ends.
#include <mma.h>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GW_FLASH_TENSOR_CORES 1  // bf16 WMMA exists from sm_80 on
#else
#define GW_FLASH_TENSOR_CORES 0
#endif

namespace gw::cuda {
namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;

constexpr int kWarps = 4;
[[maybe_unused]] constexpr int kThreads = 32 * kWarps;  // (unused only in the lab's stub)
constexpr int kRows = 16 * kWarps;  // the block's own rows: queries (forward), keys (backward)
constexpr int kCols = 64;           // rows of the other side per step of the walk
// The causal walks start at the diagonal tile, which needs the two tile sizes equal.
static_assert(kRows == kCols, "causal tile skipping assumes square tiles");

using Dims = kernels::AttentionShape;  // where each head's rows are (op_shapes.h)

// BEGIN LAB 08: the bf16 tensor-core kernels (sm_80+, WMMA 16×16×16 bf16 fragments with f32 accumulators, four warps of 16 rows per block, tiles of 64): forward_kernel<D> as the f32 kernel but with S = Q·Kᵀ and P·V on tensor cores, the online softmax in f32 (exp2 with log₂ e folded into the scale), the f32 output rows rescaled in shared memory, the packed row [O/l, LSE] written in f32; a prep kernel (ō in bf16, LSE, D = ō·o − L̄SE per row, in the rows' order); backward_kernel<D>, one block per key tile: Sᵀ = K·Qᵀ, dPᵀ = V·ōᵀ, Pᵀ, dSᵀ = Pᵀ∘(dPᵀ − D), v̄ += Pᵀ·ō and k̄ += dSᵀ·Q in fragments held for the walk, q̄ += dS·K added with f32 atomics into an f32 buffer; a kernel that scales q̄ by c into bf16. Guard the tensor-core code with GW_FLASH_TENSOR_CORES so the file compiles for older GPUs
constexpr int kPad16 = 8;           // bf16 rows padded by 16 bytes, f32 rows by 4 floats, so
constexpr int kPad32 = 4;           // that the 16 rows of a fragment start on different banks
constexpr float kLog2e = 1.4426950408889634f;

// Shared memory of the forward, in bytes from the start; every region is a multiple of 128
// bytes, so every fragment pointer is 32-byte aligned as WMMA requires.
template <int D>
struct ForwardSmem {
  static constexpr int ld = D + kPad16;      // bf16 rows of Q, K, V
  static constexpr int lds = kCols + kPad32; // f32 rows of S
  static constexpr int ldp = kCols + kPad16; // bf16 rows of P
  static constexpr int ldo = D + kPad32;     // f32 rows of O
  static constexpr size_t q = 0;
  static constexpr size_t k = q + size_t(kRows) * ld * 2;
  static constexpr size_t v = k + size_t(kCols) * ld * 2;
  static constexpr size_t s = v + size_t(kCols) * ld * 2;
  static constexpr size_t p = s + size_t(kRows) * lds * 4;
  static constexpr size_t o = p + size_t(kRows) * ldp * 2;
  static constexpr size_t bytes = o + size_t(kRows) * ldo * 4;
};

template <int D>
struct BackwardSmem {
  static constexpr int ld = D + kPad16;      // bf16 rows of K, V, Q, ō
  static constexpr int lds = kCols + kPad32; // f32 rows of Sᵀ and dPᵀ
  static constexpr int ldp = kCols + kPad16; // bf16 rows of Pᵀ and dSᵀ
  static constexpr size_t k = 0;
  static constexpr size_t v = k + size_t(kRows) * ld * 2;
  static constexpr size_t q = v + size_t(kRows) * ld * 2;
  static constexpr size_t dout = q + size_t(kCols) * ld * 2;
  static constexpr size_t s = dout + size_t(kCols) * ld * 2;
  static constexpr size_t dp = s + size_t(kRows) * lds * 4;
  static constexpr size_t p = dp + size_t(kRows) * lds * 4;
  static constexpr size_t ds = p + size_t(kRows) * ldp * 2;
  static constexpr size_t lse = ds + size_t(kRows) * ldp * 2;
  static constexpr size_t delta = lse + size_t(kCols) * 4;
  static constexpr size_t bytes = delta + size_t(kCols) * 4;
};

// Rows [r0, r0 + rows) of one head's s rows of D bf16 (src_ld apart in global memory; D and
// src_ld are multiples of 8, so every 16-byte load is aligned) into shared rows of ld
// elements; rows at or past s are zeros (a masked P of 0 times garbage could be NaN).
template <int D>
__device__ void load_rows(bf16* dst, int ld, const bf16* src, int64_t src_ld, int64_t r0,
                          int64_t s, int rows) {
  constexpr int kChunks = D / 8;
  for (int at = threadIdx.x; at < rows * kChunks; at += kThreads) {
    const int r = at / kChunks, c = at % kChunks;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (r0 + r < s) val = *reinterpret_cast<const uint4*>(src + (r0 + r) * src_ld + c * 8);
    *reinterpret_cast<uint4*>(dst + r * ld + c * 8) = val;
  }
}

#if GW_FLASH_TENSOR_CORES
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragAt = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major>;  // Aᵀ stored
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBt = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;  // Bᵀ stored
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
#endif

// q, k, v: (b, s, n, D) bf16; y: (b, s, n, D + 1) f32 (g says where each head's rows are).
// scale2 = c·log₂ e.
template <int D>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const bf16* q, const bf16* k, const bf16* v, float* y, Dims g,
                   float scale2) {
#if GW_FLASH_TENSOR_CORES
  using L = ForwardSmem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem + L::q);
  bf16* ks = reinterpret_cast<bf16*>(smem + L::k);
  bf16* vs = reinterpret_cast<bf16*>(smem + L::v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* sw = reinterpret_cast<float*>(smem + L::s) + warp * 16 * L::lds;  // the warp's rows
  bf16* pw = reinterpret_cast<bf16*>(smem + L::p) + warp * 16 * L::ldp;
  float* os = reinterpret_cast<float*>(smem + L::o);
  float* ow = os + warp * 16 * L::ldo;
  const int64_t s = g.s, ld = g.ld;
  const bool causal = g.causal;
  const int64_t head = blockIdx.y, tiles = (s + kRows - 1) / kRows;
  // Causal: the last query tiles see the most keys, so they are scheduled first.
  const int64_t i0 = (causal ? tiles - 1 - blockIdx.x : blockIdx.x) * kRows;
  q += g.offset(head);
  k += g.offset(head);
  v += g.offset(head);
  load_rows<D>(qs, L::ld, q, ld, i0, s, kRows);
  for (int at = threadIdx.x; at < kRows * L::ldo; at += kThreads) os[at] = 0;
  __syncthreads();
  FragA qf[D / 16];  // the warp's 16 query rows, for the whole walk
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) wmma::load_matrix_sync(qf[kk], qs + warp * 16 * L::ld + kk * 16, L::ld);
  float m[16], l[16];  // per row of the warp (every lane holds all 16), log₂ units
#pragma unroll
  for (int r = 0; r < 16; ++r) m[r] = -INFINITY, l[r] = 0;

  const int64_t keys = causal ? min(s, i0 + kRows) : s;  // later key tiles are wholly masked
  for (int64_t j0 = 0; j0 < keys; j0 += kCols) {
    __syncthreads();  // every warp is done with the previous K and V
    load_rows<D>(ks, L::ld, k, ld, j0, s, kCols);
    load_rows<D>(vs, L::ld, v, ld, j0, s, kCols);
    __syncthreads();
    // S = Q K_jᵀ: Kᵀ is K read column-major.
#pragma unroll
    for (int n = 0; n < kCols / 16; ++n) {
      FragC acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        FragBt b;
        wmma::load_matrix_sync(b, ks + n * 16 * L::ld + kk * 16, L::ld);
        wmma::mma_sync(acc, qf[kk], b, acc);
      }
      wmma::store_matrix_sync(sw + n * 16, acc, L::lds, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax of the warp's rows, two columns per lane.
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int64_t i = i0 + warp * 16 + r;
      float x[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int c = lane + 32 * h;
        const int64_t j = j0 + c;
        const bool seen = j < s && (!causal || j <= i);
        x[h] = seen ? sw[r * L::lds + c] * scale2 : -INFINITY;
      }
      const float mx = fmaxf(m[r], warp_max(fmaxf(x[0], x[1])));
      const float base = mx == -INFINITY ? 0.0f : mx;  // no key seen yet: 0, not ∞ − ∞
      const float p0 = exp2f(x[0] - base), p1 = exp2f(x[1] - base);
      pw[r * L::ldp + lane] = __float2bfloat16(p0);
      pw[r * L::ldp + lane + 32] = __float2bfloat16(p1);
      const float alpha = exp2f(m[r] - base);  // 0 while m is −∞
      l[r] = l[r] * alpha + warp_sum(p0 + p1);
      m[r] = mx;
      for (int e = lane; e < D; e += 32) ow[r * L::ldo + e] *= alpha;
    }
    __syncwarp();
    // O += P V_j, O through f32 fragments.
    FragA pf[kCols / 16];
#pragma unroll
    for (int kk = 0; kk < kCols / 16; ++kk) wmma::load_matrix_sync(pf[kk], pw + kk * 16, L::ldp);
#pragma unroll
    for (int nn = 0; nn < D / 16; ++nn) {
      FragC acc;
      wmma::load_matrix_sync(acc, ow + nn * 16, L::ldo, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kCols / 16; ++kk) {
        FragB b;
        wmma::load_matrix_sync(b, vs + kk * 16 * L::ld + nn * 16, L::ld);
        wmma::mma_sync(acc, pf[kk], b, acc);
      }
      wmma::store_matrix_sync(ow + nn * 16, acc, L::ldo, wmma::mem_row_major);
    }
  }
  __syncwarp();
  // y row i = [O / l, LSE], f32.
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const int64_t i = i0 + warp * 16 + r;
    if (i >= s) continue;  // the same for every lane
    float* out = y + g.packed_offset(head) + i * g.ld_packed;
    const float inv = 1.0f / l[r];
    for (int e = lane; e < D; e += 32) out[e] = ow[r * L::ldo + e] * inv;
    if (lane == 0) out[D] = (m[r] + log2f(l[r])) * 0.6931471805599453f;  // · ln 2
  }
#endif
}

// One warp per row of the packed (rows, d + 1) y and ȳ: ō in bf16, LSE, D = ō·o − L̄SE. D uses
// the same rounded ō as dP = ō·vᵀ, so the rounding perturbs the adjoint, not the difference.
__global__ void backward_prep_kernel(const float* y, const float* gy, bf16* dout, float* lse,
                                     float* delta, int64_t rows, int d) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;  // whole warps
  const float* yr = y + row * (d + 1);
  const float* gr = gy + row * (d + 1);
  float acc = 0;
  for (int e = lane; e < d; e += 32) {
    const bf16 g = __float2bfloat16(gr[e]);
    dout[row * d + e] = g;
    acc += __bfloat162float(g) * yr[e];  // the rounded ō in D too: dP − D then cancels as exactly
  }
  acc = warp_sum(acc);
  if (lane == 0) {
    delta[row] = acc - gr[d];
    lse[row] = yr[d];
  }
}

// q, k, v, dout: (b, s, n, D) bf16; lse, delta: (b, s, n) f32; dq: (b, s, n, D) f32, zeroed,
// summed with atomics; dk, dv: (b, s, n, D) bf16. scale = c.
template <int D>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const bf16* q, const bf16* k, const bf16* v, const bf16* dout,
                    const float* lse, const float* delta, float* dq, bf16* dk, bf16* dv,
                    Dims g, float scale) {
#if GW_FLASH_TENSOR_CORES
  using L = BackwardSmem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* ks = reinterpret_cast<bf16*>(smem + L::k);
  bf16* vs = reinterpret_cast<bf16*>(smem + L::v);
  bf16* qs = reinterpret_cast<bf16*>(smem + L::q);
  bf16* dos = reinterpret_cast<bf16*>(smem + L::dout);
  bf16* dss = reinterpret_cast<bf16*>(smem + L::ds);  // dSᵀ of all four warps
  float* lses = reinterpret_cast<float*>(smem + L::lse);
  float* deltas = reinterpret_cast<float*>(smem + L::delta);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* sw = reinterpret_cast<float*>(smem + L::s) + warp * 16 * L::lds;  // Sᵀ, then staging
  float* dpw = reinterpret_cast<float*>(smem + L::dp) + warp * 16 * L::lds;
  bf16* pw = reinterpret_cast<bf16*>(smem + L::p) + warp * 16 * L::ldp;
  bf16* dsw = dss + warp * 16 * L::ldp;
  const bf16* kw = ks + warp * 16 * L::ld;
  const bf16* vw = vs + warp * 16 * L::ld;
  const float scale2 = scale * kLog2e;
  const int64_t s = g.s, ld = g.ld, ls = g.ld / D;  // ls: rows of LSE and D
  const bool causal = g.causal;
  const int64_t head = blockIdx.y, j0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t hs = g.offset(head);
  q += hs, k += hs, v += hs, dout += hs, dq += hs, dk += hs, dv += hs;
  lse += hs / D;
  delta += hs / D;
  load_rows<D>(ks, L::ld, k, ld, j0, s, kRows);
  load_rows<D>(vs, L::ld, v, ld, j0, s, kRows);
  FragC dkf[D / 16], dvf[D / 16];  // the warp's 16 rows of k̄/c and v̄, for the whole walk
#pragma unroll
  for (int nn = 0; nn < D / 16; ++nn) wmma::fill_fragment(dkf[nn], 0.0f), wmma::fill_fragment(dvf[nn], 0.0f);

  for (int64_t i0 = causal ? j0 : 0; i0 < s; i0 += kCols) {  // causal: earlier queries see none
    __syncthreads();  // every warp is done with the previous Q, ō, dSᵀ
    load_rows<D>(qs, L::ld, q, ld, i0, s, kCols);
    load_rows<D>(dos, L::ld, dout, ld, i0, s, kCols);
    for (int c = threadIdx.x; c < kCols; c += kThreads) {
      const bool row = i0 + c < s;
      lses[c] = row ? lse[(i0 + c) * ls] * kLog2e : INFINITY;
      deltas[c] = row ? delta[(i0 + c) * ls] : 0.0f;
    }
    __syncthreads();
    // Sᵀ = K_w Qᵀ and dPᵀ = V_w ōᵀ: 16 keys × 64 queries per warp.
#pragma unroll
    for (int n = 0; n < kCols / 16; ++n) {
      FragC st, dpt;
      wmma::fill_fragment(st, 0.0f);
      wmma::fill_fragment(dpt, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        FragA a;
        FragBt b;
        wmma::load_matrix_sync(a, kw + kk * 16, L::ld);
        wmma::load_matrix_sync(b, qs + n * 16 * L::ld + kk * 16, L::ld);
        wmma::mma_sync(st, a, b, st);
        wmma::load_matrix_sync(a, vw + kk * 16, L::ld);
        wmma::load_matrix_sync(b, dos + n * 16 * L::ld + kk * 16, L::ld);
        wmma::mma_sync(dpt, a, b, dpt);
      }
      wmma::store_matrix_sync(sw + n * 16, st, L::lds, wmma::mem_row_major);
      wmma::store_matrix_sync(dpw + n * 16, dpt, L::lds, wmma::mem_row_major);
    }
    __syncwarp();
    // Pᵀ = exp(c·Sᵀ − LSE), dSᵀ = Pᵀ ∘ (dPᵀ − D) in f32; bf16 only as the next operands.
    for (int at = lane; at < 16 * kCols; at += 32) {
      const int r = at / kCols, c = at % kCols;
      const int64_t j = j0 + warp * 16 + r, i = i0 + c;
      const bool seen = j < s && i < s && (!causal || j <= i);
      const float p = seen ? exp2f(sw[r * L::lds + c] * scale2 - lses[c]) : 0.0f;
      pw[r * L::ldp + c] = __float2bfloat16(p);
      dsw[r * L::ldp + c] = __float2bfloat16(p * (dpw[r * L::lds + c] - deltas[c]));
    }
    __syncwarp();
    // v̄_w += Pᵀ ō, k̄_w += dSᵀ Q (times c at the end).
#pragma unroll
    for (int kk = 0; kk < kCols / 16; ++kk) {
      FragA pa, da;
      wmma::load_matrix_sync(pa, pw + kk * 16, L::ldp);
      wmma::load_matrix_sync(da, dsw + kk * 16, L::ldp);
#pragma unroll
      for (int nn = 0; nn < D / 16; ++nn) {
        FragB b;
        wmma::load_matrix_sync(b, dos + kk * 16 * L::ld + nn * 16, L::ld);
        wmma::mma_sync(dvf[nn], pa, b, dvf[nn]);
        wmma::load_matrix_sync(b, qs + kk * 16 * L::ld + nn * 16, L::ld);
        wmma::mma_sync(dkf[nn], da, b, dkf[nn]);
      }
    }
    __syncthreads();  // every warp's dSᵀ rows are written
    // q̄ rows of this warp's 16 queries += dS K_j (dS is dSᵀ read column-major), by atomics:
    // the blocks of the other key tiles add to the same rows.
    const int64_t iw = i0 + warp * 16;
    if (iw < s) {  // the same for every lane
      FragAt a[kRows / 16];
#pragma unroll
      for (int kk = 0; kk < kRows / 16; ++kk)
        wmma::load_matrix_sync(a[kk], dss + kk * 16 * L::ldp + warp * 16, L::ldp);
#pragma unroll
      for (int nn = 0; nn < D / 16; ++nn) {
        FragC acc;
        wmma::fill_fragment(acc, 0.0f);
#pragma unroll
        for (int kk = 0; kk < kRows / 16; ++kk) {
          FragB b;
          wmma::load_matrix_sync(b, ks + kk * 16 * L::ld + nn * 16, L::ld);
          wmma::mma_sync(acc, a[kk], b, acc);
        }
        wmma::store_matrix_sync(sw, acc, 16, wmma::mem_row_major);  // Sᵀ is consumed
        __syncwarp();
        for (int at = lane; at < 256; at += 32) {
          const int r = at / 16, c = at % 16;
          if (iw + r < s) atomicAdd(dq + (iw + r) * ld + nn * 16 + c, sw[at]);
        }
        __syncwarp();
      }
    }
  }
  // k̄ = c·Σ dSᵀ Q and v̄ = Σ Pᵀ ō, rounded once to bf16 (through the warp's staging).
  const int64_t jw = j0 + warp * 16;
#pragma unroll
  for (int nn = 0; nn < D / 16; ++nn) {
    for (int t = 0; t < dkf[nn].num_elements; ++t) dkf[nn].x[t] *= scale;
#pragma unroll
    for (int which = 0; which < 2; ++which) {
      wmma::store_matrix_sync(sw, which == 0 ? dkf[nn] : dvf[nn], 16, wmma::mem_row_major);
      __syncwarp();
      bf16* out = which == 0 ? dk : dv;
      for (int at = lane; at < 256; at += 32) {
        const int r = at / 16, c = at % 16;
        if (jw + r < s) out[(jw + r) * ld + nn * 16 + c] = __float2bfloat16(sw[at]);
      }
      __syncwarp();
    }
  }
#endif
}

__global__ void scale_to_bf16_kernel(const float* in, bf16* out, int64_t n, float scale) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16(in[i] * scale);
}
// END LAB 08

// A bf16 tensor's device pointer (Tensor::data<T> knows the CPU's gw::bf16, not CUDA's type).
[[maybe_unused]] bf16* bf16_of(const Tensor& t) {
  GW_CHECK_AS(DTypeError, t.dtype() == DType::bf16, "flash attention (cuda, bf16): a tensor is ",
              dtype_name(t.dtype()), ", not bf16");
  return static_cast<bf16*>(t.raw());
}

// d = 64 or 128 (the kernels are templates over d: their fragments live in registers), b·n
// within a grid's y dimension, and a device with bf16 tensor cores.
void check_supported(const char* op, const KernelArgs& args, const Dims& g) {
  const Shape& q = args.inputs[0].shape();
  GW_CHECK_AS(ShapeError, g.d == 64 || g.d == 128, op, " (cuda, bf16): q ", shape_str(q),
              " has head dimension d = ", g.d, "; the bf16 tensor-core kernels take d = 64 or 128");
  GW_CHECK_AS(ShapeError, g.heads <= 65535, op, " (cuda, bf16): q ", shape_str(q), " has b·n = ",
              g.heads, " heads, at most 65535");
  int device = 0, major = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  GW_CHECK_AS(DeviceError, major >= 8, op, " (cuda, bf16): compute capability ", major,
              ".x has no bf16 tensor cores (sm_80 or later)");
}

[[maybe_unused]] dim3 grid_of(const Dims& g) {
  return dim3(static_cast<unsigned>((g.s + kRows - 1) / kRows), static_cast<unsigned>(g.heads));
}

// Kernels using more than 48 KiB of dynamic shared memory must say so first.
template <typename Kernel>
void allow_shared(Kernel kernel, size_t bytes) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(bytes)));
}

template <int D>
void forward_d(const KernelArgs& args, const Dims& g) {
  // BEGIN LAB 08: launch forward_kernel<D> on grid_of(g), kThreads threads, with its shared memory (allow_shared first when it is above 48 KiB), on stream_of(args)
  constexpr size_t shared = ForwardSmem<D>::bytes;
  allow_shared(forward_kernel<D>, shared);
  forward_kernel<D><<<grid_of(g), kThreads, shared, stream_of(args)>>>(
      bf16_of(args.inputs[0]), bf16_of(args.inputs[1]), bf16_of(args.inputs[2]),
      args.output.data<float>(), g, static_cast<float>(g.scale) * kLog2e);
  CUDA_CHECK_LAUNCH();
  // END LAB 08
}

template <int D>
void backward_d(const KernelArgs& args, const Dims& g) {
  // BEGIN LAB 08: scratch tensors on the output's device (ō in bf16, LSE and D in f32, q̄ in f32 zeroed), then the prep kernel, backward_kernel<D> (k̄, v̄ into the output's second and third parts) and the q̄ scaling into its first part, in stream order on stream_of(args)
  const cudaStream_t st = stream_of(args);
  const Device dev = args.output.device();
  const int64_t rows = g.heads * g.s, all = rows * D;
  // Scratch from the caching allocator, used in stream order: ō in bf16, LSE and D, q̄ in f32.
  Tensor dout = Tensor::empty({all}, DType::bf16, dev);
  Tensor stats = Tensor::empty({2 * rows}, DType::f32, dev);
  Tensor dq = Tensor::empty({all}, DType::f32, dev);
  float* lse = stats.data<float>();
  float* delta = lse + rows;
  CUDA_CHECK(cudaMemsetAsync(dq.raw(), 0, dq.nbytes(), st));
  backward_prep_kernel<<<static_cast<unsigned>((rows * 32 + 255) / 256), 256, 0, st>>>(
      args.inputs[3].data<float>(), args.inputs[4].data<float>(), bf16_of(dout), lse, delta,
      rows, D);
  CUDA_CHECK_LAUNCH();
  bf16* out = bf16_of(args.output);  // (3, b, s, n, d) = q̄, k̄, v̄
  constexpr size_t shared = BackwardSmem<D>::bytes;
  allow_shared(backward_kernel<D>, shared);
  backward_kernel<D><<<grid_of(g), kThreads, shared, st>>>(
      bf16_of(args.inputs[0]), bf16_of(args.inputs[1]), bf16_of(args.inputs[2]),
      bf16_of(dout), lse, delta, dq.data<float>(), out + all, out + 2 * all, g,
      static_cast<float>(g.scale));
  CUDA_CHECK_LAUNCH();
  scale_to_bf16_kernel<<<blocks_for(all), 256, 0, st>>>(dq.data<float>(), out, all,
                                                        static_cast<float>(g.scale));
  CUDA_CHECK_LAUNCH();
  // END LAB 08
}

}  // namespace

void flash_attention_bf16(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  check_supported("flash_attention", args, g);
  if (g.heads == 0) return;  // b = 0: a grid of no blocks is a launch error
  if (g.d == 64) return forward_d<64>(args, g);
  return forward_d<128>(args, g);
}

void flash_attention_backward_bf16(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  check_supported("flash_attention_backward", args, g);
  if (g.heads == 0) return;  // b = 0: a grid of no blocks is a launch error
  if (g.d == 64) return backward_d<64>(args, g);
  return backward_d<128>(args, g);
}

}  // namespace gw::cuda
