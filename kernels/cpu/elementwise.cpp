// elementwise.cpp — CPU kernels of the elementwise ops: unary math, ops with a scalar
// attribute, binary arithmetic on equal shapes, Compare and Cast.
//
// Each op is one template instantiation (unary_kernel<Op::Exp>, ...), so the per-element
// formula is a compile-time choice the compiler can vectorize, not a switch in the loop.
// Floating dtypes only (f64, f32, and f16/bf16 emulated in f32); Compare and Cast accept
// every dtype. Shapes were validated by the shape rule (binary inputs have equal shapes:
// ops.h inserted Broadcast nodes), so kernels only walk n elements. OpenMP splits the loop
// above kElementwiseParallelMin elements.
#include <cmath>
#include <cstring>

#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

// ---- unary: y = f(x), and x + c, x · c, x^c with c = attrs.c ------------------------
template <Op K, typename C>
C unary_fn(C x, C c) {
  if constexpr (K == Op::Neg) return -x;
  if constexpr (K == Op::Abs) return x < C(0) ? -x : x;  // NaN passes through
  if constexpr (K == Op::Exp) return std::exp(x);
  if constexpr (K == Op::Log) return std::log(x);
  if constexpr (K == Op::Sin) return std::sin(x);
  if constexpr (K == Op::Cos) return std::cos(x);
  if constexpr (K == Op::Sqrt) return std::sqrt(x);
  if constexpr (K == Op::Rsqrt) return C(1) / std::sqrt(x);
  if constexpr (K == Op::Relu) return x < C(0) ? C(0) : x;  // NaN passes through
  if constexpr (K == Op::Sigmoid) return vec_sigmoid(x);
  if constexpr (K == Op::Silu) return x * vec_sigmoid(x);
  if constexpr (K == Op::Tanh) return std::tanh(x);
  if constexpr (K == Op::AddScalar) return x + c;
  if constexpr (K == Op::MulScalar) return x * c;
  if constexpr (K == Op::PowScalar) return std::pow(x, c);
}

template <Op K>
void unary_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  dispatch_dtype<CpuStorage, Accepts::floating>(x.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    using C = Compute<T>;
    const T* in = x.data<T>();
    T* out = args.output.data<T>();
    const C c = static_cast<C>(args.node.attrs.c);
    const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
    for (int64_t i = 0; i < n; ++i) store(out, i, unary_fn<K, C>(load(in, i), c));
  });
}

// ---- binary: y = a ∘ b on equal shapes ------------------------------------------------------
template <Op K, typename C>
C binary_fn(C a, C b) {
  if constexpr (K == Op::Add) return a + b;
  if constexpr (K == Op::Sub) return a - b;
  if constexpr (K == Op::Mul) return a * b;
  if constexpr (K == Op::Div) return a / b;
}

template <Op K>
void binary_kernel(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const Tensor& b = args.inputs[1];
  dispatch_dtype<CpuStorage, Accepts::floating>(a.dtype(), args.node.def().name, [&](auto zero) {
    using T = decltype(zero);
    using C = Compute<T>;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* out = args.output.data<T>();
    const int64_t n = a.numel();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
    for (int64_t i = 0; i < n; ++i) store(out, i, binary_fn<K, C>(load(pa, i), load(pb, i)));
  });
}

// ---- compare: y = 1 where a op b holds, else 0, in the inputs' dtype ------------------------
template <CompareOp K, typename C>
bool holds(C a, C b) {
  if constexpr (K == CompareOp::lt) return a < b;
  if constexpr (K == CompareOp::le) return a <= b;
  if constexpr (K == CompareOp::gt) return a > b;
  if constexpr (K == CompareOp::ge) return a >= b;
  if constexpr (K == CompareOp::eq) return a == b;
  if constexpr (K == CompareOp::ne) return a != b;
}

template <CompareOp K, typename T>
void compare_loop(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
  for (int64_t i = 0; i < n; ++i) store(out, i, holds<K>(load(a, i), load(b, i)) ? 1 : 0);
}

void compare_kernel(const KernelArgs& args) {
  const Tensor& a = args.inputs[0];
  const Tensor& b = args.inputs[1];
  dispatch_dtype<CpuStorage, Accepts::all>(a.dtype(), "compare", [&](auto zero) {
    using T = decltype(zero);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* out = args.output.data<T>();
    const int64_t n = a.numel();
    switch (args.node.attrs.compare) {
      case CompareOp::lt: return compare_loop<CompareOp::lt>(pa, pb, out, n);
      case CompareOp::le: return compare_loop<CompareOp::le>(pa, pb, out, n);
      case CompareOp::gt: return compare_loop<CompareOp::gt>(pa, pb, out, n);
      case CompareOp::ge: return compare_loop<CompareOp::ge>(pa, pb, out, n);
      case CompareOp::eq: return compare_loop<CompareOp::eq>(pa, pb, out, n);
      case CompareOp::ne: return compare_loop<CompareOp::ne>(pa, pb, out, n);
    }
  });
}

// ---- cast: any dtype to any dtype ------------------------------------------------------------
// Floats round to nearest even (f16/bf16 through f32); integers round to nearest and
// saturate, NaN giving 0.
void cast_kernel(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const int64_t n = x.numel();
  if (x.dtype() == args.output.dtype()) {
    std::memcpy(args.output.raw(), x.raw(), x.nbytes());
    return;
  }
  dispatch_dtype<CpuStorage, Accepts::all>(x.dtype(), "cast", [&](auto in_zero) {
    using In = decltype(in_zero);
    const In* in = x.data<In>();
    dispatch_dtype<CpuStorage, Accepts::all>(args.output.dtype(), "cast", [&](auto out_zero) {
      using Out = decltype(out_zero);
      Out* out = args.output.data<Out>();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
      for (int64_t i = 0; i < n; ++i) store(out, i, load(in, i));
    });
  });
}

}  // namespace

void define_elementwise_kernels(OpRegistry& r) {
  r.define(Op::Neg).cpu(unary_kernel<Op::Neg>);
  r.define(Op::Abs).cpu(unary_kernel<Op::Abs>);
  r.define(Op::Exp).cpu(unary_kernel<Op::Exp>);
  r.define(Op::Log).cpu(unary_kernel<Op::Log>);
  r.define(Op::Sin).cpu(unary_kernel<Op::Sin>);
  r.define(Op::Cos).cpu(unary_kernel<Op::Cos>);
  r.define(Op::Sqrt).cpu(unary_kernel<Op::Sqrt>);
  r.define(Op::Rsqrt).cpu(unary_kernel<Op::Rsqrt>);
  r.define(Op::Relu).cpu(unary_kernel<Op::Relu>);
  r.define(Op::Sigmoid).cpu(unary_kernel<Op::Sigmoid>);
  r.define(Op::Silu).cpu(unary_kernel<Op::Silu>);
  r.define(Op::Tanh).cpu(unary_kernel<Op::Tanh>);
  r.define(Op::AddScalar).cpu(unary_kernel<Op::AddScalar>);
  r.define(Op::MulScalar).cpu(unary_kernel<Op::MulScalar>);
  r.define(Op::PowScalar).cpu(unary_kernel<Op::PowScalar>);
  r.define(Op::Add).cpu(binary_kernel<Op::Add>);
  r.define(Op::Sub).cpu(binary_kernel<Op::Sub>);
  r.define(Op::Mul).cpu(binary_kernel<Op::Mul>);
  r.define(Op::Div).cpu(binary_kernel<Op::Div>);
  r.define(Op::Compare).cpu(compare_kernel);
  r.define(Op::Cast).cpu(cast_kernel);
}

}  // namespace gw::cpu
