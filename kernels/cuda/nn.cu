// nn.cu — CUDA kernels of the fused neural-network ops: embedding and its scatter-add,
// softmax, log-softmax, softmax-cross-entropy, RMSNorm and RoPE (attention.cu holds
// attention, optimizer.cu AdamW), each forward next to its backward under a comment stating the math (the CPU twins are in kernels/cpu/nn.cpp).
//
// Row ops (softmax family, cross-entropy, RMSNorm) run one block per row: the threads stride
// along the row, then a block reduction gives the row's max, sum or dot product. Dtypes f32
// and f64, as on the CPU; they compute in their own precision (the CPU sums in double, so
// f32 results differ in the last bits). Bad ids and targets cannot throw from a kernel:
// they are recorded in the device error flag and thrown at the next synchronization.
#include <algorithm>
#include <cmath>

#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

constexpr int kRowThreads = 256;

int64_t last(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }


template <typename T>
const T* in(const KernelArgs& args, int i) {
  return static_cast<const T*>(args.inputs[static_cast<size_t>(i)].raw());
}
template <typename T>
T* out(const KernelArgs& args) {
  return static_cast<T*>(args.output.raw());
}

// ---- embedding: out[i, :] = table[ids[i], :]; backward scatter-adds rows into (v, h) ---------
template <typename T>
__global__ void embedding_kernel(const T* table, const int32_t* ids, T* out, int64_t rows,
                                 int64_t h, int64_t vocab, DeviceErrorFlag* flag) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * h;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e / h, c = e % h;
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab) {
      report_error(flag, kEmbeddingId, i, id, vocab);
      out[e] = T(NAN);
      continue;
    }
    out[e] = table[id * h + c];
  }
}

void embedding(const KernelArgs& args) {
  const Tensor& table = args.inputs[0];  // (v, h)
  const Tensor& ids = args.inputs[1];    // (...) i32
  const int64_t v = table.size(0), h = table.size(1), rows = ids.numel();
  if (rows * h == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(table.dtype(), "embedding", [&](auto zero) {
    using T = decltype(zero);
    embedding_kernel<T><<<blocks_for(rows * h), 256, 0, stream_of(args)>>>(
        in<T>(args, 0), in<int32_t>(args, 1), out<T>(args), rows, h, v, error_flag());
    CUDA_CHECK_LAUNCH();
  });
}

// Each (row, column) adds its gradient into its vocabulary row with an atomic add: rows that
// share an id meet in the same place. The order of the additions is not fixed, so the last
// bits may vary between runs (the CPU twin sums in row order).
template <typename T>
__global__ void embedding_backward_kernel(const int32_t* ids, const T* grad, T* out, int64_t rows,
                                          int64_t h, int64_t vocab, DeviceErrorFlag* flag) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * h;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e / h, c = e % h;
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab) {
      report_error(flag, kEmbeddingBackwardId, i, id, vocab);
      continue;
    }
    atomicAdd(out + id * h + c, grad[e]);
  }
}

void embedding_backward(const KernelArgs& args) {
  const Tensor& ids = args.inputs[0];   // (...)
  const Tensor& grad = args.inputs[1];  // (..., h)
  const int64_t v = args.output.size(0), h = args.output.size(1), rows = ids.numel();
  const cudaStream_t s = stream_of(args);
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(grad.dtype(), "embedding_backward", [&](auto zero) {
    using T = decltype(zero);
    CUDA_CHECK(cudaMemsetAsync(args.output.raw(), 0, args.output.nbytes(), s));
    if (rows * h == 0) return;
    embedding_backward_kernel<T><<<blocks_for(rows * h), 256, 0, s>>>(
        in<int32_t>(args, 0), in<T>(args, 1), out<T>(args), rows, h, v, error_flag());
    CUDA_CHECK_LAUNCH();
  });
}

// ---- softmax family over the last axis (one block per row) ----------------------------------
// y = exp(x − max) / Σ exp(x − max);   log_softmax: y = x − max − log Σ exp(x − max)
// softmax backward:     x̄ = y ∘ (ȳ − Σ ȳ∘y)
// log_softmax backward: x̄ = ȳ − exp(y) · Σ ȳ
template <typename T>
__device__ T row_logsumexp(const T* x, int64_t n, T* shared) {
  T m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, x[j]);
  m = block_max(m, shared);
  if (isinf(m)) return m;  // all −inf (fully masked) or an inf: nothing to normalize
  T s = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(x[j] - m);
  s = block_sum(s, shared);
  return m + log(s);
}

