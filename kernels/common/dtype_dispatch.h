// dtype_dispatch.h — the one dtype switch of the kernels, shared by the CPU and CUDA sides.
//
// Kernels are templates over the storage type T of their tensors. dispatch_dtype calls a
// generic lambda with a value of T, so one template body serves every dtype a kernel
// accepts. The two backends store the 16-bit floats in different types (gw::f16 on the
// CPU, CUDA's __half on a GPU), so each passes its own table of storage types:
//
//   dispatch_dtype<CpuStorage, Accepts::floating>(x.dtype(), "exp", [&](auto zero) {
//     using T = decltype(zero);  ...
//   });
#pragma once

#include <cstdint>

#include "gw/dtype.h"
#include "gw/error.h"

namespace gw::kernels {

/// Which dtypes a kernel accepts: f32 and f64 only (the fused ops), every floating dtype, or
/// every dtype (integers too).
enum class Accepts { f32_f64, floating, all };

/// Calls f(T{}) with T the storage type of `dtype` in `Storage` (a struct naming f64, f32,
/// f16, bf16, i8 and i32 storage types and the backend's `name`); throws gw::DTypeError naming
/// `op` and the backend when the dtype is outside `A`. `A` is a template argument, so the
/// body is only instantiated for the dtypes it accepts.
template <typename Storage, Accepts A, typename F>
void dispatch_dtype(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::f64: return f(typename Storage::f64{});
    case DType::f32: return f(typename Storage::f32{});
    case DType::f16:
      if constexpr (A != Accepts::f32_f64) return f(typename Storage::f16{});
      break;
    case DType::bf16:
      if constexpr (A != Accepts::f32_f64) return f(typename Storage::bf16{});
      break;
    case DType::i8:
      if constexpr (A == Accepts::all) return f(typename Storage::i8{});
      break;
    case DType::i32:
      if constexpr (A == Accepts::all) return f(typename Storage::i32{});
      break;
  }
  throw DTypeError(detail::concat(op, " (", Storage::name, "): dtype ", dtype_name(dtype),
                                  " has no ", Storage::name, " kernel"));
}

}  // namespace gw::kernels
