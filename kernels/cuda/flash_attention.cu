// flash_attention.cu — flash attention on the GPU, forward and backward, f32 and f64: the
// algorithm of lab 08's CPU kernels (flash_attention.cpp) with one thread per query row
// (forward, q̄) or key row (k̄, v̄) and the other side's rows staged through shared memory
// in tiles of kTile. No (s, s) buffer exists; causal blocks stop at their diagonal.
//
// q, k, v are (b, s, n, d) (kernels::AttentionShape: head h's row i at offset(h) + i·ld; its
// packed output row at packed_offset(h) + i·ld_packed).
// Forward: block (query tile, head), kBlock threads, one row each; the block walks key
// tiles (K and V in shared memory) with a running max m and sum l per row, rescaling the
// row's accumulator, which is its packed output row (d + 1 elements), when m grows. Row i
// ends as [o_i, LSE_i = m + log l].
// Backward: P_ij = exp(c·q_i·k_j − LSE_i), D_i = ō_i·o_i − L̄SE_i (ȳ's last column).
//   keys kernel:    thread j, tiles of queries (q, ō, LSE, D staged) → v̄_j = Σ_i P_ij ō_i,
//                   k̄_j = c·Σ_i dS_ij q_i with dS_ij = P_ij (ō_i·v_j − D_i)
//   queries kernel: thread i, tiles of keys (k, v staged) → q̄_i = c·Σ_j dS_ij k_j
// Each thread owns its output row, so no atomics. d ≤ kMaxDim (the shared tiles' size).
// bf16 q, k, v go to the tensor-core kernels of flash_attention_bf16.cu, f16 to these on
// widened f32 copies (see flash_attention below).
#include <cmath>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

