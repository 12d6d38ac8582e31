// dtype.cpp — dtype names and sizes. The f16/bf16 conversions are lab 06's
// (reference/precision/half_convert.cpp).
#include "gw/dtype.h"

#include "gw/error.h"

namespace gw {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64: return 8;
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::bf16: return 2;
    case DType::i8: return 1;
    case DType::i32: return 4;
  }
  throw Error("dtype_size: unknown dtype");
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f64: return "f64";
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i8: return "i8";
    case DType::i32: return "i32";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (DType t : {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i8, DType::i32})
    if (name == dtype_name(t)) return t;
  throw UsageError("unknown dtype '" + name + "' (expected f64, f32, f16, bf16, i8 or i32)");
}

bool is_floating(DType t) {
  return t == DType::f64 || t == DType::f32 || t == DType::f16 || t == DType::bf16;
}

}  // namespace gw
