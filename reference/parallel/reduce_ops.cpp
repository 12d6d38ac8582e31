// reduce_ops.cpp — what every all-reduce shares (gw/ddp.h): the ring's chunk boundaries, and
// the elementwise add and scale of each dtype that a reduction applies to received bytes.
#include <string>

#include "gw/ddp.h"
#include "gw/error.h"

namespace gw {

RingChunk ring_chunk(int64_t count, int ranks, int c) {
  GW_CHECK(ranks >= 1 && c >= 0 && c < ranks && count >= 0, "ring_chunk: chunk ", c, " of ",
           ranks, " ranks over ", count, " elements");
  const int64_t base = count / ranks, extra = count % ranks;
  RingChunk chunk;
  chunk.count = base + (c < extra ? 1 : 0);
  chunk.offset = c * base + (c < extra ? c : extra);
  return chunk;
}

void reduce_add(void* dst, const void* src, int64_t count, DType dtype) {
  switch (dtype) {
    case DType::f64:
      for (int64_t i = 0; i < count; ++i)
        static_cast<double*>(dst)[i] += static_cast<const double*>(src)[i];
      return;
    case DType::f32:
      for (int64_t i = 0; i < count; ++i)
        static_cast<float*>(dst)[i] += static_cast<const float*>(src)[i];
      return;
    case DType::i32:
      for (int64_t i = 0; i < count; ++i)
        static_cast<int32_t*>(dst)[i] += static_cast<const int32_t*>(src)[i];
      return;
    case DType::f16:
    case DType::bf16: {
      const bool half = dtype == DType::f16;
      auto* d = static_cast<uint16_t*>(dst);
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < count; ++i) {
        const float a = half ? f16_bits_to_float(d[i]) : bf16_bits_to_float(d[i]);
        const float b = half ? f16_bits_to_float(s[i]) : bf16_bits_to_float(s[i]);
        d[i] = half ? float_to_f16_bits(a + b) : float_to_bf16_bits(a + b);
      }
      return;
    }
    case DType::i8: break;
  }
  throw DTypeError("all-reduce: dtype " + std::string(dtype_name(dtype)) + " cannot be reduced");
}

void reduce_scale(void* data, int64_t count, DType dtype, double factor) {
  switch (dtype) {
    case DType::f64:
      for (int64_t i = 0; i < count; ++i) static_cast<double*>(data)[i] *= factor;
      return;
    case DType::f32:
      for (int64_t i = 0; i < count; ++i) static_cast<float*>(data)[i] *= static_cast<float>(factor);
      return;
    case DType::i32: {
      const auto divisor = static_cast<int32_t>(1.0 / factor + 0.5);
      for (int64_t i = 0; i < count; ++i) static_cast<int32_t*>(data)[i] /= divisor;
      return;
    }
    case DType::f16:
    case DType::bf16: {
      const bool half = dtype == DType::f16;
      auto* d = static_cast<uint16_t*>(data);
      for (int64_t i = 0; i < count; ++i) {
        const float v = (half ? f16_bits_to_float(d[i]) : bf16_bits_to_float(d[i])) *
                        static_cast<float>(factor);
        d[i] = half ? float_to_f16_bits(v) : float_to_bf16_bits(v);
      }
      return;
    }
    case DType::i8: break;
  }
  throw DTypeError("all-reduce: dtype " + std::string(dtype_name(dtype)) + " cannot be averaged");
}

}  // namespace gw