template <bool Log, typename T>
__global__ void softmax_kernel(const T* x, T* y, int64_t n) {
  __shared__ T shared[32];
  const T* xr = x + blockIdx.x * n;
  T* yr = y + blockIdx.x * n;
  const T lse = row_logsumexp(xr, n, shared);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const T z = xr[j] - lse;
    yr[j] = Log ? z : exp(z);
  }
}

template <bool Log>
void softmax(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t n = last(x), rows = n ? x.numel() / n : 0;
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(x.dtype(), Log ? "log_softmax" : "softmax", [&](auto zero) {
    using T = decltype(zero);
    softmax_kernel<Log, T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), out<T>(args), n);
    CUDA_CHECK_LAUNCH();
  });
}

template <bool Log, typename T>
__global__ void softmax_backward_kernel(const T* y, const T* gy, T* gx, int64_t n) {
  __shared__ T shared[32];
  const int64_t base = blockIdx.x * n;
  T dot = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    dot += Log ? gy[base + j] : gy[base + j] * y[base + j];
  dot = block_sum(dot, shared);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    gx[base + j] = Log ? gy[base + j] - exp(y[base + j]) * dot : y[base + j] * (gy[base + j] - dot);
}

template <bool Log>
void softmax_backward(const KernelArgs& args) {
  const Tensor& y = args.inputs[0];
  const int64_t n = last(y), rows = n ? y.numel() / n : 0;
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(y.dtype(), Log ? "log_softmax_backward" : "softmax_backward", [&](auto zero) {
    using T = decltype(zero);
    softmax_backward_kernel<Log, T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), in<T>(args, 1), out<T>(args), n);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- softmax cross-entropy: loss_i = logsumexp(x_i) − x_i[t_i] -------------------------------
// backward: x̄_i = (softmax(x_i) − onehot(t_i)) · ḡ_i
template <typename T>
__global__ void cross_entropy_kernel(const T* x, const int32_t* t, T* loss, int64_t v,
                                     DeviceErrorFlag* flag) {
  __shared__ T shared[32];
  const int64_t r = blockIdx.x;
  const T lse = row_logsumexp(x + r * v, v, shared);
  if (threadIdx.x != 0) return;
  const int32_t target = t[r];
  if (target < 0 || target >= v) {
    report_error(flag, kCrossEntropyTarget, r, target, v);
    loss[r] = T(NAN);
    return;
  }
  loss[r] = lse - x[r * v + target];
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* x, const int32_t* t, const T* g, T* gx,
                                              int64_t v, DeviceErrorFlag* flag) {
  __shared__ T shared[32];
  const int64_t r = blockIdx.x;
  const T lse = row_logsumexp(x + r * v, v, shared);
  const int32_t target = t[r];
  if (target < 0 || target >= v) {
    if (threadIdx.x == 0) report_error(flag, kCrossEntropyTarget, r, target, v);
    return;
  }
  const T gr = g[r];
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x)
    gx[r * v + j] = (exp(x[r * v + j] - lse) - (j == target ? T(1) : T(0))) * gr;
}

void cross_entropy(const KernelArgs& args) {
  const Tensor& logits = args.inputs[0];  // (n, v)
  const int64_t rows = logits.size(0), v = logits.size(1);
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(logits.dtype(), "softmax_cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_kernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), in<int32_t>(args, 1), out<T>(args), v, error_flag());
    CUDA_CHECK_LAUNCH();
  });
}

void cross_entropy_backward(const KernelArgs& args) {
  const Tensor& logits = args.inputs[0];  // (n, v)
  const int64_t rows = logits.size(0), v = logits.size(1);
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(logits.dtype(), "softmax_cross_entropy_backward", [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_backward_kernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), in<int32_t>(args, 1), in<T>(args, 2), out<T>(args), v, error_flag());
    CUDA_CHECK_LAUNCH();
  });
}

