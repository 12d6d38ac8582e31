// elementwise.cu — CUDA kernels of the elementwise ops: unary math, ops with a scalar
// attribute, binary arithmetic on equal shapes, Compare and Cast.
//
// One thread per element in a grid-stride loop: these ops are bound by memory bandwidth, and
// a plain coalesced loop reaches most of it. Floating dtypes f64, f32, f16 and bf16 (16-bit
// floats load to f32, compute, and round back, as the CPU twin in kernels/cpu/elementwise.cpp
// does); Compare and Cast take every dtype. Binary inputs have equal shapes: broadcasting is
// its own op (Broadcast, shape.cu), inserted by ops.h, as in MLX.
#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

// ---- unary: y = f(x), and x + c, x · c, x^c with c = attrs.scalar ----------------------------
template <typename C>
__device__ __forceinline__ C sigmoid_of(C x) {  // exp never overflows on either side
  if (x >= C(0)) return C(1) / (C(1) + exp(-x));
  const C e = exp(x);
  return e / (C(1) + e);
}

template <Op K, typename C>
__device__ __forceinline__ C unary_fn(C x, C c) {
  if constexpr (K == Op::Neg) return -x;
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
  by_dtype(x.dtype(), args.node.def().name, Accepts::floating, [&](auto zero) {
    using T = decltype(zero);
    const auto c = static_cast<Compute<T>>(args.node.attrs.scalar);
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
  by_dtype(a.dtype(), args.node.def().name, Accepts::floating, [&](auto zero) {
    using T = decltype(zero);
    binary_kernel<K, T><<<blocks_for(n), 256, 0, stream_of(args)>>>(
        static_cast<const T*>(a.raw()), static_cast<const T*>(args.inputs[1].raw()),
        static_cast<T*>(args.output.raw()), n);
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
  by_dtype(a.dtype(), "compare", Accepts::all, [&](auto zero) {
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
  by_dtype(x.dtype(), "cast", Accepts::all, [&](auto in_zero) {
    using In = decltype(in_zero);
    by_dtype(args.output.dtype(), "cast", Accepts::all, [&](auto out_zero) {
      using Out = decltype(out_zero);
      cast_kernel<In, Out><<<blocks_for(n), 256, 0, stream_of(args)>>>(
          static_cast<const In*>(x.raw()), static_cast<Out*>(args.output.raw()), n);
      CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace

void register_elementwise_kernels(OpDef* t) {
  set(t, Op::Neg, unary<Op::Neg>);
  set(t, Op::Exp, unary<Op::Exp>);
  set(t, Op::Log, unary<Op::Log>);
  set(t, Op::Sin, unary<Op::Sin>);
  set(t, Op::Cos, unary<Op::Cos>);
  set(t, Op::Sqrt, unary<Op::Sqrt>);
  set(t, Op::Rsqrt, unary<Op::Rsqrt>);
  set(t, Op::Relu, unary<Op::Relu>);
  set(t, Op::Sigmoid, unary<Op::Sigmoid>);
  set(t, Op::Silu, unary<Op::Silu>);
  set(t, Op::Tanh, unary<Op::Tanh>);
  set(t, Op::AddScalar, unary<Op::AddScalar>);
  set(t, Op::MulScalar, unary<Op::MulScalar>);
  set(t, Op::PowScalar, unary<Op::PowScalar>);
  set(t, Op::Add, binary<Op::Add>);
  set(t, Op::Sub, binary<Op::Sub>);
  set(t, Op::Mul, binary<Op::Mul>);
  set(t, Op::Div, binary<Op::Div>);
  set(t, Op::Compare, compare);
  set(t, Op::Cast, cast);
}

}  // namespace gw::cuda
