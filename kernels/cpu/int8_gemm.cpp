// int8_gemm.cpp — the CPU's int8 GEMMs, c (m, n) i32 = a (m, k) i8 · b (k, n) i8, for
// MatMulInt8 and QuantizedLinear (lab 05's fast path).
//
// oneDNN's fastest int8 GEMM, dnnl_gemm_u8s8s32, takes an unsigned left operand, so a is
// shifted into u8 and the GEMM is told that shift as its zero point, which gives back exactly
// Σ a·b. On a CPU with VNNI (AVX-512 VNNI or AVX-VNNI) it multiplies with vpdpbusd, exact for
// any codes. Without VNNI it falls back to vpmaddubsw, whose pairwise int16 sums saturate
// (255·127·2 > 32767): full-range int8 then runs in plain loops (exact, slower than an f32
// GEMM), while unsigned 7-bit codes in [0, 127] stay exact (2·127·127 < 32767) and keep
// oneDNN's speed (u7s8_gemm). QuantizedLinear quantizes its activations to 7 bits for that
// reason.
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

namespace {

// c = (u − shift)·b through oneDNN, u = a + shift as u8.
void dnnl_shifted_gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, int shift,
                       const int8_t* b, int32_t* c) {
#if GW_HAVE_DNNL
  thread_local std::vector<uint8_t> shifted;
  shifted.resize(static_cast<size_t>(m * k));
  uint8_t* u = shifted.data();
  for (int64_t i = 0; i < m * k; ++i) u[i] = static_cast<uint8_t>(a[i] + shift);
  const int32_t no_offset = 0;
  const dnnl_status_t status =
      dnnl_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, u, k, static_cast<uint8_t>(shift), b, n, 0,
                        0.0f, c, n, &no_offset);
  GW_CHECK(status == dnnl_success, "int8 GEMM (oneDNN): status ", static_cast<int>(status),
           " for (", m, " × ", k, ")·(", k, " × ", n, ")");
#else
  (void)m, (void)n, (void)k, (void)a, (void)shift, (void)b, (void)c;
  GW_CHECK(false, "int8 GEMM: built without oneDNN");
#endif
}

// Exact plain loops; row by row, each a[i][p] scales row p of b, so the inner loop runs over
// contiguous n and vectorizes (widening multiply-adds). A is int8_t or uint8_t.
template <typename A>
void loop_gemm(int64_t m, int64_t n, int64_t k, const A* a, const int8_t* b, int32_t* c) {
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

}  // namespace

void int8_gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, const int8_t* b, int32_t* c) {
  if (m == 0 || n == 0) return;
  if (int8_gemm_uses_vnni()) return dnnl_shifted_gemm(m, n, k, a, 128, b, c);
  loop_gemm(m, n, k, a, b, c);
}

void u7s8_gemm(int64_t m, int64_t n, int64_t k, const uint8_t* a, const int8_t* b, int32_t* c) {
  if (m == 0 || n == 0) return;
#if GW_HAVE_DNNL
  const int32_t no_offset = 0;
  const dnnl_status_t status = dnnl_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, a, k, 0, b, n, 0,
                                                 0.0f, c, n, &no_offset);
  GW_CHECK(status == dnnl_success, "u8·s8 GEMM (oneDNN): status ", static_cast<int>(status),
           " for (", m, " × ", k, ")·(", k, " × ", n, ")");
#else
  loop_gemm(m, n, k, a, b, c);
#endif
}

}  // namespace gw::cpu