// ---- RMSNorm over the last axis h: r = (mean(x²) + eps)^(−1/2), y = x·r·w -------------------
// x̄_k = r·w_k·ȳ_k − (r³/h)·x_k·Σ_j ȳ_j w_j x_j;   w̄_j = Σ_rows ȳ_j x_j r
// Nothing is saved between forward and backward (the graph has no slot for rstd), so the
// backward kernels recompute r: one extra read of x per row.
template <typename T>
__device__ T row_rstd(const T* x, int64_t h, double eps, T* shared) {
  T ss = 0;
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x) ss += x[j] * x[j];
  ss = block_sum(ss, shared);
  return T(1) / sqrt(ss / static_cast<T>(h) + static_cast<T>(eps));
}

template <typename T>
__global__ void rms_norm_kernel(const T* x, const T* w, T* y, int64_t h, double eps) {
  __shared__ T shared[32];
  const T* xr = x + blockIdx.x * h;
  const T rstd = row_rstd(xr, h, eps, shared);
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x) y[blockIdx.x * h + j] = xr[j] * rstd * w[j];
}

template <typename T>
__global__ void rms_norm_backward_input_kernel(const T* x, const T* w, const T* gy, T* gx,
                                               int64_t h, double eps) {
  __shared__ T shared[32];
  const int64_t base = blockIdx.x * h;
  const T rstd = row_rstd(x + base, h, eps, shared);
  T dot = 0;
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x) dot += gy[base + j] * w[j] * x[base + j];
  dot = block_sum(dot, shared);
  const T c = rstd * rstd * rstd * dot / static_cast<T>(h);
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x)
    gx[base + j] = rstd * w[j] * gy[base + j] - c * x[base + j];
}

// w̄ in two passes: rstd of every row, then one thread per (column, chunk of rows) summing
// ȳ·x·r into partial[chunk][column]; the chunks are then added in order (reproducible).
template <typename T>
__global__ void row_rstd_kernel(const T* x, T* rstd, int64_t h, double eps) {
  __shared__ T shared[32];
  const T r = row_rstd(x + blockIdx.x * h, h, eps, shared);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}

template <typename T>
__global__ void rms_weight_partial_kernel(const T* x, const T* gy, const T* rstd, T* partial,
                                          int64_t rows, int64_t h, int64_t per) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= h) return;
  const int64_t r0 = blockIdx.y * per, r1 = min(rows, r0 + per);
  T acc = 0;
  for (int64_t r = r0; r < r1; ++r) acc += gy[r * h + j] * x[r * h + j] * rstd[r];
  partial[blockIdx.y * h + j] = acc;
}

template <typename T>
__global__ void sum_chunks_kernel(const T* partial, T* out, int64_t h, int64_t chunks) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= h) return;
  T acc = 0;
  for (int64_t c = 0; c < chunks; ++c) acc += partial[c * h + j];
  out[j] = acc;
}

void rms_norm(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(x.dtype(), "rms_norm", [&](auto zero) {
    using T = decltype(zero);
    rms_norm_kernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), in<T>(args, 1), out<T>(args), h, args.node.attrs.eps);
    CUDA_CHECK_LAUNCH();
  });
}