namespace gw::cuda {

// The bf16 tensor-core kernels (flash_attention_bf16.cu).
void flash_attention_bf16(const KernelArgs& args);
void flash_attention_backward_bf16(const KernelArgs& args);

namespace {

constexpr int kBlock = 64;     // threads per block: query (or key) rows per block
[[maybe_unused]] constexpr int kTile = 16;  // rows of the other side staged in shared memory
constexpr int kMaxDim = 128;   // largest head dimension the shared tiles hold

using Dims = kernels::AttentionShape;  // where each head's rows are (op_shapes.h)

// BEGIN LAB 08: the three f32/f64 kernels, one thread per row and the other side's rows staged in shared memory kTile at a time (Dims g says where head h's rows are: offset(h) + i·ld, packed rows at packed_offset(h) + i·ld_packed). forward_kernel: block (query tile of kBlock rows, head); per key tile, per seen key, the online softmax of the row's scores with its running max m and sum l, rescaling the accumulator (the packed output row itself) when m grows; row i ends as [o_i, m + log l]; causal blocks stop at their diagonal. backward_keys_kernel: thread j owns k̄_j and v̄_j; per query tile (q, ō, LSE and D = ō·o − L̄SE staged), P = exp(c·q·k_j − LSE), dS = P(ō·v_j − D), v̄_j += P·ō, k̄_j += c·dS·q. backward_queries_kernel: thread i owns q̄_i = c·Σ_j dS_ij k_j over key tiles. No (s, s) buffer, no atomics
__device__ __forceinline__ int64_t lo(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t hi(int64_t a, int64_t b) { return a > b ? a : b; }

template <typename T>
__device__ T dot(const T* a, const T* b, int d) {
  T acc = 0;
  for (int e = 0; e < d; ++e) acc += a[e] * b[e];
  return acc;
}

// Rows [r0, r0 + rows) of one head (rows ld apart) into packed shared rows of d.
template <typename T>
__device__ void stage_rows(T* dst, const T* src, int64_t r0, int rows, int d, int64_t ld) {
  for (int at = threadIdx.x; at < rows * d; at += kBlock)
    dst[at] = src[(r0 + at / d) * ld + at % d];
}

template <typename T>
__global__ void forward_kernel(const T* q, const T* k, const T* v, T* y, Dims g, T scale) {
  extern __shared__ unsigned char smem[];
  const int64_t s = g.s, ld = g.ld;
  const int d = static_cast<int>(g.d);
  const bool causal = g.causal;
  T* ks = reinterpret_cast<T*>(smem);  // kTile × d
  T* vs = ks + kTile * d;
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t i = first + threadIdx.x;
  const bool active = i < s;
  q += g.offset(head);
  k += g.offset(head);
  v += g.offset(head);
  T* acc = y + g.packed_offset(head) + (active ? i : 0) * g.ld_packed;
  T m = -INFINITY, l = 0;
  if (active)
    for (int e = 0; e < d; ++e) acc[e] = 0;
  const int64_t keys = causal ? lo(s, first + kBlock) : s;  // later key tiles are masked
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    const int cols = static_cast<int>(lo(kTile, keys - j0));
    __syncthreads();
    stage_rows(ks, k, j0, cols, d, ld);
    stage_rows(vs, v, j0, cols, d, ld);
    __syncthreads();
    if (!active) continue;
    const int seen = causal ? static_cast<int>(hi(0, lo(cols, i - j0 + 1)))
                            : cols;
    for (int j = 0; j < seen; ++j) {
      const T score = scale * dot(q + i * ld, ks + j * d, d);
      if (score > m) {  // the max grows: rescale what was summed under the old one
        const T alpha = m == -INFINITY ? T(0) : exp(m - score);
        l *= alpha;
        for (int e = 0; e < d; ++e) acc[e] *= alpha;
        m = score;
      }
      const T p = exp(score - m);
      l += p;
      for (int e = 0; e < d; ++e) acc[e] += p * vs[j * d + e];
    }
  }
  if (!active) return;
  for (int e = 0; e < d; ++e) acc[e] /= l;
  acc[d] = m + log(l);
}

// ō_i·o_i − L̄SE_i from the packed output and adjoint rows.
template <typename T>
__device__ T row_delta(const T* y_row, const T* gy_row, int d) {
  return dot(gy_row, y_row, d) - gy_row[d];
}

template <typename T>
__global__ void backward_keys_kernel(const T* q, const T* k, const T* v, const T* y,
                                     const T* gy, T* gk, T* gv, Dims g, T scale) {
  extern __shared__ unsigned char smem[];
  const int64_t s = g.s, ld = g.ld, ldy = g.ld_packed;
  const int d = static_cast<int>(g.d);
  const bool causal = g.causal;
  T* qs = reinterpret_cast<T*>(smem);  // kTile × d
  T* gos = qs + kTile * d;             // kTile × d
  T* lse = gos + kTile * d;            // kTile
  T* delta = lse + kTile;              // kTile
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t j = first + threadIdx.x;
  const bool active = j < s;
  const int64_t hs = g.offset(head), hy = g.packed_offset(head);
  T* dk = gk + hs + (active ? j : 0) * ld;
  T* dv = gv + hs + (active ? j : 0) * ld;
  if (active)
    for (int e = 0; e < d; ++e) dk[e] = dv[e] = 0;
  const T* kj = k + hs + (active ? j : 0) * ld;
  const T* vj = v + hs + (active ? j : 0) * ld;
  for (int64_t i0 = causal ? first / kTile * kTile : 0; i0 < s; i0 += kTile) {
    const int rows = static_cast<int>(lo(kTile, s - i0));
    __syncthreads();
    stage_rows(qs, q + hs, i0, rows, d, ld);
    stage_rows(gos, gy + hy, i0, rows, d, ldy);
    if (threadIdx.x < rows) {
      const int64_t r = i0 + threadIdx.x;
      lse[threadIdx.x] = y[hy + r * ldy + d];
      delta[threadIdx.x] = row_delta(y + hy + r * ldy, gy + hy + r * ldy, d);
    }
    __syncthreads();
    if (!active) continue;
    for (int a = 0; a < rows; ++a) {
      if (causal && i0 + a < j) continue;
      const T p = exp(scale * dot(qs + a * d, kj, d) - lse[a]);
      const T ds = p * (dot(gos + a * d, vj, d) - delta[a]) * scale;
      for (int e = 0; e < d; ++e) {
        dv[e] += p * gos[a * d + e];
        dk[e] += ds * qs[a * d + e];
      }
    }
  }
}

template <typename T>
__global__ void backward_queries_kernel(const T* q, const T* k, const T* v, const T* y,
                                        const T* gy, T* gq, Dims g, T scale) {
  extern __shared__ unsigned char smem[];
  const int64_t s = g.s, ld = g.ld, ldy = g.ld_packed;
  const int d = static_cast<int>(g.d);
  const bool causal = g.causal;
  T* ks = reinterpret_cast<T*>(smem);  // kTile × d
  T* vs = ks + kTile * d;
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t i = first + threadIdx.x;
  const bool active = i < s;
  const int64_t hs = g.offset(head), hy = g.packed_offset(head);
  const int64_t row = active ? i : 0;
  T* dq = gq + hs + row * ld;
  const T* qi = q + hs + row * ld;
  const T* gi = gy + hy + row * ldy;
  const T lse = y[hy + row * ldy + d];
  const T delta = row_delta(y + hy + row * ldy, gi, d);
  if (active)
    for (int e = 0; e < d; ++e) dq[e] = 0;
  const int64_t keys = causal ? lo(s, first + kBlock) : s;
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    const int cols = static_cast<int>(lo(kTile, keys - j0));
    __syncthreads();
    stage_rows(ks, k + hs, j0, cols, d, ld);
    stage_rows(vs, v + hs, j0, cols, d, ld);
    __syncthreads();
    if (!active) continue;
    const int seen = causal ? static_cast<int>(hi(0, lo(cols, i - j0 + 1)))
                            : cols;
    for (int jj = 0; jj < seen; ++jj) {
      const T p = exp(scale * dot(qi, ks + jj * d, d) - lse);
      const T ds = p * (dot(gi, vs + jj * d, d) - delta) * scale;
      for (int e = 0; e < d; ++e) dq[e] += ds * ks[jj * d + e];
    }
  }
}
// END LAB 08

[[maybe_unused]] dim3 grid_of(const Dims& g) {  // (unused only in the lab's stub)
  GW_CHECK_AS(ShapeError, g.heads <= 65535, "flash_attention (cuda): b·n = ", g.heads,
              " heads, at most 65535");
  return dim3(static_cast<unsigned>((g.s + kBlock - 1) / kBlock), static_cast<unsigned>(g.heads));
}

void check_dim(const char* op, const KernelArgs& args) {
  const Shape& q = args.inputs[0].shape();
  GW_CHECK_AS(ShapeError, q[3] <= kMaxDim, op, " (cuda): q ", shape_str(q),
              " has head dimension d = ", q[3], "; the CUDA kernel takes d ≤ ", kMaxDim);
}

template <typename T>
void forward_typed(const KernelArgs& args) {
  // BEGIN LAB 08: launch forward_kernel<T> on grid_of(g) (g = kernels::attention_shape(args.node)) with kBlock threads and the shared memory of its K and V tiles, on stream_of(args); then CUDA_CHECK_LAUNCH()
  const Dims g = kernels::attention_shape(args.node);
  const int d = static_cast<int>(g.d);
  const size_t shared = 2 * kTile * d * sizeof(T);
  forward_kernel<T><<<grid_of(g), kBlock, shared, stream_of(args)>>>(
      args.inputs[0].data<T>(), args.inputs[1].data<T>(), args.inputs[2].data<T>(),
      args.output.data<T>(), g, static_cast<T>(g.scale));
  CUDA_CHECK_LAUNCH();
  // END LAB 08
}

template <typename T>
void backward_typed(const KernelArgs& args) {
  // BEGIN LAB 08: launch backward_keys_kernel<T> (writes k̄, v̄: the second and third parts of the output) and backward_queries_kernel<T> (q̄, the first part) on grid_of(g), kBlock threads each, with the shared memory of their tiles, on stream_of(args)
  const Dims g = kernels::attention_shape(args.node);
  const int d = static_cast<int>(g.d);
  const int64_t all = g.heads * g.s * g.d;
  const T* q = args.inputs[0].data<T>();
  const T* k = args.inputs[1].data<T>();
  const T* v = args.inputs[2].data<T>();
  const T* y = args.inputs[3].data<T>();
  const T* gy = args.inputs[4].data<T>();
  T* gq = args.output.data<T>();  // (3, b, s, n, d) = q̄, k̄, v̄
  const cudaStream_t st = stream_of(args);
  const T c = static_cast<T>(g.scale);
  backward_keys_kernel<T><<<grid_of(g), kBlock, (2 * kTile * d + 2 * kTile) * sizeof(T), st>>>(
      q, k, v, y, gy, gq + all, gq + 2 * all, g, c);
  CUDA_CHECK_LAUNCH();
  backward_queries_kernel<T><<<grid_of(g), kBlock, 2 * kTile * d * sizeof(T), st>>>(
      q, k, v, y, gy, gq, g, c);
  CUDA_CHECK_LAUNCH();
  // END LAB 08
}

// By q's dtype: bf16 runs the tensor-core kernels (flash_attention_bf16.cu); f16 runs the f32
// kernels on widened copies (exact; the gradients rounded once to f16); f32 and f64 run here.
// The CUDA kernels take q, k, v as three (b, s, n, d) tensors: the bf16 backward stages ō
// and the row statistics in q's row layout, which a fused (b, s, 3, n, d) qkv does not have.
// (A GPU model runs three projections instead: Transformer::fused_flash.)
void check_three_tensors(const char* op, const KernelArgs& args) {
  GW_CHECK_AS(ShapeError, !kernels::fused_qkv(args.node), op, " (cuda): qkv ",
              shape_str(args.inputs[0].shape()),
              " is fused; the CUDA kernels take q, k, v as three (b, s, n, d) tensors");
}

void flash_attention(const KernelArgs& args) {
  check_three_tensors("flash_attention", args);
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention);
  check_dim("flash_attention", args);
  if (args.output.numel() == 0) return;  // b = 0: a grid of no blocks is a launch error
  switch (dt) {
    case DType::f32: return forward_typed<float>(args);
    case DType::f64: return forward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("flash_attention (cuda): dtype ", dtype_name(dt),
                                      " has no CUDA kernel (f32, f64, f16 or bf16)"));
  }
}

void flash_attention_backward(const KernelArgs& args) {
  check_three_tensors("flash_attention_backward", args);
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_backward_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention_backward);
  check_dim("flash_attention_backward", args);
  if (args.output.numel() == 0) return;  // b = 0: a grid of no blocks is a launch error
  switch (dt) {
    case DType::f32: return backward_typed<float>(args);
    case DType::f64: return backward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("flash_attention_backward (cuda): dtype ", dtype_name(dt),
                                      " has no CUDA kernel (f32, f64, f16 or bf16)"));
  }
}

}  // namespace

void define_flash_attention_kernels(OpRegistry& r) {
  r.define(Op::FlashAttention).cuda(flash_attention);
  r.define(Op::FlashAttentionBackward).cuda(flash_attention_backward);
}

}  // namespace gw::cuda
