// elementwise.cu — CUDA kernels of the elementwise ops: unary math, ops with a scalar
// attribute, binary arithmetic on equal shapes, Compare, Cast, and the fused SwiGLU
// (silu(a) ∘ u) with its two backward ops and its packed form (gate and up in one tensor).
//
// One thread per element in a grid-stride loop: these ops are bound by memory bandwidth, and
// a plain coalesced loop reaches most of it. Floating dtypes f64, f32, f16 and bf16 (16-bit
// floats load to f32, compute, and round back, as the CPU twin in kernels/cpu/elementwise.cpp
// does); Compare and Cast take every dtype. Binary inputs have equal shapes: broadcasting is
// its own op (Broadcast, shape.cu), inserted by ops.h, as in MLX.
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

// ---- unary: y = f(x), and x + c, x · c, x^c with c = attrs.c ----------------------------
template <typename C>
__device__ __forceinline__ C sigmoid_of(C x) {  // exp never overflows on either side
  if (x >= C(0)) return C(1) / (C(1) + exp(-x));
  const C e = exp(x);
  return e / (C(1) + e);
}

template <Op K, typename C>
__device__ __forceinline__ C unary_fn(C x, C c) {
  if constexpr (K == Op::Neg) return -x;
  if constexpr (K == Op::Abs) return x < C(0) ? -x : x;  // NaN passes through
  if constexpr (K == Op::Exp) return exp(x);
  if constexpr (K == Op::Log) return log(x);
  if constexpr (K == Op::Sin) return sin(x);
  if constexpr (K == Op::Cos) return cos(x);
  if constexpr (K == Op::Sqrt) return sqrt(x);
  if constexpr (K == Op::Rsqrt) return C(1) / sqrt(x);
  if constexpr (K == Op::Relu) return x < C(0) ? C(0) : x;  // NaN passes through
  if constexpr (K == Op::Sigmoid) return sigmoid_of(x);
  if constexpr (K == Op::Silu) return x * sigmoid_of(x);
  if constexpr (K == Op::Tanh) return tanh(x);
  if constexpr (K == Op::AddScalar) return x + c;
  if constexpr (K == Op::MulScalar) return x * c;
  if constexpr (K == Op::PowScalar) return pow(x, c);
  return x;
}

template <Op K, typename T>
__global__ void unary_kernel(const T* x, T* y, int64_t n, Compute<T> c) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    store(y, i, unary_fn<K, Compute<T>>(load(x, i), c));
}

template <Op K>
void unary(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t n = x.numel();
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::floating>(x.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    const auto c = static_cast<Compute<T>>(args.node.attrs.c);
    unary_kernel<K, T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(x.raw()), static_cast<T*>(args.output.raw()), n, c);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- binary: y = a ∘ b on equal shapes --------------------------------------------------------
template <Op K, typename C>
__device__ __forceinline__ C binary_fn(C a, C b) {
  if constexpr (K == Op::Add) return a + b;
  if constexpr (K == Op::Sub) return a - b;
  if constexpr (K == Op::Mul) return a * b;
  if constexpr (K == Op::Div) return a / b;
  return a;
}

template <Op K, typename T>
__global__ void binary_kernel(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    store(y, i, binary_fn<K, Compute<T>>(load(a, i), load(b, i)));
}

template <Op K>
void binary(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const int64_t n = a.numel();
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::floating>(a.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    binary_kernel<K, T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(a.raw()), static_cast<const T*>(args.inputs[1].raw()),
        static_cast<T*>(args.output.raw()), n);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- SwiGLU: y = silu(a) ∘ u; ā = ȳ ∘ u ∘ σ(a)(1 + a(1 − σ(a))); ū = ȳ ∘ silu(a) -----------
// Inputs (a, u), (a, u, ȳ) and (a, ȳ): the CPU twin is in kernels/cpu/nn.cpp.
template <Op K, typename C>
__device__ __forceinline__ C swiglu_fn(C a, C b, C g) {
  const C sg = sigmoid_of(a);
  if constexpr (K == Op::SwiGLU) return a * sg * b;
  if constexpr (K == Op::SwiGLUBackwardGate) return g * b * sg * (C(1) + a * (C(1) - sg));
  return b * a * sg;  // SwiGLUBackwardUp: b is ȳ
}

template <Op K, typename T>
__global__ void swiglu_kernel(const T* a, const T* b, const T* g, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    store(y, i, swiglu_fn<K, Compute<T>>(load(a, i), load(b, i), load(g, i)));
}

template <Op K>
void swiglu(const KernelArgs& args) {
  const int64_t n = args.output.numel();
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::floating>(args.output.dtype(), args.node.def().name,
                                                 [&](auto zero) {
    using T = decltype(zero);
    const T* b = static_cast<const T*>(args.inputs[1].raw());
    const T* g = args.inputs.size() > 2 ? static_cast<const T*>(args.inputs[2].raw()) : b;
    swiglu_kernel<K, T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(args.inputs[0].raw()), b, g, static_cast<T*>(args.output.raw()), n);
    CUDA_CHECK_LAUNCH();
  });
}

// Packed: row r of gate_up (rows, 2i) holds gate, then up; one thread per element of ȳ/y. The
// backward writes ḡate and ūp to the same places of its (rows, 2i) output.
template <bool Backward, typename T>
__global__ void swiglu_packed_kernel(const T* gu, const T* gy, T* out, int64_t i, int64_t n) {
  using C = Compute<T>;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t gate = e / i * 2 * i + e % i;
    const C a = load(gu, gate), u = load(gu, gate + i);
    if constexpr (Backward) {  // the two-input ops' formulas (swiglu_fn; Up takes ȳ second)
      const C g = load(gy, e);
      store(out, gate, swiglu_fn<Op::SwiGLUBackwardGate>(a, u, g));
      store(out, gate + i, swiglu_fn<Op::SwiGLUBackwardUp>(a, g, g));
    } else {
      store(out, e, swiglu_fn<Op::SwiGLU>(a, u, u));
    }
  }
}