void rms_norm_backward_input(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  if (rows == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(x.dtype(), "rms_norm_backward_input", [&](auto zero) {
    using T = decltype(zero);
    rms_norm_backward_input_kernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream_of(args)>>>(
        in<T>(args, 0), in<T>(args, 1), in<T>(args, 2), out<T>(args), h, args.node.attrs.eps);
    CUDA_CHECK_LAUNCH();
  });
}

void rms_norm_backward_weight(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t h = last(x), rows = h ? x.numel() / h : 0;
  const cudaStream_t s = stream_of(args);
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(x.dtype(), "rms_norm_backward_weight", [&](auto zero) {
    using T = decltype(zero);
    if (rows == 0) {
      CUDA_CHECK(cudaMemsetAsync(args.output.raw(), 0, args.output.nbytes(), s));
      return;
    }
    const int64_t chunks = std::clamp<int64_t>(rows / 64, 1, 128);
    const int64_t per = (rows + chunks - 1) / chunks;
    T* rstd = static_cast<T*>(scratch(static_cast<size_t>(rows + chunks * h) * sizeof(T)));
    T* partial = rstd + rows;
    row_rstd_kernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, s>>>(
        in<T>(args, 0), rstd, h, args.node.attrs.eps);
    CUDA_CHECK_LAUNCH();
    rms_weight_partial_kernel<T><<<dim3(blocks_for(h, 256, 0x7fffffffLL), static_cast<unsigned>(chunks)), 256, 0, s>>>(
        in<T>(args, 0), in<T>(args, 1), rstd, partial, rows, h, per);
    CUDA_CHECK_LAUNCH();
    sum_chunks_kernel<T><<<blocks_for(h, 256, 0x7fffffffLL), 256, 0, s>>>(partial, out<T>(args), h, chunks);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- RoPE on x (b, n, s, d) or (b, s, n, d): pair (2i, 2i+1) at position p turns by
// p·theta^(−2i/d); inverse turns by the opposite angle (RoPE's VJP). Angles in double, as on the CPU: with
// positions in the thousands, an f32 angle would lose 1e-4 of a radian. A fused x
// (b, s, 3, n, d) rotates its q and k rows and copies its v rows.
template <typename T>
__global__ void rope_kernel(const T* x, T* y, int64_t pairs, int64_t s, int64_t d,
                            int64_t per_position, int64_t rotated, double theta, double sign) {
  const int64_t half = d / 2;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < pairs;
       e += int64_t(gridDim.x) * blockDim.x) {
    // Row e / half (d elements) is at position (row / per_position) % s: per_position is n
    // for (b, s, n, d), 3n fused, 1 for (b, n, s, d); only the first `rotated` rows of a
    // position turn (2n fused: v's rows do not).
    const int64_t row = e / half, i = e % half, p = (row / per_position) % s;
    if (row % per_position >= rotated) {
      y[2 * e] = x[2 * e];
      y[2 * e + 1] = x[2 * e + 1];
      continue;
    }
    const double angle = static_cast<double>(p) * pow(theta, -2.0 * i / static_cast<double>(d));
    double sn, c;
    sincos(angle, &sn, &c);
    sn *= sign;
    const double x0 = x[2 * e], x1 = x[2 * e + 1];
    y[2 * e] = static_cast<T>(x0 * c - x1 * sn);
    y[2 * e + 1] = static_cast<T>(x0 * sn + x1 * c);
  }
}

void rope(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t pairs = x.numel() / 2;
  const bool seq_major = args.node.attrs.axis == 1, fused = x.dim() == 5;
  const int64_t n = seq_major ? x.size(-2) : 1, per_position = fused ? 3 * n : n;
  if (pairs == 0) return;
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(x.dtype(), "rope", [&](auto zero) {
    using T = decltype(zero);
    rope_kernel<T><<<blocks_for(pairs), 256, 0, stream_of(args)>>>(
        in<T>(args, 0), out<T>(args), pairs, x.size(seq_major ? 1 : 2), x.size(-1), per_position,
        fused ? 2 * n : per_position, args.node.attrs.theta,
        args.node.attrs.inverse ? -1.0 : 1.0);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void define_nn_kernels(OpRegistry& r) {
  r.define(Op::Embedding).cuda(embedding);
  r.define(Op::EmbeddingBackward).cuda(embedding_backward);
  r.define(Op::Softmax).cuda(softmax<false>);
  r.define(Op::LogSoftmax).cuda(softmax<true>);
  r.define(Op::SoftmaxBackward).cuda(softmax_backward<false>);
  r.define(Op::LogSoftmaxBackward).cuda(softmax_backward<true>);
  r.define(Op::SoftmaxCrossEntropy).cuda(cross_entropy);
  r.define(Op::SoftmaxCrossEntropyBackward).cuda(cross_entropy_backward);
  r.define(Op::RMSNorm).cuda(rms_norm);
  r.define(Op::RMSNormBackwardInput).cuda(rms_norm_backward_input);
  r.define(Op::RMSNormBackwardWeight).cuda(rms_norm_backward_weight);
  r.define(Op::RoPE).cuda(rope);
}

}  // namespace gw::cuda
