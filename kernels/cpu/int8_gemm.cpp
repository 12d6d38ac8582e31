// int8_gemm.cpp — the CPU's int8 GEMM, c (m, n) i32 = a (m, k) i8 · b (k, n) i8, for MatMulInt8
// and QuantizedLinear (lab 05's fast path).
//
// With oneDNN, on a CPU with VNNI (AVX-512 VNNI or AVX-VNNI), it is dnnl_gemm_u8s8s32:
// oneDNN's fastest int8 kernel takes an unsigned left operand (vpdpbusd multiplies u8 by s8),
// so a is shifted by +128 into u8 and the GEMM is told its zero point is 128, which gives back
// exactly Σ a·b. Without VNNI, oneDNN falls back to vpmaddubsw, whose pairwise int16 sums
// saturate (255·127·2 > 32767) and give wrong results, so we use a plain loop that the
// compiler vectorizes: exact, but slower than an f32 GEMM.
#include <cstdint>
#include <vector>

#include "cpu/cpu_kernels.h"
#include "gw/error.h"

#if GW_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace gw::cpu {

bool int8_gemm_uses_vnni() {
#if GW_HAVE_DNNL && defined(__x86_64__)
  static const bool vnni =
      __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
  return vnni;
#else
  return false;
#endif
}

void int8_gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, const int8_t* b, int32_t* c) {
  if (m == 0 || n == 0) return;
#if GW_HAVE_DNNL
  if (int8_gemm_uses_vnni()) {
    thread_local std::vector<uint8_t> shifted;
    shifted.resize(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m * k; ++i)
      shifted[static_cast<size_t>(i)] = static_cast<uint8_t>(a[i] + 128);
    const int32_t no_offset = 0;
    const dnnl_status_t status = dnnl_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, shifted.data(),
                                                   k, 128, b, n, 0, 0.0f, c, n, &no_offset);
    GW_CHECK(status == dnnl_success, "int8 GEMM (oneDNN): status ", static_cast<int>(status),
             " for (", m, " × ", k, ")·(", k, " × ", n, ")");
    return;
  }
#endif
#pragma omp parallel for schedule(static) if (m * n * k > 65536)
  for (int64_t i = 0; i < m; ++i) {
    int32_t* row = c + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = 0;
    for (int64_t p = 0; p < k; ++p) {
      const int32_t aip = a[i * k + p];
      const int8_t* brow = b + p * n;
      for (int64_t j = 0; j < n; ++j) row[j] += aip * static_cast<int32_t>(brow[j]);
    }
  }
}

}  // namespace gw::cpu