template <bool Backward>
void swiglu_packed(const KernelArgs& args) {
  const int64_t i = args.inputs[0].shape().back() / 2;
  const int64_t n = i == 0 ? 0 : args.inputs[0].numel() / 2;  // elements of y
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::floating>(args.output.dtype(), args.node.def().name,
                                                 [&](auto zero) {
    using T = decltype(zero);
    const T* gy = Backward ? static_cast<const T*>(args.inputs[1].raw()) : nullptr;
    swiglu_packed_kernel<Backward, T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(args.inputs[0].raw()), gy, static_cast<T*>(args.output.raw()), i,
        n);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- compare: y = 1 where a op b holds, else 0, in the inputs' dtype --------------------------
template <typename T>
__global__ void compare_kernel(const T* a, const T* b, T* y, int64_t n, CompareOp op) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const auto x = load(a, i), z = load(b, i);
    bool r = false;
    switch (op) {
      case CompareOp::lt: r = x < z; break;
      case CompareOp::le: r = x <= z; break;
      case CompareOp::gt: r = x > z; break;
      case CompareOp::ge: r = x >= z; break;
      case CompareOp::eq: r = x == z; break;
      case CompareOp::ne: r = x != z; break;
    }
    store(y, i, r ? 1.0f : 0.0f);
  }
}

void compare(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const int64_t n = a.numel();
  if (n == 0) return;
  dispatch_dtype<CudaStorage, Accepts::all>(a.dtype(), "compare", [&](auto zero) {
    using T = decltype(zero);
    compare_kernel<T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(a.raw()), static_cast<const T*>(args.inputs[1].raw()),
        static_cast<T*>(args.output.raw()), n, args.node.attrs.compare);
    CUDA_CHECK_LAUNCH();
  });
}

// ---- cast: any dtype to any dtype ---------------------------------------------------------------
template <typename In, typename Out>
__global__ void cast_kernel(const In* x, Out* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    store(y, i, load(x, i));
}

void cast(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t n = x.numel();
  if (n == 0) return;
  if (x.dtype() == args.output.dtype()) {
    CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice,
                               stream_of(args)));
    return;
  }
  dispatch_dtype<CudaStorage, Accepts::all>(x.dtype(), "cast", [&](auto in_zero) {
    using In = decltype(in_zero);
    dispatch_dtype<CudaStorage, Accepts::all>(args.output.dtype(), "cast", [&](auto out_zero) {
      using Out = decltype(out_zero);
      cast_kernel<In, Out><<<blocks_for(n), 256, 0, stream_of(args)>>>(
          static_cast<const In*>(x.raw()), static_cast<Out*>(args.output.raw()), n);
      CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace

void define_elementwise_kernels(OpRegistry& r) {
  r.define(Op::Neg).cuda(unary<Op::Neg>);
  r.define(Op::Abs).cuda(unary<Op::Abs>);
  r.define(Op::Exp).cuda(unary<Op::Exp>);
  r.define(Op::Log).cuda(unary<Op::Log>);
  r.define(Op::Sin).cuda(unary<Op::Sin>);
  r.define(Op::Cos).cuda(unary<Op::Cos>);
  r.define(Op::Sqrt).cuda(unary<Op::Sqrt>);
  r.define(Op::Rsqrt).cuda(unary<Op::Rsqrt>);
  r.define(Op::Relu).cuda(unary<Op::Relu>);
  r.define(Op::Sigmoid).cuda(unary<Op::Sigmoid>);
  r.define(Op::Silu).cuda(unary<Op::Silu>);
  r.define(Op::Tanh).cuda(unary<Op::Tanh>);
  r.define(Op::AddScalar).cuda(unary<Op::AddScalar>);
  r.define(Op::MulScalar).cuda(unary<Op::MulScalar>);
  r.define(Op::PowScalar).cuda(unary<Op::PowScalar>);
  r.define(Op::Add).cuda(binary<Op::Add>);
  r.define(Op::Sub).cuda(binary<Op::Sub>);
  r.define(Op::Mul).cuda(binary<Op::Mul>);
  r.define(Op::Div).cuda(binary<Op::Div>);
  r.define(Op::Compare).cuda(compare);
  r.define(Op::Cast).cuda(cast);
  r.define(Op::SwiGLU).cuda(swiglu<Op::SwiGLU>);
  r.define(Op::SwiGLUBackwardGate).cuda(swiglu<Op::SwiGLUBackwardGate>);
  r.define(Op::SwiGLUBackwardUp).cuda(swiglu<Op::SwiGLUBackwardUp>);
  r.define(Op::SwiGLUPacked).cuda(swiglu_packed<false>);
  r.define(Op::SwiGLUPackedBackward).cuda(swiglu_packed<true>);
}

}  // namespace gw::cuda
