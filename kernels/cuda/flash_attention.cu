// flash_attention.cu — flash attention on the GPU, forward and backward, f32 and f64: the
// CPU kernels' algorithm (kernels/cpu/flash_attention.cpp) with one thread per query row
// (forward, q̄) or key row (k̄, v̄) and the other side's rows staged through shared memory
// in tiles of kTile. No (s, s) buffer exists; causal blocks stop at their diagonal.
//
// Forward: block (query tile, head), kBlock threads, one row each; the block walks key
// tiles (K and V in shared memory) with a running max m and sum l per row, rescaling the
// row's accumulator, which is its packed output row (s, d + 1), when m grows. Row i ends as
// [o_i, LSE_i = m + log l].
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
constexpr int kTile = 16;      // rows of the other side staged in shared memory at a time
constexpr int kMaxDim = 128;   // largest head dimension the shared tiles hold

__device__ __forceinline__ int64_t lo(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t hi(int64_t a, int64_t b) { return a > b ? a : b; }

template <typename T>
__device__ T dot(const T* a, const T* b, int d) {
  T acc = 0;
  for (int e = 0; e < d; ++e) acc += a[e] * b[e];
  return acc;
}

template <typename T>
__global__ void forward_kernel(const T* q, const T* k, const T* v, T* y, int64_t s, int d,
                               T scale, bool causal) {
  extern __shared__ unsigned char smem[];
  T* ks = reinterpret_cast<T*>(smem);  // kTile × d
  T* vs = ks + kTile * d;
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t i = first + threadIdx.x;
  const bool active = i < s;
  q += head * s * d;
  k += head * s * d;
  v += head * s * d;
  T* acc = y + (head * s + (active ? i : 0)) * (d + 1);
  T m = -INFINITY, l = 0;
  if (active)
    for (int e = 0; e < d; ++e) acc[e] = 0;
  const int64_t keys = causal ? lo(s, first + kBlock) : s;  // later key tiles are masked
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    const int cols = static_cast<int>(lo(kTile, keys - j0));
    __syncthreads();
    for (int at = threadIdx.x; at < cols * d; at += kBlock) {
      ks[at] = k[j0 * d + at];
      vs[at] = v[j0 * d + at];
    }
    __syncthreads();
    if (!active) continue;
    const int seen = causal ? static_cast<int>(hi(0, lo(cols, i - j0 + 1)))
                            : cols;
    for (int j = 0; j < seen; ++j) {
      const T score = scale * dot(q + i * d, ks + j * d, d);
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
                                     const T* gy, T* gk, T* gv, int64_t s, int d, T scale,
                                     bool causal) {
  extern __shared__ unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);  // kTile × d
  T* gos = qs + kTile * d;             // kTile × d
  T* lse = gos + kTile * d;            // kTile
  T* delta = lse + kTile;              // kTile
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t j = first + threadIdx.x;
  const bool active = j < s;
  const int64_t hs = head * s * d, hy = head * s * (d + 1);
  T* dk = gk + hs + (active ? j : 0) * d;
  T* dv = gv + hs + (active ? j : 0) * d;
  if (active)
    for (int e = 0; e < d; ++e) dk[e] = dv[e] = 0;
  const T* kj = k + hs + (active ? j : 0) * d;
  const T* vj = v + hs + (active ? j : 0) * d;
  for (int64_t i0 = causal ? first / kTile * kTile : 0; i0 < s; i0 += kTile) {
    const int rows = static_cast<int>(lo(kTile, s - i0));
    __syncthreads();
    for (int at = threadIdx.x; at < rows * d; at += kBlock) {
      const int64_t r = i0 + at / d;
      const int e = at % d;
      qs[at] = q[hs + r * d + e];
      gos[at] = gy[hy + r * (d + 1) + e];
    }
    if (threadIdx.x < rows) {
      const int64_t r = i0 + threadIdx.x;
      lse[threadIdx.x] = y[hy + r * (d + 1) + d];
      delta[threadIdx.x] = row_delta(y + hy + r * (d + 1), gy + hy + r * (d + 1), d);
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
                                        const T* gy, T* gq, int64_t s, int d, T scale,
                                        bool causal) {
  extern __shared__ unsigned char smem[];
  T* ks = reinterpret_cast<T*>(smem);  // kTile × d
  T* vs = ks + kTile * d;
  const int64_t head = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kBlock;
  const int64_t i = first + threadIdx.x;
  const bool active = i < s;
  const int64_t hs = head * s * d, hy = head * s * (d + 1);
  const int64_t row = active ? i : 0;
  T* dq = gq + hs + row * d;
  const T* qi = q + hs + row * d;
  const T* gi = gy + hy + row * (d + 1);
  const T lse = y[hy + row * (d + 1) + d];
  const T delta = row_delta(y + hy + row * (d + 1), gi, d);
  if (active)
    for (int e = 0; e < d; ++e) dq[e] = 0;
  const int64_t keys = causal ? lo(s, first + kBlock) : s;
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    const int cols = static_cast<int>(lo(kTile, keys - j0));
    __syncthreads();
    for (int at = threadIdx.x; at < cols * d; at += kBlock) {
      ks[at] = k[hs + j0 * d + at];
      vs[at] = v[hs + j0 * d + at];
    }
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

using Dims = kernels::AttentionShape;

dim3 grid_of(const Dims& g) {
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
  const Dims g = kernels::attention_shape(args.node);
  const int d = static_cast<int>(g.d);
  const size_t shared = 2 * kTile * d * sizeof(T);
  forward_kernel<T><<<grid_of(g), kBlock, shared, stream_of(args)>>>(
      args.inputs[0].data<T>(), args.inputs[1].data<T>(), args.inputs[2].data<T>(),
      args.output.data<T>(), g.s, d, static_cast<T>(g.scale), g.causal);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void backward_typed(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  const int d = static_cast<int>(g.d);
  const int64_t all = g.heads * g.s * g.d;
  const T* q = args.inputs[0].data<T>();
  const T* k = args.inputs[1].data<T>();
  const T* v = args.inputs[2].data<T>();
  const T* y = args.inputs[3].data<T>();
  const T* gy = args.inputs[4].data<T>();
  T* gq = args.output.data<T>();  // (3, b, n, s, d) = q̄, k̄, v̄
  const cudaStream_t st = stream_of(args);
  const T c = static_cast<T>(g.scale);
  backward_keys_kernel<T><<<grid_of(g), kBlock, (2 * kTile * d + 2 * kTile) * sizeof(T), st>>>(
      q, k, v, y, gy, gq + all, gq + 2 * all, g.s, d, c, g.causal);
  CUDA_CHECK_LAUNCH();
  backward_queries_kernel<T><<<grid_of(g), kBlock, 2 * kTile * d * sizeof(T), st>>>(
      q, k, v, y, gy, gq, g.s, d, c, g.causal);
  CUDA_CHECK_LAUNCH();
}

// By q's dtype: bf16 runs the tensor-core kernels (flash_attention_bf16.cu); f16 runs the f32
// kernels on widened copies (exact; the gradients rounded once to f16); f32 and f64 run here.
void flash_attention(const KernelArgs& args) {
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention);
  check_dim("flash_attention", args);
  switch (dt) {
    case DType::f32: return forward_typed<float>(args);
    case DType::f64: return forward_typed<double>(args);
    default:
      throw DTypeError(detail::concat("flash_attention (cuda): dtype ", dtype_name(dt),
                                      " has no CUDA kernel (f32, f64, f16 or bf16)"));
  }
}

void flash_attention_backward(const KernelArgs& args) {
  const DType dt = args.inputs[0].dtype();
  if (dt == DType::bf16) return flash_attention_backward_bf16(args);
  if (dt == DType::f16) return run_widened(args, flash_attention_backward);
  check_dim("flash_attention_backward", args);
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
